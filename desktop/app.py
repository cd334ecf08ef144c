"""Builds the QApplication, the core services and the main window.

Startup path budget: about a second on a 2-core machine.  Nothing here (or in
what the main window imports at construction) may import torch, diffusers,
transformers, sentence_transformers or llama_cpp; those load when a job first
needs them.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from desktop import APP_NAME, __version__

log = logging.getLogger(__name__)


def process_start_time() -> float:
    """Wall-clock time at which this process started (for startup_ms).

    On Linux, /proc gives the start in clock ticks since boot and the uptime
    to 10 ms, on one clock; psutil's create_time adds the boot time rounded
    to whole seconds, which can be off by most of a second.
    """
    try:
        with open("/proc/self/stat", "rb") as fh:
            stat = fh.read()
        start_ticks = int(stat[stat.rindex(b")") + 2:].split()[19])
        with open("/proc/uptime", "rb") as fh:
            uptime = float(fh.read().split()[0])
        return time.time() - (uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import psutil

        return psutil.Process().create_time()
    except Exception:  # psutil missing or restricted: count from interpreter import
        return _IMPORT_TIME


_IMPORT_TIME = time.time()


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="genlab")
    p.add_argument("--quit-after-show", action="store_true")
    p.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    args, _unknown = p.parse_known_args(argv)
    return args


def _prepare_environment() -> None:
    from desktop.core.logging_setup import ensure_std_streams, quiet_progress_bars

    ensure_std_streams()
    quiet_progress_bars()
    # Offline unless the user starts a download or a hub search; the download
    # code lifts this for its own requests.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if sys.platform == "win32":
        # torch's DLLs must load before Qt's on Windows, or torch fails to
        # initialise (a known DLL search-order conflict).
        try:
            import torch  # noqa: F401
        except Exception:
            pass


def _display_available() -> bool:
    """Check Qt's platform plugin can load before Qt tries (and aborts).

    On Linux without the X libraries Qt >= 6.5's xcb plugin needs, Qt prints
    one line and aborts; the user of a double-clicked app sees nothing.  Here
    the missing libraries are named with the install command, on stderr and,
    where the desktop has a way to show it without Qt, in a dialog.  In a
    Wayland session Qt's wayland plugin is used instead when it can load.
    """
    from desktop.core import qt_platform

    result = qt_platform.choose_platform()
    if result is None or result.ok:
        return True
    message = result.message()
    print(message, file=sys.stderr, flush=True)
    _show_without_qt(message)
    return False


def _show_without_qt(message: str) -> None:
    import shutil
    import subprocess

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return
    for cmd in (["zenity", "--error", "--no-wrap", "--title", APP_NAME, "--text", message],
                ["kdialog", "--title", APP_NAME, "--error", message],
                ["xmessage", "-center", message],
                ["notify-send", "--urgency=critical", APP_NAME, message]):
        if shutil.which(cmd[0]):
            try:
                subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
            except OSError:
                continue
            return


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parse(argv)
    started = process_start_time()
    _prepare_environment()
    if not _display_available():
        return 2

    from PySide6.QtWidgets import QApplication

    from desktop.ui.bootstrap import choose_data_root, claim_single_instance

    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName(APP_NAME)
    app.setDesktopFileName("genlab")  # Wayland matches the window to genlab.desktop
    from PySide6.QtGui import QIcon

    from desktop.core.paths import resource_path

    app.setWindowIcon(QIcon(str(resource_path("icons", "genlab.png"))))

    interactive = not args.quit_after_show
    if not choose_data_root(interactive=interactive):
        return 2

    from desktop.core.logging_setup import setup_logging

    setup_logging()
    log.info("GenLab %s starting", __version__)

    instance = claim_single_instance(interactive=interactive)
    if instance is None:
        return 1

    from desktop.core.services import Services
    from desktop.ui.main_window import MainWindow
    from desktop.ui.runner import JobRunner
    from desktop.ui.theme import apply_theme

    services = Services()
    apply_theme(app, services.settings.appearance.theme)
    runner = JobRunner()
    window = MainWindow(services, runner)
    instance.activate_requested.connect(window.bring_to_front)

    if args.quit_after_show:
        window.first_painted.connect(lambda: _report_startup(app, started))
    window.show()
    rc = app.exec()

    runner.shutdown()
    services.close()
    instance.release()
    log.info("GenLab stopped (exit code %s)", rc)
    return rc


def _report_startup(app, started: float) -> None:
    from PySide6.QtCore import QTimer

    print(f"startup_ms={(time.time() - started) * 1000:.0f}", flush=True)
    QTimer.singleShot(0, app.quit)
