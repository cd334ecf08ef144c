"""Asking before a re-run that may not give the recorded output (Chat and Images).

:func:`ask_run_anyway` opens a window-modal question that lists why the
output may differ (:func:`desktop.core.history.rerun.exactness_warnings`)
with "Run anyway" and "Cancel".  It does not block: the caller's
``run`` is called when "Run anyway" is pressed, ``cancelled`` otherwise,
so the event loop (and a test) goes on while it is open.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

RUN_ANYWAY = "Run anyway"


def ask_run_anyway(parent: QWidget, warnings: list[str], run: Callable[[], None],
                   cancelled: Callable[[], None] | None = None) -> QMessageBox:
    """Show the question and return it (open until answered); ``run()`` on "Run anyway"."""
    box = QMessageBox(QMessageBox.Icon.Question, "Re-run may differ",
                      "This re-run may not give the recorded output:", QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("rerunQuestion")
    box.setInformativeText("\n".join(f"• {w}" for w in warnings))
    box.setTextFormat(Qt.TextFormat.PlainText)
    run_button = box.addButton(RUN_ANYWAY, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(run_button)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def answered(_result: int) -> None:
        if box.clickedButton() is run_button:
            run()
        elif cancelled is not None:
            cancelled()

    box.finished.connect(answered)
    box.open()  # window-modal, returns at once
    return box
