"""A knowledge store on the per-test data root, keyword-only (no embedder) unless a test asks."""

from __future__ import annotations

import pytest


@pytest.fixture
def knowledge(genlab_home):
    from desktop.core.knowledge.store import Knowledge

    k = Knowledge(embedder=None)
    yield k
    k.close()


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "otters.md").write_text("# Otters\n\nOtters hold hands while they sleep.\n\n## Food\n\nFish and crabs.\n")
    (folder / "notes.txt").write_text("Lighthouses guide ships at night.\n\nThey use bright lamps.\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "tool.py").write_text("def grind_coffee():\n    return 'espresso'\n")
    return folder
