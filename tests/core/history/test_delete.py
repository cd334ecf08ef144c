"""Deleting removes every trace: rows, old versions, index entries, images, thumbnails."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core import paths
from desktop.core.history.errors import InvalidFilter
from desktop.core.history.search import SearchQuery
from desktop.core.history.store import HistoryStore
from tests.support.history import make_record
from tests.support.traces import app_log, image_needles, saved_image, traces

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

SECRET = "zqxjvortexpalimpsest"


def _files_containing(root: Path, needle: str) -> list[Path]:
    needle_bytes = needle.encode()
    return [p for p in root.rglob("*") if p.is_file() and needle_bytes in p.read_bytes().lower()]


def _png_with_text(path: Path, text: str) -> None:
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", text)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), "red").save(path, pnginfo=info)


def test_deleted_text_leaves_no_trace_under_the_data_root(genlab_home, embedder):
    store = HistoryStore(embedder=embedder, index_min_rows=200)
    try:
        store.save_many([make_record(f"filler prompt number {i} about gardens") for i in range(260)])
        store.maintain_now()
        assert {"tags_idx", "id_idx"} <= set(store.stats()["indices"])
        text = make_record(f"tell me about {SECRET} please", output_text=f"{SECRET} is a made-up word",
                           note=SECRET, tags=[SECRET])
        image_file = paths.outputs_dir() / "img" / "secret.png"
        thumb_file = paths.outputs_dir() / "img" / "secret.thumb.png"
        _png_with_text(image_file, f"prompt: {SECRET}")
        _png_with_text(thumb_file, f"prompt: {SECRET}")
        image = make_record(f"a painting of {SECRET}", kind="image", negative_prompt=SECRET,
                            image_path=str(image_file), thumbnail_path=str(thumb_file), session_id="secret-session")
        store.save_many([text, image])
        store.update(text.id, rating=5)  # more versions holding the text
        store.maintain_now()  # the secret is now in the indexes too
        assert _files_containing(genlab_home, SECRET)
        assert len(store.search(SearchQuery(SECRET, mode="keyword")).hits) == 2

        assert store.delete([text.id, image.id]) == 2

        assert _files_containing(genlab_home, SECRET) == []
        assert not image_file.exists() and not thumb_file.exists()
        assert store.search(SearchQuery(SECRET, mode="keyword")).hits == []
        assert store.count() == 260
        assert store.search(SearchQuery("gardens", mode="hybrid")).hits  # indexes still work
    finally:
        store.close()


def test_delete_a_session_and_everything(store):
    store.save_many([make_record(f"keep {i}", session_id="a") for i in range(3)]
                    + [make_record(f"drop {i} {SECRET}", session_id="b") for i in range(4)])
    assert store.delete(session="b") == 4
    assert sorted(r.prompt for r in store.iter_records()) == ["keep 0", "keep 1", "keep 2"]
    assert _files_containing(store.root, SECRET) == []
    assert store.delete(everything=True) == 3
    assert store.count() == 0
    store.save_and_wait(make_record("after wipe"))
    assert [h.record.prompt for h in store.search(SearchQuery("wipe", mode="keyword")).hits] == ["after wipe"]


def test_deleting_nothing_or_unknown_ids_is_harmless(store):
    store.save_and_wait(make_record("stay"))
    assert store.delete([]) == 0
    assert store.delete(["no-such-id"]) == 0
    assert store.count() == 1


def test_image_outside_the_data_root_is_not_deleted(store, tmp_path):
    outside = tmp_path / "mine.png"
    outside.write_bytes(b"png")
    record = make_record("outside", kind="image", image_path=str(outside))
    store.save_and_wait(record)
    store.delete([record.id])
    assert outside.exists()


# --- a session / everything, with images, thumbnails and logs --------------------------------------------
@pytest.fixture
def app_logging(genlab_home):
    """The app's log file under the data root, at its most talkative."""
    with app_log() as log_file:
        yield log_file


def _session_with_images():
    """A session of text and image records carrying SECRET, 60 other records, and what must vanish."""
    image = saved_image("secret.png", f"a painting of {SECRET}")
    second = saved_image("secret-2.png", f"{SECRET} at dawn")
    session = [
        make_record(f"tell me about {SECRET}", output_text=f"{SECRET} is a made-up word", session_id="secret",
                    note=SECRET, tags=[SECRET], system_prompt=f"You know {SECRET}."),
        make_record(f"and more about {SECRET}", output_text="fine", session_id="secret", parent_id="x"),
        make_record(f"a painting of {SECRET}", kind="image", negative_prompt=SECRET, session_id="secret",
                    image_path=str(image.path), image_sha256=image.sha256, thumbnail_path=str(image.thumbnail_path)),
        make_record(f"{SECRET} at dawn", kind="image", session_id="secret", image_path=str(second.path),
                    image_sha256=second.sha256, thumbnail_path=str(second.thumbnail_path)),
    ]
    others = [make_record(f"filler prompt number {i} about gardens", session_id=f"other-{i % 3}") for i in range(60)]
    needles = [SECRET.encode(), *image_needles(image), *image_needles(second)]
    return session, others, needles, [image, second]


def _use_everywhere(store, session):
    """Put the session's text everywhere the history keeps things: versions, indexes, vectors, logs."""
    store.save_many(session)
    store.update(session[0].id, rating=5, tags=[SECRET, "more"])
    store.maintain_now()
    for mode in ("keyword", "semantic", "hybrid"):
        assert store.search(SearchQuery(SECRET, mode=mode, filters={"session": "secret"})).hits
    store.search(SearchQuery(f'"{SECRET}" AND (', mode="keyword"))
    with pytest.raises(InvalidFilter):
        store.search(SearchQuery(SECRET, filters={"tag": SECRET, "date_from": SECRET}))


def test_deleting_a_session_with_images_leaves_no_trace_under_the_data_root(genlab_home, embedder, app_logging):
    store = HistoryStore(embedder=embedder, index_min_rows=50)
    try:
        session, others, needles, images = _session_with_images()
        store.save_many(others)
        _use_everywhere(store, session)
        assert traces(genlab_home, needles)  # the scan sees them

        assert store.delete(session="secret") == 4

        assert traces(genlab_home, needles) == []
        for saved in images:
            assert not saved.path.exists() and not saved.thumbnail_path.exists()
        assert store.count() == 60
        assert store.search(SearchQuery("gardens", mode="hybrid")).hits  # the rest still searchable
    finally:
        store.close()
    assert traces(genlab_home, needles) == []  # nor after closing


def test_deleting_everything_leaves_no_trace_under_the_data_root(genlab_home, embedder, app_logging):
    store = HistoryStore(embedder=embedder, index_min_rows=50)
    try:
        session, others, needles, images = _session_with_images()
        others.append(make_record(f"another session mentions {SECRET}", session_id="elsewhere"))
        store.save_many(others)
        _use_everywhere(store, session)
        assert store.delete(everything=True) == 65
        assert store.count() == 0
        assert traces(genlab_home, needles) == []
        assert not any(p.is_file() for p in paths.outputs_dir().rglob("*"))
        store.save_and_wait(make_record("after the wipe"))
        assert [h.record.prompt for h in store.search(SearchQuery("wipe", mode="keyword")).hits] == ["after the wipe"]
    finally:
        store.close()
    assert traces(genlab_home, needles) == []
