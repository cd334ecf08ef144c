"""Hub tokens are kept by :mod:`desktop.core.secrets` under the names GenLab always used for them,
so a token saved before the two shared that code still reaches the hub."""

from __future__ import annotations

import os
import stat

import pytest

from desktop.core.hub.access import KEYRING_USER, save_token, token
from desktop.core.secrets import KEYRING_SERVICE


@pytest.fixture(autouse=True)
def no_token_in_the_environment(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)


def _write_like_the_old_code(path, value: str) -> None:
    """What ``save_token`` did before it used :mod:`desktop.core.secrets`: a 0600 file named ``hf-token``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value)


def test_a_token_file_saved_by_the_old_code_is_still_read_and_replaced_in_place(genlab_home):
    _write_like_the_old_code(genlab_home / "hf-token", "hf_saved_long_ago\n")
    assert token() == "hf_saved_long_ago"
    # no keyring backend (the autouse no_os_keyring fixture): the new token lands in the same file
    assert save_token("hf_newer") == str(genlab_home / "hf-token")
    assert stat.S_IMODE((genlab_home / "hf-token").stat().st_mode) == 0o600
    assert token() == "hf_newer"
    assert not list(genlab_home.glob("*.secret"))  # no second copy under the generic secrets name


def test_a_token_the_old_code_put_in_the_keyring_is_still_read(genlab_home, keyring_backend):
    backend = keyring_backend("working")
    backend.set_password("GenLab", "huggingface-token", "hf_in_the_keyring_long_ago")  # the old code's names
    assert (KEYRING_SERVICE, KEYRING_USER) == ("GenLab", "huggingface-token")
    assert token() == "hf_in_the_keyring_long_ago"


def test_saving_to_the_keyring_removes_the_old_token_file(genlab_home, keyring_backend):
    _write_like_the_old_code(genlab_home / "hf-token", "hf_plaintext")
    keyring_backend("working")
    assert save_token("hf_kept_safe") == "keyring"
    assert not (genlab_home / "hf-token").exists() and token() == "hf_kept_safe"
