"""Fixtures shared by the GUI tests."""

import pytest

from desktop.core.records import ListSink
from desktop.core.services import Services
from desktop.core.settings import Settings
from desktop.ui.runner import JobRunner


@pytest.fixture
def runner():
    r = JobRunner()
    yield r
    # A workspace's background job must not outlive its test's data root.
    r.shutdown(timeout=60)


@pytest.fixture
def services():
    """Default settings and an in-memory history."""
    svc = Services(Settings())
    svc.set_history(ListSink())
    yield svc
    svc.close()
