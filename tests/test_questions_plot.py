"""The views of the new analyses (data on artists, not pixels), their report sections and the multi-model report."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from families import good_region_only, halving_run, late_bloomers, model_family, pbt_run

import hpviz
from hpviz import plot


def test_replay_view_draws_the_correlation_and_rules():
    exp, _ = late_bloomers(0)
    d = plot.replay(exp)
    r = d.result
    np.testing.assert_allclose(d.corr_line_.get_ydata(), r.steps["spearman"].to_numpy())
    assert set(d.rule_lines_) == {"median", "bottom-0.5", "bottom-0.75"}
    assert r.message in d.note_
    assert plot.replay(r).result is r  # a result is drawn as is


def test_budget_and_local_importance_views():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = plot.budget_importance(halving_run(0))
    assert set(d.lines_) == {"good", "fast", "noise"}
    np.testing.assert_allclose(d.lines_["fast"].get_xdata(), [1.0, 3.0])
    li = hpviz.local_importance(good_region_only(0))
    d2 = plot.local_importance(li)
    heights = [b.get_width() for b in d2.local_bars_]
    assert heights == pytest.approx(li.to_dataframe()["local"].tolist())


def test_lineage_and_coverage_views():
    d = plot.lineage(pbt_run(0))
    assert len(d.arrows_) == len(d.result.events)  # every exploit has a donor here
    cov = hpviz.coverage(good_region_only(0))
    d2 = plot.coverage(cov)
    assert [b.get_width() for b in d2.gap_bars_] == pytest.approx(cov.params["max_gap"].tolist())


def test_single_report_has_the_new_sections(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = hpviz.report(halving_run(0), tmp_path / "r.html")
    text = path.read_text()
    for title in ("Early-stopping replay", "Importance by budget", "Local importance", "Search-space coverage"):
        assert f"<h2>{title}</h2>" in text
    assert "Population-based training lineage</b>: no trial changed its configuration" in text


def test_pbt_report_shows_the_lineage_and_its_findings(tmp_path):
    path = hpviz.report(pbt_run(0, n=6, quantile=0.5, interval=2), tmp_path / "pbt.html",
                        views=["lineage", "curves"])
    text = path.read_text()
    assert "<h2>Population-based training lineage</h2>" in text
    assert "descends from one initial trial" in text


def _models():
    return [model_family("gbm", 0, level=0.95, spread=0.4, fit_time=3),
            model_family("svm", 1, level=0.85, spread=0.4, split_sd=0.03, fit_time=1)]


def test_multi_model_report_links_each_model(tmp_path):
    path = hpviz.report(_models(), tmp_path / "models.html", metrics={"acc": "max", "fit_time": "min"})
    text = path.read_text()
    assert "<h2>Verdict</h2>" in text and "gbm is the best model at equal budgets" in text
    assert 'href="models-1-gbm.html"' in text and 'href="models-2-svm.html"' in text
    assert (tmp_path / "models-1-gbm.html").exists() and (tmp_path / "models-2-svm.html").exists()
    with pytest.raises(hpviz.SchemaError, match="one HTML page"):
        hpviz.report(_models(), tmp_path / "models.pdf")
    with pytest.raises(TypeError, match="unexpected keyword argument .metric."):
        hpviz.report(_models(), tmp_path / "m.html", metric={"acc": "max"})


def test_cli_report_of_several_saved_models(tmp_path):
    files = []
    for exp in _models():
        files.append(str(exp.save(tmp_path / f"{exp.name}.json")))
    out = tmp_path / "cmp.html"
    done = subprocess.run([sys.executable, "-m", "hpviz", "report", *files, "-o", str(out), "--quiet"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "2 models" in done.stdout and (tmp_path / "cmp-1-gbm.html").exists()
    assert "gbm is the best model at equal budgets" in out.read_text()
