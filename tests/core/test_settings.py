import json

from desktop.core import paths
from desktop.core.settings import SCHEMA_VERSION, Settings, load_settings, save_settings


def test_defaults_when_no_file():
    settings, warning = load_settings()
    assert warning is None
    assert settings == Settings()


def test_round_trip_and_atomic_write():
    s = Settings()
    s.text.context_size = 4096
    s.history.incognito = True
    s.downloads.extra_model_folders = ["/models/lmstudio"]
    save_settings(s)
    loaded, warning = load_settings()
    assert warning is None
    assert loaded == s
    leftovers = [p.name for p in paths.data_root().iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    assert json.loads(paths.settings_file().read_text())["schema_version"] == SCHEMA_VERSION


def test_corrupt_file_is_backed_up_and_defaults_used():
    paths.data_root().mkdir(parents=True, exist_ok=True)
    paths.settings_file().write_text('{"schema_version": 1, "text": {"context_size": 40')
    settings, warning = load_settings()
    assert settings == Settings()
    assert warning and "damaged" in warning
    backups = list(paths.data_root().glob("settings.json.bad-*"))
    assert len(backups) == 1
    assert backups[0].read_text().startswith('{"schema_version": 1')
    assert not paths.settings_file().exists()


def test_binary_garbage_is_handled():
    paths.data_root().mkdir(parents=True, exist_ok=True)
    paths.settings_file().write_bytes(b"\xff\xfe\x00garbage")
    settings, warning = load_settings()
    assert settings == Settings() and warning


def test_wrong_types_and_unknown_keys_keep_defaults():
    paths.data_root().mkdir(parents=True, exist_ok=True)
    paths.settings_file().write_text(json.dumps({
        "schema_version": 1,
        "text": {"context_size": "big", "threads": 6, "bogus": 1},
        "history": {"incognito": "yes"},
        "nonsense": {},
    }))
    settings, warning = load_settings()
    assert warning is None
    assert settings.text.context_size == Settings().text.context_size
    assert settings.text.threads == 6
    assert settings.history.incognito is False


def test_newer_schema_is_not_overwritten():
    paths.data_root().mkdir(parents=True, exist_ok=True)
    newer = json.dumps({"schema_version": SCHEMA_VERSION + 5, "future": True})
    paths.settings_file().write_text(newer)
    settings, warning = load_settings()
    assert settings == Settings()
    assert "newer GenLab" in warning
    assert (paths.data_root() / f"settings.json.newer-v{SCHEMA_VERSION + 5}").read_text() == newer
