"""Fixtures of the image engine tests."""

import pytest

from desktop.core.image.engine import ImageEngine


@pytest.fixture(scope="module")
def engine():
    """One image engine per test module (a module's tests share its loaded pipeline)."""
    eng = ImageEngine()
    yield eng
    eng.close()
