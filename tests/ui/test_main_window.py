"""Main window: navigation, shortcuts, status bar, geometry, jobs panel."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from desktop.core.jobs import Job
from desktop.core.services import Services
from desktop.core.settings import load_settings
from desktop.ui.main_window import WORKSPACES, MainWindow


@pytest.fixture
def window(qtbot, runner):
    w = MainWindow(Services(), runner, start_services=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_navigation_lists_the_workspaces(window):
    titles = [window.nav.item(i).text() for i in range(window.nav.count())]
    assert titles[:5] == ["Chat", "Images", "History", "Models", "Experiments"]
    assert "Insights" in titles


@pytest.mark.slow
def test_ctrl_number_switches_workspace(qtbot, window):
    for i in range(len(WORKSPACES)):
        qtbot.keyClick(window, Qt.Key.Key_1 + i, Qt.KeyboardModifier.ControlModifier)
        assert window.stack.currentIndex() == i
        assert window.nav.currentRow() == i
        assert window.current_workspace() is window.stack.widget(i)


def test_status_bar_shows_device_and_idle(qtbot, window):
    qtbot.waitUntil(lambda: window.device_label.text() != "Device: …", timeout=5000)
    assert window.device_label.text() == "Device: CPU"  # this machine has no GPU
    assert window.job_status.label.text() == "Idle"


def test_running_job_appears_in_status_bar_and_jobs_panel(qtbot, window, runner):
    import threading

    release = threading.Event()

    def wait(*, cancel, progress):
        while not release.wait(0.01):
            cancel.raise_if_cancelled()

    handle = runner.submit(Job("Loading model", wait))
    qtbot.waitUntil(lambda: "Loading model" in window.job_status.label.text(), timeout=5000)
    window.toggle_jobs()
    assert window.jobs_dock.isVisible()
    rows = window.jobs_panel.rows()
    assert [r.handle for r in rows] == [handle]
    with qtbot.waitSignal(handle.cancelled, timeout=5000):
        rows[0].cancel_button.click()
    qtbot.waitUntil(lambda: window.job_status.label.text() == "Idle", timeout=5000)


def test_escape_cancels_engine_jobs_when_workspace_has_no_stop(qtbot, window, runner):
    def forever(*, cancel, progress):
        while not cancel.wait(0.01):
            pass
        cancel.raise_if_cancelled()

    handle = runner.submit(Job("forever", forever))
    qtbot.waitUntil(lambda: handle.state == "running", timeout=5000)
    window.show_workspace(3)
    if hasattr(window.current_workspace(), "stop"):
        pytest.skip("the Models workspace handles Esc itself")
    with qtbot.waitSignal(handle.cancelled, timeout=5000):
        qtbot.keyClick(window, Qt.Key.Key_Escape)


def test_failed_job_message_reaches_status_bar(qtbot, window, runner):
    def broken(*, cancel, progress):
        raise ValueError("the model file vanished")

    handle = runner.submit(Job("broken", broken))
    with qtbot.waitSignal(handle.failed, timeout=5000):
        pass
    assert "the model file vanished" in window.statusBar().currentMessage()


def test_geometry_and_workspace_are_remembered(qtbot, runner):
    first = MainWindow(Services(), runner, start_services=False)
    qtbot.addWidget(first)
    first.show()
    first.show_workspace(3)
    width = max(760, first.minimumSizeHint().width())
    assert width <= 800  # every workspace fits the offscreen screen (800x600)
    first.resize(width, 560)
    first.close()
    settings, _ = load_settings()
    assert settings.window.geometry and settings.window.workspace == 3
    second = MainWindow(Services(), runner, start_services=False)
    qtbot.addWidget(second)
    assert (second.width(), second.height()) == (width, 560)
    assert second.stack.currentIndex() == 3


@pytest.mark.slow
def test_the_window_with_every_workspace_open_fits_a_small_laptop_screen(qtbot, runner):
    window = MainWindow(Services(), runner, start_services=False)
    qtbot.addWidget(window)
    window.show()
    for index in range(window.stack.count()):
        window.show_workspace(index)  # each page is built when first shown
    # The widest page sets the window's minimum width: rows of buttons wrap instead (the Images gallery's
    # actions, Chat's collections bar). 1024 here is about 1,200 px with a desktop's fonts under X11.
    assert window.minimumSizeHint().width() <= 1024
    assert window.minimumSizeHint().height() <= 700


def test_about_text_names_version_and_data_root(genlab_home):
    from desktop import __version__
    from desktop.ui.about import about_text

    text = about_text()
    assert __version__ in text and str(genlab_home) in text


def test_missing_workspace_module_gets_an_explanation(qtbot, window, monkeypatch):
    from desktop.ui import main_window as mw

    spec = mw.WorkspaceSpec("x", "Missing", "desktop.ui.no_such_view", "Nope", "Nothing here.")
    page = window._create_page(spec)
    texts = " ".join(label.text() for label in page.findChildren(QLabel))
    assert "not part of this build" in texts


@pytest.mark.slow
def test_background_services_open_history_and_keep_early_records(qtbot, runner):
    from desktop.core.records import GenerationRecord

    services = Services()
    early = GenerationRecord(kind="text", prompt="made before the history was open")
    services.history.save(early)  # in-memory until the store is ready
    w = MainWindow(services, runner)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: type(services.history).__name__ == "HistoryStore", timeout=60000)
    store = services.history
    store.flush(timeout=60)
    assert store.has_ids([early.id]) == {early.id}
    w.close()
    services.close()


@pytest.mark.slow
def test_full_disk_during_a_history_save_is_shown_in_any_workspace(qtbot, runner):
    """A real store write fails like a full disk while Chat is on screen: the window says so."""
    import base64
    import os

    resource = pytest.importorskip("resource", reason="RLIMIT_FSIZE is POSIX")

    from desktop.core.history.store import HistoryStore
    from desktop.core.records import GenerationRecord
    from desktop.core.settings import Settings

    services = Services(Settings())
    # The store the window's startup opens (no embedder: this test is about writing).
    services.provide_history_store(HistoryStore(embedder=None, idle_seconds=3600))
    w = MainWindow(services, runner)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: type(services.history).__name__ == "HistoryStore", timeout=60000)
    w.show_workspace(0)  # Chat, not History: nothing there listens to the store
    store = services.history
    kept = [GenerationRecord(kind="text", prompt=f"kept {i}") for i in range(3)]
    store.save_many(kept, timeout=60)
    assert not w.history_error.isVisible()

    # From here no file may grow past 256 KiB, so a large commit fails as on a full disk.
    noise = base64.b64encode(os.urandom(2 * 1024 * 1024)).decode()  # incompressible
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, hard))
    try:
        with qtbot.waitSignal(w.history_save_failed, timeout=60000):
            store.save(GenerationRecord(kind="text", prompt="huge", output_text=noise))  # as an engine does
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert "disk is full" in w.statusBar().currentMessage()
    assert w.history_error.isVisible()
    assert "everything saved before is kept" in w.history_error.toolTip()
    box = w.show_history_error()
    assert not box.isModal() and "disk is full" in box.text()
    assert not w.history_error.isVisible()
    box.close()
    assert sorted(store.scan(["prompt"])["prompt"].to_pylist()) == [f"kept {i}" for i in range(3)]
    w.close()
    services.close()


def test_incognito_is_shown_in_every_workspace(qtbot, runner):
    from desktop.core.settings import Settings

    settings = Settings()
    settings.history.incognito = True
    w = MainWindow(Services(settings), runner, start_services=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    for key in ("chat", "images"):
        w.workspace(key)
        assert w.current_workspace() is w.workspace(key)
        assert w.incognito_label.isVisible()
        assert w.incognito_label.text() == "Incognito: new generations are not recorded"
        assert "temporary folder" in w.incognito_label.toolTip()
    history = w.workspace("history")
    history.incognito.setChecked(False)  # the History workspace's toggle
    assert not w.incognito_label.isVisible()
    history.incognito.setChecked(True)
    assert w.incognito_label.isVisible()
    off = Settings()
    off.history.incognito = False
    w.apply_settings(off)  # Preferences
    assert not w.incognito_label.isVisible()


@pytest.mark.slow
def test_a_text_model_from_the_library_opens_chat_and_loads(qtbot, window, tiny_gguf):
    window.show_workspace(3)
    models = window.current_workspace()
    chat = window.chat()
    with qtbot.waitSignal(chat.model_changed, timeout=60_000) as loaded:
        models.use_model_requested.emit("text", str(tiny_gguf))
        assert window.current_workspace() is chat
    assert loaded.args[0] is not None and loaded.args[0].path == tiny_gguf
    assert chat.model_bar.current_path() == str(tiny_gguf)


def test_an_image_model_from_the_library_opens_images_with_it_chosen(qtbot, window, tiny_sd_pipeline):
    window.show_workspace(3)
    models = window.current_workspace()
    models.use_model_requested.emit("image", str(tiny_sd_pipeline))
    images = window.images()
    assert window.current_workspace() is images
    assert images.current_model() == str(tiny_sd_pipeline)
    assert "Family" in images.card.text()  # the card of the chosen model, not an error
