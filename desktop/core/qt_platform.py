"""Can Qt open a window here?  The system libraries its Linux platform plugins need.

Qt >= 6.5's xcb plugin needs X libraries that a fresh Debian or Ubuntu
install (or a minimal container) does not have: ``libxcb-cursor0``,
``libxcb-icccm4``, ``libxcb-keysyms1`` and friends.  Without them Qt prints
a line to a terminal the user of a double-clicked app never sees and aborts.
This module finds the plugin without importing Qt (so the core stays
Qt-free and the check runs before Qt can abort), lists what it cannot load
by name, and words the fix for the common distributions.

The plugin's own dependencies come from ``ldd`` (glibc's loader reports
every missing one, transitively); ``libxcb-cursor`` is loaded by the plugin
at run time with ``dlopen``, so it is tried the same way.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

# soname -> (Debian/Ubuntu, Fedora, Arch) package
PACKAGES: dict[str, tuple[str, str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon", "libxkbcommon"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb", "libx11"),
    "libX11.so.6": ("libx11-6", "libX11", "libx11"),
    "libSM.so.6": ("libsm6", "libSM", "libsm"),
    "libICE.so.6": ("libice6", "libICE", "libice"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype", "freetype2"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl", "libglvnd"),
    "libGL.so.1": ("libgl1", "libglvnd-glx", "libglvnd"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl", "libglvnd"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs", "dbus"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client", "wayland"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor", "wayland"),
    "libwayland-egl.so.1": ("libwayland-egl1", "libwayland-egl", "wayland"),
}
# Loaded by the xcb plugin with dlopen at start, so ldd does not list it.
RUNTIME_LOADED = {"xcb": ("libxcb-cursor.so.0",)}
PLUGIN_FILES = {"xcb": "libqxcb.so", "wayland": "libqwayland.so"}
# Platforms that draw into memory or a framebuffer: nothing of the desktop's needed.
HEADLESS = {"offscreen", "minimal", "vnc", "linuxfb", "eglfs", "minimalegl", "vkkhrdisplay"}


@dataclass
class PlatformCheck:
    """What Qt would need to open a window on ``platform``."""

    platform: str
    plugin: Path | None
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing

    def packages(self, distro: int) -> list[str]:
        """Package names for the missing libraries (0 Debian/Ubuntu, 1 Fedora, 2 Arch)."""
        names: list[str] = []
        for lib in self.missing:
            name = PACKAGES.get(lib, (lib, lib, lib))[distro]
            if name not in names:
                names.append(name)
        return names

    def message(self) -> str:
        """The explanation the user reads (terminal, log and doctor alike)."""
        if self.ok:
            return f"Qt's {self.platform} platform plugin has every library it needs."
        return (
            f"GenLab cannot open its window: Qt's {self.platform} platform plugin needs system libraries "
            f"that are not installed: {', '.join(self.missing)}.\n"
            "Install them, then start GenLab again:\n"
            f"  Debian/Ubuntu: sudo apt-get install {' '.join(self.packages(0))}\n"
            f"  Fedora:        sudo dnf install {' '.join(self.packages(1))}\n"
            f"  Arch:          sudo pacman -S {' '.join(self.packages(2))}")


def _environ(env: MutableMapping[str, str] | None) -> MutableMapping[str, str]:
    return os.environ if env is None else env


def plugin_dirs(env: MutableMapping[str, str] | None = None) -> list[Path]:
    """Where Qt looks for platform plugins, in its order, without importing Qt."""
    env = _environ(env)
    dirs: list[Path] = []
    if env.get("QT_QPA_PLATFORM_PLUGIN_PATH"):
        dirs.append(Path(env["QT_QPA_PLATFORM_PLUGIN_PATH"]))
    for part in filter(None, env.get("QT_PLUGIN_PATH", "").split(os.pathsep)):
        dirs.append(Path(part) / "platforms")
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        dirs.append(Path(frozen_root) / "PySide6" / "Qt" / "plugins" / "platforms")
    spec = importlib.util.find_spec("PySide6")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            dirs.append(Path(location) / "Qt" / "plugins" / "platforms")
    return dirs


def find_plugin(platform: str, env: MutableMapping[str, str] | None = None) -> Path | None:
    name = PLUGIN_FILES.get(platform)
    if name is None:
        return None
    for folder in plugin_dirs(env):
        if (folder / name).is_file():
            return folder / name
    return None


def _ldd_missing(plugin: Path, env: dict[str, str]) -> list[str] | None:
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    try:
        out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20,
                             env=env).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return list(dict.fromkeys(re.findall(r"^\s*(\S+) => not found", out, re.M)))


def _dlopen_missing(plugin: Path) -> list[str]:
    """Without ldd: the loader names the first missing library only."""
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        found = re.match(r"(\S+\.so[.\d]*): cannot open shared object file", str(exc))
        return [found.group(1) if found else str(exc)]
    return []


def _loadable(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def check(platform: str = "xcb", env: MutableMapping[str, str] | None = None) -> PlatformCheck:
    """The libraries ``platform``'s plugin cannot load here (empty when it can start)."""
    env = dict(_environ(env))
    plugin = find_plugin(platform, env)
    if plugin is None:
        return PlatformCheck(platform, None, [PLUGIN_FILES.get(platform, platform)])
    # Fast path (the start of every session): the loader opens the plugin, as Qt
    # is about to; only a failure pays for asking ldd for the whole list.
    missing = _dlopen_missing(plugin)
    if missing:
        missing = _ldd_missing(plugin, env) or missing
    for soname in RUNTIME_LOADED.get(platform, ()):
        if soname not in missing and not _loadable(soname):
            missing.append(soname)
    return PlatformCheck(platform, plugin, missing)


def requested_platform(env: MutableMapping[str, str] | None = None) -> str | None:
    """The platform Qt will start with on Linux (None where there is nothing to check)."""
    env = _environ(env)
    if not sys.platform.startswith("linux"):
        return None
    chosen = env.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip()
    if chosen:
        return None if chosen in HEADLESS else chosen
    return "xcb"


def choose_platform(env: MutableMapping[str, str] | None = None) -> PlatformCheck | None:
    """Check the platform Qt would use; fall back to Wayland when xcb cannot start.

    Returns None when nothing needs checking (not Linux, or a headless
    platform was asked for).  When xcb lacks libraries but a Wayland session
    is running and Qt's wayland plugin can load, ``QT_QPA_PLATFORM`` is set to
    ``wayland`` in ``env`` and that (passing) check is returned.
    """
    env = _environ(env)
    platform = requested_platform(env)
    if platform is None:
        return None
    result = check(platform, dict(env))
    if result.ok or platform != "xcb" or not env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"):
        return result
    wayland = check("wayland", dict(env))
    if wayland.ok:
        env["QT_QPA_PLATFORM"] = "wayland"
        return wayland
    return result
