"""The tags and note of the cell shown, edited under the results and saved on its history record.

The fields are the history record's own ``tags`` and ``note`` (the ones
History edits and its tag filter searches): saving asks the workspace to
call ``HistoryStore.update``, which also tidies the tags (strips, drops
empties and duplicates).  A field saves itself when it loses focus or on
Enter; Enter (and Esc, which drops the edit) hands the keyboard back to the
grid, so a whole grid is tagged from the keyboard: arrows, T, type, Enter.

Signals:
    annotate_requested(str, list, str): save these tags and note on the record with this id.
    finished(): Enter or Esc in a field: the keyboard goes back to the cells.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QWidget

from desktop.core.records import GenerationRecord


def split_tags(text: str) -> list[str]:
    """The tags typed, comma separated (the store tidies them)."""
    return text.split(",")


class _Field(QLineEdit):
    """A line edit whose Esc puts back the saved text and gives up the keyboard."""

    escaped = Signal()

    def event(self, event) -> bool:
        # Esc is the window's Stop shortcut; in this field it drops the edit instead.
        if event.type() == QEvent.Type.ShortcutOverride and event.key() == Qt.Key.Key_Escape:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            return
        super().keyPressEvent(event)


class CellNotes(QWidget):
    annotate_requested = Signal(str, list, str)
    finished = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.record: GenerationRecord | None = None
        self._asked = ("", "")  # the fields as the record has them or as last asked to save
        self.tags = _Field()
        self.tags.setObjectName("cellTags")
        self.tags.setPlaceholderText("tags, comma separated (T on a cell)")
        self.note = _Field()
        self.note.setObjectName("cellNote")
        self.note.setPlaceholderText("a note on this cell (N on a cell)")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for label, edit in (("Tags", self.tags), ("Note", self.note)):
            row.addWidget(QLabel(label))
            row.addWidget(edit, 1)
            edit.editingFinished.connect(self.save)
            edit.returnPressed.connect(self.finished)
            edit.escaped.connect(self._escape)
        self.show_record(None)

    def show_record(self, record: GenerationRecord | None) -> None:
        """Show ``record``'s tags and note; a change typed for the record shown before is saved first."""
        if self.record is not None and (record is None or record.id != self.record.id):
            self.save()
        same = self.record is not None and record is not None and record.id == self.record.id
        self.record = record
        self._put_back(keep_focused=same)  # a save came back: what is being typed stays
        for edit in (self.tags, self.note):
            edit.setEnabled(record is not None)

    def save(self) -> None:
        """Ask to save the fields if they differ from what the record has (or was last asked to have)."""
        record = self.record
        if record is None:
            return
        values = (self.tags.text(), self.note.text())
        if values != self._asked:
            self._asked = values
            self.annotate_requested.emit(record.id, split_tags(values[0]), values[1])

    def edit_tags(self) -> None:
        self._edit(self.tags)

    def edit_note(self) -> None:
        self._edit(self.note)

    def _edit(self, edit: QLineEdit) -> None:
        if self.record is not None:
            edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
            edit.selectAll()

    def _put_back(self, keep_focused: bool = False) -> None:
        record = self.record
        values = (", ".join(record.tags), record.note) if record is not None else ("", "")
        for edit, value in zip((self.tags, self.note), values):
            if not (keep_focused and edit.hasFocus()):
                edit.setText(value)
        self._asked = values

    def _escape(self) -> None:
        self._put_back()
        self.finished.emit()
