"""The Qt platform check: a copy of the real xcb plugin whose dependency is missing.

The copy sits in a folder laid out like PySide6's (``Qt/plugins/platforms``
beside a link to the real ``Qt/lib``), so every other library resolves as
for the real plugin; one of its DT_NEEDED names is rewritten to a library
that exists nowhere.  ``genlab doctor`` and the app itself must name it with
the install command, and the app must exit before Qt aborts.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.core import qt_platform

REPO = Path(__file__).resolve().parents[2]
PYSIDE = Path(importlib.util.find_spec("PySide6").submodule_search_locations[0])
REAL_PLUGIN = PYSIDE / "Qt" / "plugins" / "platforms" / "libqxcb.so"
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or not REAL_PLUGIN.is_file(),
                                reason="the xcb platform plugin exists on Linux only")

# Same length as the name it replaces in the plugin's string table.
REAL_NEED = b"libxcb-icccm.so.4"
SHADOW = b"libxcb-iccXm.so.4"


@pytest.fixture
def shadow_plugins(tmp_path, monkeypatch) -> Path:
    qt = tmp_path / "Qt"
    (qt / "plugins" / "platforms").mkdir(parents=True)
    (qt / "lib").symlink_to(PYSIDE / "Qt" / "lib")
    data = REAL_PLUGIN.read_bytes()
    assert data.count(REAL_NEED + b"\0") == 1, "the plugin no longer needs libxcb-icccm: update this test"
    (qt / "plugins" / "platforms" / "libqxcb.so").write_bytes(data.replace(REAL_NEED + b"\0", SHADOW + b"\0"))
    monkeypatch.setitem(qt_platform.PACKAGES, SHADOW.decode(), ("libxcb-iccxm4", "xcb-util-xm", "xcb-util-xm"))
    return qt / "plugins" / "platforms"


def _env(plugins: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"QT_QPA_PLATFORM", "WAYLAND_DISPLAY"}}
    env["QT_QPA_PLATFORM_PLUGIN_PATH"] = str(plugins)
    return env


def test_a_missing_library_is_named_with_the_install_command(shadow_plugins):
    result = qt_platform.check("xcb", _env(shadow_plugins))
    assert result.plugin == shadow_plugins / "libqxcb.so"
    assert SHADOW.decode() in result.missing
    message = result.message()
    assert "cannot open its window" in message
    assert "sudo apt-get install" in message and "libxcb-iccxm4" in message
    assert "sudo dnf install" in message and "sudo pacman -S" in message


def test_the_real_plugin_and_the_copy_differ_only_in_the_shadowed_library(shadow_plugins):
    real = qt_platform.check("xcb", {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM_PLUGIN_PATH"})
    shadow = qt_platform.check("xcb", _env(shadow_plugins))
    assert SHADOW.decode() not in real.missing
    assert set(shadow.missing) - set(real.missing) == {SHADOW.decode()}


def test_headless_platforms_need_no_check():
    assert qt_platform.requested_platform({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert qt_platform.choose_platform({"QT_QPA_PLATFORM": "minimal"}) is None
    if sys.platform.startswith("linux"):
        assert qt_platform.requested_platform({}) == "xcb"
        assert qt_platform.requested_platform({"QT_QPA_PLATFORM": "wayland"}) == "wayland"


def test_a_wayland_session_falls_back_to_the_wayland_plugin(shadow_plugins, tmp_path):
    # A wayland plugin whose libraries all load (here: the offscreen plugin under that name).
    (shadow_plugins / "libqwayland.so").write_bytes((REAL_PLUGIN.parent / "libqoffscreen.so").read_bytes())
    env = _env(shadow_plugins)
    env["WAYLAND_DISPLAY"] = "wayland-0"
    result = qt_platform.choose_platform(env)
    assert result is not None and result.ok and result.platform == "wayland"
    assert env["QT_QPA_PLATFORM"] == "wayland"
    del env["WAYLAND_DISPLAY"], env["QT_QPA_PLATFORM"]
    assert not qt_platform.choose_platform(env).ok  # without a Wayland session: no fallback


@pytest.mark.slow
def test_doctor_reports_the_missing_library(shadow_plugins, genlab_home):
    proc = subprocess.run([sys.executable, "-m", "desktop", "doctor"], cwd=REPO, env=_env(shadow_plugins),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    line = next(line for line in proc.stdout.splitlines() if "xcb plugin" in line)
    assert SHADOW.decode() in line and "sudo apt-get install" in line and "<-- problem" in line


def test_the_app_says_why_and_exits_before_qt_aborts(shadow_plugins, genlab_home):
    proc = subprocess.run([sys.executable, "-m", "desktop", "--quit-after-show"], cwd=REPO,
                          env=_env(shadow_plugins), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert SHADOW.decode() in proc.stderr and "sudo apt-get install" in proc.stderr
    assert "startup_ms" not in proc.stdout
