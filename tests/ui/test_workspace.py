"""The main window's seams to its workspaces: the protocols of ui/workspace.py, no attribute lookups."""

import ast
import importlib
from pathlib import Path

import pytest

import desktop.ui.main_window as main_window
from desktop.ui.main_window import WORKSPACES
from desktop.ui.workspace import Generating, Searching, Workspace

GENERATING = {"chat", "images", "experiments", "arena"}  # Ctrl+Enter runs a sweep or makes pairs, Esc cancels
SEARCHING = {"chat", "history", "models", "knowledge"}  # Ctrl+F focuses their search box


@pytest.mark.parametrize("spec", WORKSPACES, ids=[s.key for s in WORKSPACES])
def test_every_workspace_satisfies_the_protocols_it_is_driven_through(qtbot, services, runner, spec):
    cls = getattr(importlib.import_module(spec.module), spec.cls)
    page = cls(services, runner, None)
    qtbot.addWidget(page)
    assert isinstance(page, Workspace)
    with qtbot.waitSignal(page.status_message, timeout=1000) as said:
        page.status_message.emit("a line")  # a real signal of one str, as the status bar takes it
    assert said.args == ["a line"]
    assert isinstance(page, Generating) == (spec.key in GENERATING)
    assert isinstance(page, Searching) == (spec.key in SEARCHING)


def test_the_main_window_asks_pages_nothing_by_name():
    tree = ast.parse(Path(main_window.__file__).read_text(encoding="utf-8"))
    lookups = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
               and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")]
    # The only lookups left: the workspace class in its module, and copying settings field by field.
    allowed = {"module", "new", "current", "value", "self.services.history"}
    assert {ast.unparse(node.args[0]) for node in lookups} <= allowed
    assert not [n for n in lookups if n.func.id == "hasattr"]
