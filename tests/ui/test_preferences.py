"""Preferences: the choices offered, what accepting does, switching the embedder."""

import copy
import json

import pytest

from desktop.core import paths
from desktop.core.history.embedder import DEFAULT_MODEL, available_embedders, packaged_model_dir
from desktop.core.settings import load_settings
from desktop.ui.main_window import MainWindow
from desktop.ui.preferences import PreferencesDialog


def _fake_embedder(name: str, dim: int):
    folder = paths.models_dir() / name
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "modules.json").write_text("[]")
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": dim}))
    return folder


def test_only_embedders_with_the_history_vector_size_are_offered():
    assert available_embedders() == [DEFAULT_MODEL]
    _fake_embedder("e5-small-like", 384)
    _fake_embedder("mpnet-like", 768)
    assert available_embedders() == [DEFAULT_MODEL, "e5-small-like"]


def test_accepting_the_dialog_returns_edited_settings(qtbot, services):
    before = copy.deepcopy(services.settings)
    dialog = PreferencesDialog(services.settings)
    qtbot.addWidget(dialog)
    dialog.incognito.setChecked(True)
    dialog.context.setValue(4096)
    dialog.parallel.setValue(3)
    dialog.folders.addItem("/data/lmstudio/models")
    dialog.accept()
    new = dialog.result_settings
    assert new.history.incognito and new.text.context_size == 4096 and new.downloads.max_parallel == 3
    assert new.downloads.extra_model_folders == ["/data/lmstudio/models"]
    assert services.settings == before  # the dialog edits a copy


@pytest.mark.slow
def test_apply_settings_updates_in_place_saves_and_switches_embedder(qtbot, services, runner):
    from desktop.core.records import GenerationRecord

    copy_dir = paths.models_dir() / "minilm-copy"
    copy_dir.parent.mkdir(parents=True, exist_ok=True)
    copy_dir.symlink_to(packaged_model_dir(), target_is_directory=True)
    assert "minilm-copy" in available_embedders()

    store = services.history_store
    store.save_and_wait(GenerationRecord(kind="text", prompt="a lighthouse in a storm"))
    window = MainWindow(services, runner, start_services=False)
    qtbot.addWidget(window)
    history_section = services.settings.history
    new = copy.deepcopy(services.settings)
    new.history.embedder = "minilm-copy"
    new.text.threads = 3
    window.apply_settings(new)

    assert services.settings.history is history_section and history_section.embedder == "minilm-copy"
    saved, _ = load_settings()
    assert saved.history.embedder == "minilm-copy" and saved.text.threads == 3
    qtbot.waitUntil(lambda: store.embedder.name == "minilm-copy", timeout=180000)  # a loaded host
    qtbot.waitUntil(lambda: store.embedder.ready and store.unembedded == 0, timeout=300000)
    assert store.meta["embed_model"] == "minilm-copy"


def test_the_api_server_section_is_returned_and_saved_typed_without_the_key(qtbot, services, runner):
    from desktop.core.settings import ServerSettings

    dialog = PreferencesDialog(services.settings)
    qtbot.addWidget(dialog)
    group = dialog.server
    assert group.values() == ServerSettings()  # off, 127.0.0.1:8765 by default
    group.host.setText("127.0.0.1")
    group.port.setValue(0)
    group.origins.setText("http://localhost:3000  https://app.example")
    group.no_switch.setChecked(True)
    group.api_key.setText("a-key-of-some-length")
    dialog.accept()
    assert dialog.result_settings.server == ServerSettings(
        enabled=False, port=0, allowed_origins=["http://localhost:3000", "https://app.example"],
        switch_models=False)
    assert dialog.result_api_key == "a-key-of-some-length"

    window = MainWindow(services, runner, start_services=False)
    qtbot.addWidget(window)
    window.apply_settings(dialog.result_settings)
    saved, warning = load_settings()
    assert warning is None and saved.server == dialog.result_settings.server
    assert "a-key-of-some-length" not in paths.settings_file().read_text(encoding="utf-8")


def test_a_malformed_allowed_origin_is_refused_on_screen(qtbot, services):
    dialog = PreferencesDialog(services.settings)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.server.enabled.setChecked(True)
    dialog.server.port.setValue(0)
    dialog.server.origins.setText("localhost:3000")
    dialog.accept()
    assert dialog.isVisible() and "An allowed origin must look like https://host[:port]" in \
        dialog.server.message.text()
