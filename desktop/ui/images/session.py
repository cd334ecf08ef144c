"""The Images gallery's session across restarts: its id, the last parameters, its images.

The session id and the panel's parameters at the last Generate are kept in
the settings (never in incognito, where a prompt must not reach the data
folder); the gallery is rebuilt from the history's image records of that
session, read off the GUI thread.  Images whose file was deleted are left out.
"""

from __future__ import annotations

from pathlib import Path

from desktop.core.records import GenerationRecord, new_id
from desktop.core.settings import ImageSettings

MAX_RESTORED = 200  # a long session's oldest images stay in History


def session_id(settings: ImageSettings) -> str:
    """The gallery's session: the last run's, or a new one (then remembered)."""
    if not settings.session_id:
        settings.session_id = new_id()
    return settings.session_id


def session_images(services, session: str) -> list[GenerationRecord]:
    """The image records of ``session`` whose files still exist, oldest first (runs as an io job)."""
    from desktop.core.history.store import sql_str

    store = services.history_store
    where = f"session_id = {sql_str(session)} AND kind = 'image'"
    records = [r for r in store.iter_records(where) if r.image_path and Path(r.image_path).is_file()]
    return records[-MAX_RESTORED:]
