"""The embeddings row of the Images workspace: textual inversions by name, as in A1111.

An embedding applies when its token is a word of the prompt or the negative
prompt (the engine's :func:`~desktop.core.image.embeddings.choose_embeddings`
finds it there).  So this panel writes tokens, it keeps no state of its own:
the combo offers the embeddings the engine can find (the library's, then
``<models dir>/embeddings``), each with its token and the family its vectors
are for; those for another family than the chosen model are greyed with the
reason.  "Prompt" and "Negative" append the chosen token to that text
(through its undo stack, so Ctrl+Z takes it out again).  Under the combo a
line says which embeddings the two prompts name now, and which of them will
be skipped because they are for another family, before Generate is pressed.

Signals: none; every change edits the prompts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from desktop.core.errors import GenLabError
from desktop.core.image.embeddings import (
    ResolvedEmbedding,
    check_family,
    embedding_base,
    embedding_token,
    known_embeddings,
    read_layout,
    uses_token,
)
from desktop.core.image.lora import family_label
from desktop.ui import theme
from desktop.ui.icons import icon
from desktop.ui.widgets import fill_offer_combo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddingFit:
    """One embedding file as the panel offers it."""

    token: str
    path: Path
    family: str  # the family its vectors are for, as a label ("" when the width says none)
    problem: str  # why the chosen model cannot use it; "" when it can (or no model is chosen)


def embedding_fit(path: Path, model: tuple[str, str] | None) -> EmbeddingFit | None:
    """``path`` as an embedding checked against ``model`` (family, name); None when it is no embedding."""
    try:
        layout = read_layout(path)
    except GenLabError as exc:
        log.info("not offered as an embedding: %s", exc)
        return None
    base = embedding_base(layout)
    token = embedding_token(path, layout)
    problem = ""
    if model is not None:
        try:
            check_family(ResolvedEmbedding(name=token, token=token, path=path, sha256="", layout=layout, base=base),
                         *model)
        except GenLabError as exc:
            problem = str(exc)
    return EmbeddingFit(token, path, family_label(base.family) if base.family else "", problem)


class EmbeddingPanel(QWidget):
    """Offer the embeddings a prompt can name, write their tokens, say which the prompts use."""

    def __init__(self, prompt: QPlainTextEdit, negative: QPlainTextEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prompt = prompt
        self.negative = negative
        self._model: tuple[str, str] | None = None
        self.fits: list[EmbeddingFit] = []
        self.combo = QComboBox()
        self.combo.setPlaceholderText("Add an embedding by its name…")
        self.combo.setMinimumContentsLength(10)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.prompt_button = QPushButton(icon("plus"), "Prompt")
        self.prompt_button.setToolTip("Write the embedding's name at the end of the prompt")
        self.negative_button = QPushButton(icon("plus"), "Negative")
        self.negative_button.setToolTip("Write the embedding's name at the end of the negative prompt")
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        theme.set_role(self.hint, "muted")
        self.used = QLabel()
        self.used.setWordWrap(True)
        self.used.setObjectName("embeddingsUsed")
        self.skipped = QLabel()  # named embeddings the engine will leave out
        self.skipped.setWordWrap(True)
        theme.set_role(self.skipped, "error")
        buttons = QHBoxLayout()  # under the combo, so the row is no wider than the LoRA row
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.prompt_button)
        buttons.addWidget(self.negative_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(theme.SPACE_XS)
        layout.addWidget(self.combo)
        layout.addLayout(buttons)
        layout.addWidget(self.hint)
        layout.addWidget(self.used)
        layout.addWidget(self.skipped)
        self.combo.currentIndexChanged.connect(self._update_buttons)
        self.prompt_button.clicked.connect(lambda: self._insert_chosen(self.prompt))
        self.negative_button.clicked.connect(lambda: self._insert_chosen(self.negative))
        self.prompt.textChanged.connect(self._show_used)
        self.negative.textChanged.connect(self._show_used)
        self.refresh_library()

    # --- what is offered -----------------------------------------------------------------
    def refresh_library(self) -> None:
        """Re-read the embeddings the engine can find and check each against the chosen model."""
        from desktop.core.models.library import Library

        try:
            paths = known_embeddings(Library())
        except Exception:  # an unreadable library must not break the workspace
            log.exception("could not read the model library")
            paths = []
        fits = [fit for fit in (embedding_fit(p, self._model) for p in paths) if fit is not None]
        self.fits = sorted(fits, key=lambda f: (bool(f.problem), f.token.lower()))
        fill_offer_combo(self.combo, [(f"{fit.token} — {fit.family}" if fit.family else fit.token, fit.token,
                                       fit.problem or str(fit.path), not fit.problem) for fit in self.fits])
        greyed = sum(1 for f in self.fits if f.problem)
        if not self.fits:
            self.hint.setText("No embeddings yet: put textual-inversion .safetensors files in the models folder's "
                              "embeddings/, or import them in Models. Writing an embedding's name in a prompt "
                              "applies it.")
        elif greyed and self._model is not None:
            self.hint.setText(f"{greyed} of {len(self.fits)} embedding(s) are greyed: they are not for "
                              f"{family_label(self._model[0])}.")
        else:
            self.hint.setText("")
        self.hint.setVisible(bool(self.hint.text()))
        self._update_buttons()
        self._show_used()

    def set_model(self, family: str | None, name: str = "") -> None:
        """The chosen model's family (None: no usable model): embeddings are checked against it."""
        model = (family, name) if family else None
        if model != self._model:
            self._model = model
            self.refresh_library()

    def _chosen(self) -> EmbeddingFit | None:
        index = self.combo.currentIndex()
        return self.fits[index] if 0 <= index < len(self.fits) and not self.fits[index].problem else None

    def _update_buttons(self, *_: object) -> None:
        usable = self._chosen() is not None
        self.prompt_button.setEnabled(usable)
        self.negative_button.setEnabled(usable)

    # --- writing tokens --------------------------------------------------------------------
    def insert(self, token: str, target: QPlainTextEdit) -> None:
        """Append ``token`` to ``target`` (after ", " when it has text), as one undoable edit."""
        text = target.toPlainText()
        if uses_token(token, text):
            return  # named already: once is enough
        cursor = target.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        stripped = text.rstrip()
        separator = "" if not stripped else (" " if stripped.endswith(",") else ", ")
        if stripped != text:  # trailing whitespace: replace it with the separator
            cursor.movePosition(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor,
                                len(text) - len(stripped))
        cursor.insertText(separator + token)
        target.setTextCursor(cursor)

    def _insert_chosen(self, target: QPlainTextEdit) -> None:
        fit = self._chosen()
        if fit is not None:
            self.insert(fit.token, target)
            self.combo.setCurrentIndex(-1)

    # --- what the prompts use ---------------------------------------------------------------
    def named(self) -> list[tuple[EmbeddingFit, str]]:
        """(embedding, "prompt" | "negative" | "both") for each offered embedding the prompts name."""
        prompt, negative = self.prompt.toPlainText(), self.negative.toPlainText()
        found = []
        seen: set[str] = set()
        for fit in self.fits:
            key = fit.token.lower()
            in_prompt, in_negative = uses_token(fit.token, prompt), uses_token(fit.token, negative)
            if key in seen or not (in_prompt or in_negative):
                continue
            if not fit.problem:
                seen.add(key)  # a usable file for this token wins over one of another family
            found.append((fit, "both" if in_prompt and in_negative else "prompt" if in_prompt else "negative"))
        usable = {f.token.lower() for f, _ in found if not f.problem}
        return [(f, where) for f, where in found if not f.problem or f.token.lower() not in usable]

    def _show_used(self) -> None:
        named = self.named()
        used = [f"{f.token} ({where})" for f, where in named if not f.problem]
        skipped = [f"{f.token} (for {f.family or 'another model'})" for f, _ in named if f.problem]
        self.used.setText("Uses " + ", ".join(used) + "." if used else "")
        self.used.setVisible(bool(used))
        self.skipped.setText("Left out, for another family: " + ", ".join(skipped) + "." if skipped else "")
        self.skipped.setVisible(bool(skipped))
