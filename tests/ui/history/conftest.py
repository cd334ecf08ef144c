"""Fixtures for the History workspace tests."""

import pytest

from desktop.ui.runner import JobRunner


@pytest.fixture
def runner():
    """Two io workers: the History opens its store and loads thumbnails at once."""
    r = JobRunner(io_workers=2)
    yield r
    r.shutdown(timeout=60)
