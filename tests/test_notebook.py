"""A real executed notebook (nbclient + ipykernel): every view shows as an image, every result as HTML.

The notebook does what a new user would: no ``%matplotlib inline``, no pyplot; a
view or a result is the last expression of its cell. Needs the ``test`` extra
(nbclient, nbformat, ipykernel), which ``make test`` installs.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the test extra (nbclient, nbformat, ipykernel) is not installed")
nbclient = pytest.importorskip("nbclient", reason="the test extra (nbclient, nbformat, ipykernel) is not installed")
pytest.importorskip("ipykernel", reason="the test extra (nbclient, nbformat, ipykernel) is not installed")

SETUP = """
import dataclasses
import hpviz
from hpviz.testing import make_experiment

exp = make_experiment(60, log_steps=6, prune_rate=0.1, name="notebook")
sugg = hpviz.suggest_space(exp, seed=0)
sugg.apply(exp)
for t in make_experiment(30, seed=1).trials:
    exp.add(dataclasses.replace(t, number=t.number + 100, round=1, log=None))
two = hpviz.Experiment(exp.space, {"loss": "min", "latency": "min"}, name="two objectives")
for t in exp.trials:
    if "value" in t.values:
        two.add(dataclasses.replace(t, round=0, values={"loss": t.values["value"], "latency": 1.0 / (1.0 + abs(t.params["x"]))}))
other = make_experiment(40, seed=5, name="other")
diag = hpviz.diagnose(exp)
imp = hpviz.importance(exp, n_trees=8)
import sys
sys.path.insert(0, TESTS_DIR)
from families import pbt_run  # tests/families.py: a simulated population-based training run
pbt = pbt_run(0)
"""

#: cell source -> what the cell shows
VIEWS = {
    "findings": "hpviz.plot.findings(diag)",
    "progress": "hpviz.plot.progress(exp, diagnosis=diag)",
    "importance": "hpviz.plot.importance(imp)",
    "marginals": "hpviz.plot.marginals(imp, experiment=exp)",
    "tendrils": "hpviz.plot.tendrils(exp, importance=imp)",
    "parallel": "hpviz.plot.parallel(exp, importance=imp)",
    "curves": "hpviz.plot.curves(exp)",
    "pareto": "hpviz.plot.pareto(two)",
    "expected_best": "hpviz.plot.expected_best(exp)",
    "compare": "hpviz.plot.compare(hpviz.compare(exp, other, names=['a', 'b']))",
    "suggestions": "hpviz.plot.suggestions(sugg, experiment=exp)",
    "rounds": "hpviz.plot.rounds(exp)",
    "replay": "hpviz.plot.replay(exp)",
    "budget_importance": "hpviz.plot.budget_importance(exp)",
    "local_importance": "hpviz.plot.local_importance(exp)",
    "coverage": "hpviz.plot.coverage(exp)",
    "lineage": "hpviz.plot.lineage(pbt)",
}
RESULTS = {
    "Experiment": "exp",
    "Diagnosis": "diag",
    "Importance": "imp",
    "SpaceSuggestion": "sugg",
    "ExpectedBest": "hpviz.expected_best(exp)",
    "Comparison": "hpviz.compare(exp, other, names=['a', 'b'])",
    "RoundComparison": "hpviz.compare_rounds(exp)",
    "ParetoFront": "hpviz.pareto_front(two)",
    "Replay": "hpviz.replay(exp)",
    "BudgetImportance": "hpviz.budget_importance(exp)",
    "LocalImportance": "hpviz.local_importance(exp)",
    "Coverage": "hpviz.coverage(exp)",
    "Lineage": "hpviz.lineage(pbt)",
    "ModelComparison": "hpviz.compare_models([exp, other], names=['a', 'b'])",
}




def _notebook() -> object:
    nb = nbformat.v4.new_notebook()
    setup = textwrap.dedent(SETUP).replace("TESTS_DIR", repr(str(Path(__file__).parent)))
    nb.cells.append(nbformat.v4.new_code_cell(setup))
    for source in [*VIEWS.values(), *RESULTS.values()]:
        nb.cells.append(nbformat.v4.new_code_cell(source))
    return nb


def test_executed_notebook_shows_every_view_as_image_and_every_result_as_html(tmp_path: Path) -> None:
    from hpviz.plot import DISPLAYS

    assert {d.key for d in DISPLAYS} <= set(VIEWS), "a new view needs its notebook cell"
    nb = _notebook()
    env_path = os.pathsep.join(p for p in sys.path if p)  # the kernel imports the hpviz under test
    os.environ.setdefault("PYTHONPATH", env_path)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    nbformat.write(nb, tmp_path / "executed.ipynb")
    cells = nb.cells[1:]
    for key, cell in zip([*VIEWS, *RESULTS], cells):
        outputs = cell.outputs
        errors = [o for o in outputs if o.output_type == "error"]
        assert not errors, f"{key}: {errors[0].ename}: {errors[0].evalue}"
        results = [o for o in outputs if o.output_type == "execute_result"]
        assert len(results) == 1, f"{key}: no displayed result ({outputs})"
        data = results[0].data
        if key in VIEWS:
            assert "image/png" in data, f"view {key} shows no image: {sorted(data)}"
            assert len(data["image/png"]) > 2000  # base64 of a real figure, not an empty canvas
            assert "<Axes" not in data.get("text/plain", "")
        else:
            assert "text/html" in data, f"result {key} has no HTML: {sorted(data)}"
            html = data["text/html"]
            # every result is drawn by hpviz._richrepr: one style, heading "<b>Name", a table
            assert 'class="hpviz-result"' in html, f"result {key}: {html[:200]}"
            assert f"<b>{key}" in html and "<table" in html or key == "Experiment" and "best trial" in html
            assert data["text/plain"].startswith(key)  # the readable __repr__, not a dump of arrays
            assert len(data["text/plain"]) < 400
    # the findings table carries severity badges; the importance table has bars
    html_of = {k: c.outputs[-1].data["text/html"] for k, c in zip([*VIEWS, *RESULTS], cells) if k in RESULTS}
    assert "WARNING" in html_of["Diagnosis"] or "PROBLEM" in html_of["Diagnosis"] or "OK" in html_of["Diagnosis"]
    assert html_of["Importance"].count("background:#0072B2") >= 4
    assert ">SHRINK<" in html_of["SpaceSuggestion"] or ">FIX<" in html_of["SpaceSuggestion"]
    # the analyses of the questions: sentinel badge, importance bars, supported / not supported badges
    assert "SENTINEL STEP" in html_of["Replay"] or "NO SENTINEL STEP" in html_of["Replay"]
    assert html_of["LocalImportance"].count("background:#0072B2") >= 4
    assert html_of["BudgetImportance"].count("background:#0072B2") >= 4
    assert ">SUPPORTED<" in html_of["ModelComparison"] or ">NOT SUPPORTED<" in html_of["ModelComparison"]
    assert ">OK<" in html_of["Coverage"] or ">THIN<" in html_of["Coverage"]
