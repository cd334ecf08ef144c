"""Before the main window: a usable data root and a single instance.

``choose_data_root`` checks the data root and, when it cannot be used, tells
the person why and offers to pick another folder (remembered for this run
through ``GENLAB_HOME``).  ``claim_single_instance`` takes the data root's
lock; a second GenLab asks the first to come to the front and exits.
"""

from __future__ import annotations

import logging
import os
import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QFileDialog, QMessageBox

from desktop.core import paths
from desktop.core.errors import AlreadyRunning, DataRootError
from desktop.core.instance import InstanceLock, instance_key

log = logging.getLogger(__name__)

ACTIVATE = b"activate\n"


def choose_data_root(interactive: bool = True) -> bool:
    """True when the data root is usable (possibly after the user chose another)."""
    while True:
        try:
            paths.ensure_data_root()
            return True
        except DataRootError as exc:
            print(f"error: {exc}", file=sys.stderr)
            if not interactive:
                return False
            box = QMessageBox(QMessageBox.Icon.Warning, "GenLab cannot use its data folder", exc.message)
            box.setInformativeText("Choose another folder for GenLab's data, or quit.")
            choose = box.addButton("Choose folder…", QMessageBox.ButtonRole.AcceptRole)
            box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
            box.exec()
            if box.clickedButton() is not choose:
                return False
            folder = QFileDialog.getExistingDirectory(None, "Folder for GenLab's data")
            if not folder:
                return False
            os.environ[paths.ENV_HOME] = folder


class SingleInstance(QObject):
    """Holds the data root lock and a local server other instances call.

    Signals:
        activate_requested(): a second GenLab was started for this data root.
    """

    activate_requested = Signal()

    def __init__(self, lock: InstanceLock) -> None:
        super().__init__()
        self._lock = lock
        self._server = QLocalServer(self)
        name = instance_key()
        QLocalServer.removeServer(name)  # a stale socket from a crashed run
        if not self._server.listen(name):
            log.warning("single-instance server not listening: %s", self._server.errorString())
        self._server.newConnection.connect(self._on_connection)

    def _on_connection(self) -> None:
        while (sock := self._server.nextPendingConnection()) is not None:
            sock.readyRead.connect(lambda s=sock: self._read(s))

    def _read(self, sock: QLocalSocket) -> None:
        if bytes(sock.readAll()).startswith(ACTIVATE.strip()):
            self.activate_requested.emit()
        sock.disconnectFromServer()

    def release(self) -> None:
        self._server.close()
        self._lock.release()


def _ask_first_to_activate() -> bool:
    sock = QLocalSocket()
    sock.connectToServer(instance_key())
    if not sock.waitForConnected(1000):
        return False
    sock.write(ACTIVATE)
    sock.flush()
    sock.waitForBytesWritten(1000)
    sock.disconnectFromServer()
    return True


def claim_single_instance(interactive: bool = True) -> SingleInstance | None:
    lock = InstanceLock()
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        if _ask_first_to_activate():
            print("GenLab is already running; its window was brought to the front.", file=sys.stderr)
        else:
            print(f"error: {exc}", file=sys.stderr)
            if interactive:
                QMessageBox.warning(None, "GenLab is already running", str(exc))
        return None
    except DataRootError as exc:  # the data folder cannot be locked at all
        print(f"error: {exc}", file=sys.stderr)
        if interactive:
            QMessageBox.warning(None, "GenLab cannot use its data folder", str(exc))
        return None
    return SingleInstance(lock)
