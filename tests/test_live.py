"""``live=True``: one display in a real executed notebook (nbclient + ipykernel), updated during the run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

import hpviz  # noqa: E402
from hpviz.recording import LIVE_MAX_PER_SECOND, live_view  # noqa: E402
from hpviz.testing import make_experiment  # noqa: E402

NOTEBOOK_CELL = '''
import time
import optuna
from hpviz_optuna import HpvizCallback

optuna.logging.set_verbosity(optuna.logging.WARNING)
cb = HpvizCallback(live=True, report_options={{"views": ["progress"]}})

def objective(trial):
    time.sleep(0.04)
    return trial.suggest_float("x", -1.0, 1.0) ** 2

study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), study_name="live-demo")
start = time.perf_counter()
study.optimize(objective, n_trials=60, n_jobs=2, callbacks=[cb])
elapsed = time.perf_counter() - start
cb.report({path!r})
print(f"elapsed={{elapsed:.3f}}")
'''


def _execute(tmp_path: Path, source: str) -> list:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return nb.cells[0].outputs


def test_live_view_keeps_one_display_updated_in_a_notebook(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    outputs = _execute(tmp_path, NOTEBOOK_CELL.format(path=str(report)))
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors
    live = [o for o in outputs if o.output_type == "display_data" and "hpviz-live" in o.data.get("text/html", "")]
    assert len(live) == 1  # one display, updated in place
    html = live[0].data["text/html"]
    updates = int(re.search(r'data-hpviz-updates="(\d+)"', html).group(1))
    trials = int(re.search(r'data-hpviz-trials="(\d+)"', html).group(1))
    elapsed = float(re.search(r"elapsed=([0-9.]+)", "".join(o.get("text", "") for o in outputs
                                                             if o.output_type == "stream")).group(1))
    assert trials == 60 and "live-demo" in html
    assert 2 <= updates <= elapsed * LIVE_MAX_PER_SECOND + 2  # updated during the run, at most a few per second
    assert "Report:" in html and report.as_uri() in html and report.is_file()  # ends with the report link
    assert "text/plain" in live[0].data and "60 trials" in live[0].data["text/plain"]


def test_live_view_content() -> None:
    exp = make_experiment(20, seed=1, fail_rate=0.2)
    bundle = live_view(exp, updates=3, report=Path("/tmp/x <y>.html"))
    best = exp.best()
    assert f"trial {best.number}" in bundle["text/plain"] and "<polyline" in bundle["text/html"]
    assert "&lt;y&gt;" in bundle["text/html"] and 'data-hpviz-updates="3"' in bundle["text/html"]
    empty = live_view(hpviz.Experiment({"x": hpviz.Float(0, 1)}, "loss"))
    assert "no finished trial" in empty["text/plain"] and "<polyline" not in empty["text/html"]
