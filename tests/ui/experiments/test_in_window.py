"""The Experiments workspace in the main window: Ctrl+5, its run in the status bar and the Jobs panel,
and "Show in History" listing the experiment's records there."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QAction, QKeySequence

from desktop.ui.experiments.view import ExperimentsWorkspace
from desktop.ui.main_window import MainWindow
from tests.ui.experiments.conftest import text_spec


@pytest.mark.slow
def test_ctrl_5_opens_experiments_and_a_run_shows_in_the_status_bar_and_jobs_panel(
        qtbot, services, runner, history, stories260k):
    window = MainWindow(services, runner, start_services=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    ctrl_5 = [a for a in window.findChildren(QAction) if a.shortcut() == QKeySequence("Ctrl+5")]
    assert len(ctrl_5) == 1
    ctrl_5[0].trigger()
    w = window.current_workspace()
    assert isinstance(w, ExperimentsWorkspace) and window.nav.currentItem().text() == "Experiments"
    qtbot.waitUntil(lambda: w.experiments is not None, timeout=30000)
    w.new_experiment()
    w.editor.set_text(text_spec(stories260k))
    with qtbot.waitSignal(w.run_started, timeout=30000) as started:
        w.generate()  # what Ctrl+Enter calls
    w.toggle_pause()  # holds the run before its first cell, so it can be seen running
    qtbot.waitUntil(lambda: "Experiment: stories sweep" in window.job_status.label.text(), timeout=30000)
    window.toggle_jobs()
    assert "Experiment: stories sweep" in [r.handle.name for r in window.jobs_panel.rows()]
    assert [h.name for h in runner.engine_jobs()] == ["Experiment: stories sweep"]
    w.toggle_pause()
    with qtbot.waitSignal(w.run_finished, timeout=120000):
        pass
    qtbot.waitUntil(lambda: window.job_status.label.text() == "Idle", timeout=30000)
    with qtbot.waitSignal(w.results_shown, timeout=30000):
        w.listing.select(started.args[0])
    w.history_button.click()
    history_page = window.current_workspace()
    assert window.nav.currentItem().text() == "History"
    qtbot.waitUntil(lambda: history_page._session_id == started.args[0], timeout=30000)
