from pathlib import Path

import pytest

from desktop.core import paths
from desktop.core.errors import DataRootError


def test_data_root_follows_genlab_home(genlab_home):
    assert paths.data_root() == genlab_home
    assert paths.models_dir() == genlab_home / "models"
    assert paths.ensure_data_root() == genlab_home


def test_models_dir_override(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_MODELS_DIR", str(tmp_path / "elsewhere"))
    assert paths.models_dir() == tmp_path / "elsewhere"


def test_default_root_is_per_user_platform_dir(monkeypatch):
    monkeypatch.delenv("GENLAB_HOME")
    root = paths.data_root()
    assert root.name == "GenLab"
    assert root.is_absolute()


def test_data_root_is_user_only(genlab_home):
    root = paths.ensure_data_root()
    assert root.stat().st_mode & 0o077 == 0


def test_genlab_home_pointing_at_a_file(monkeypatch, tmp_path):
    f = tmp_path / "not-a-folder"
    f.write_text("x")
    monkeypatch.setenv("GENLAB_HOME", str(f))
    with pytest.raises(DataRootError) as err:
        paths.ensure_data_root()
    assert "is a file, not a folder" in str(err.value)
    assert "GENLAB_HOME" in str(err.value)  # says what to do


def test_data_root_that_cannot_be_created(monkeypatch):
    # /sys refuses new folders even to root.
    monkeypatch.setenv("GENLAB_HOME", "/sys/genlab-cannot-exist/data")
    with pytest.raises(DataRootError) as err:
        paths.ensure_data_root()
    assert "Cannot create the data folder" in str(err.value)


def test_data_root_that_is_not_writable(monkeypatch):
    monkeypatch.setenv("GENLAB_HOME", "/sys")
    with pytest.raises(DataRootError) as err:
        paths.ensure_data_root()
    assert "not writable" in str(err.value)


def test_resource_path_finds_resources():
    assert paths.resource_path("styles", "genlab.qss").is_file()


def test_resource_path_inside_a_frozen_bundle(monkeypatch, tmp_path):
    monkeypatch.setattr("sys._MEIPASS", str(tmp_path), raising=False)
    assert paths.resource_path("catalog.json") == Path(tmp_path) / "resources" / "catalog.json"
