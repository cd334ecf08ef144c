"""What an exact re-run of a history record needs: the same model, found by sha256.

The engines' workspaces take the record's parameters and seed as they are;
this module only answers "which library model made it", with a message that
says what to do when the model is gone.
"""

from __future__ import annotations

from desktop.core.errors import ModelFileError
from desktop.core.records import GenerationRecord


def model_for_rerun(record: GenerationRecord, library=None):
    """The :class:`~desktop.core.library.LibraryModel` whose sha256 matches the record's model."""
    name = record.model.name or record.model.file or "the model"
    if not record.model.sha256:
        raise ModelFileError(f"This record does not say which exact file {name} was (no sha256),"
                             " so it cannot be re-run exactly.", "Reuse its parameters with a model you choose.")
    if library is None:
        from desktop.core.library import Library

        library = Library()
    model = library.find_by_sha256(record.model.sha256)
    if model is None:
        raise ModelFileError(f"{name} (sha256 {record.model.sha256[:12]}…) is not in the model library.",
                             "Download or import that exact file in Models, then re-run.")
    return model
