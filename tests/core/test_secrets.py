"""Secrets: the OS keyring when it keeps them, a user-only file when there is none, never settings.json."""

import stat

from desktop.core import paths
from desktop.core.secrets import read_secret, save_secret


def test_without_a_keyring_backend_a_secret_goes_to_a_user_only_file_and_can_be_removed():
    # the autouse no_os_keyring fixture leaves keyring with no backend (a Linux session without Secret Service)
    where = save_secret("api-server-key", " a-long-key-123 ")
    file = paths.data_root() / "api-server-key.secret"
    assert where == str(file) and stat.S_IMODE(file.stat().st_mode) == 0o600
    assert read_secret("api-server-key") == "a-long-key-123"
    assert save_secret("api-server-key", "") == "" and not file.exists()
    assert read_secret("api-server-key") == ""


def test_a_keyring_that_keeps_nothing_leaves_the_secret_in_the_file():
    import keyring
    from keyring.backends import null

    keyring.set_keyring(null.Keyring())  # accepts a password and drops it; the autouse fixture restores
    assert save_secret("api-server-key", "a-long-key-123").endswith(".secret")
    assert read_secret("api-server-key") == "a-long-key-123"


def test_a_secret_can_keep_the_file_name_it_had_before():
    where = save_secret("huggingface-token", "hf_abc", file_name="hf-token")
    assert where == str(paths.data_root() / "hf-token") and read_secret("huggingface-token", "hf-token") == "hf_abc"
    assert read_secret("huggingface-token") == ""  # the default file is another one
    assert save_secret("huggingface-token", "", file_name="hf-token") == ""
    assert not (paths.data_root() / "hf-token").exists()
