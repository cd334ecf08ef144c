"""``genlab experiment export ID FILE.html [--embed-images]``: the report, read back with html.parser."""

from __future__ import annotations

import json

import pytest

from desktop.cli import main
from tests.core.experiments.report_parse import ReportPage

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

pytest.importorskip("llama_cpp")


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["experiment", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_text_sweep_exports_to_an_html_report_with_a_row_per_cell(stories260k, tmp_path, capsys):
    spec = tmp_path / "sweep.toml"
    spec.write_text(f'name = "html"\nkind = "text"\n[fixed]\nmax_tokens = 8\nseed = 7\nmode = "completion"\n'
                    f'model = "{stories260k}"\n[axes]\ntemperature = [0.0, 0.7]\nprompt = ["Once", "The dog"]\n')
    code, out, err = cli(capsys, "run", str(spec), "--json")
    assert code == 0, err
    experiment_id = json.loads(out)["id"]
    code, _, err = cli(capsys, "export", experiment_id, str(tmp_path / "report.html"))
    assert code == 0 and "4 cells written" in err
    page = ReportPage.read(tmp_path / "report.html")
    assert len(page.tables["cells"]) == 1 + 4 and len(page.tables["summary"]) == 1 + 4
    assert all(row[3] for row in page.tables["cells"][1:])  # every reply is there


def test_an_image_sweep_exports_with_its_images_embedded(tiny_sd_pipeline, one_torch_thread, tmp_path, capsys):
    spec = tmp_path / "images.toml"
    spec.write_text(f'kind = "image"\n[fixed]\nmodel = "{tiny_sd_pipeline}"\nsteps = 1\nsize = "64x64"\n'
                    'prompt = "a square"\n[axes]\nseed = [1, 2]\nguidance = [1.0, 5.0]\n')
    code, out, err = cli(capsys, "run", str(spec), "--json")
    assert code == 0, err
    out_dir = tmp_path / "out"
    code, _, err = cli(capsys, "export", json.loads(out)["id"], str(out_dir / "grid.html"), "--embed-images")
    assert code == 0, err
    page = ReportPage.read(out_dir / "grid.html")
    assert len(page.images) == 4 and all(s.startswith("data:image/png;base64,") for s in page.images)
    assert [p.name for p in out_dir.iterdir()] == ["grid.html"]
