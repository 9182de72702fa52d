"""The report: HTML / PDF / PNG folder, one image per applicable view, notes instead of crashes, atomic writes."""

from __future__ import annotations

import base64
import io
import logging
import math
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import hpviz
from hpviz import Float, SchemaError, Trial
from hpviz.testing import make_experiment

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Parse(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images: list[str] = []
        self.sections: list[str] = []
        self.scripts = 0
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a["src"])
        elif tag == "section":
            self.sections.append(a["id"])
        elif tag == "script":
            self.scripts += 1
        elif tag == "link":
            self.links.append(a.get("href", ""))

    def handle_data(self, data):
        self.text.append(data)


def parse(path: Path) -> _Parse:
    p = _Parse()
    p.feed(path.read_text(encoding="utf-8"))
    p.close()
    return p


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    return Image.open(io.BytesIO(data)).size


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", data))


@pytest.fixture(scope="module")
def small():
    return make_experiment(5, log_steps=8, prune_rate=0.2, seed=1)


@pytest.fixture(scope="module")
def rounds_exp():
    exp = make_experiment(40, log_steps=6, seed=2)
    exp.next_round(exp.space.replace(x=Float(-1.0, 3.0)))
    rng = np.random.default_rng(0)
    for i in range(40, 70):
        x = float(rng.uniform(-1, 3))
        lr = float(10 ** rng.uniform(-5, -1))
        value = (x - 1) ** 2 + 0.5 * (math.log10(lr) + 3) ** 2
        exp.add(Trial(i, {"x": x, "lr": lr, "units": 32, "act": "relu"}, {"value": value}, round=1))
    return exp


def expected_views(html: _Parse, rendered_keys: set[str]) -> None:
    """Every section drawn has exactly one inline PNG, in order."""
    assert len(html.images) == len(rendered_keys)
    for src in html.images:
        assert src.startswith("data:image/png;base64,")
        w, h = png_size(base64.b64decode(src.split(",", 1)[1]))
        assert w >= 400 and h >= 100


def drawn(path: Path) -> set[str]:
    """Section ids whose image is present (parsed from the HTML around each <img>)."""
    text = path.read_text(encoding="utf-8")
    return set(re.findall(r'<section id="([a-z_]+)"><h2>[^<]*</h2><p class="about">[^<]*</p>\s*<img', text))


def test_html_small(tmp_path, small):
    out = hpviz.report(small, tmp_path / "r.html", n_trees=8)
    assert out == tmp_path / "r.html" and out.exists()
    html = parse(out)
    keys = drawn(out)
    expected_views(html, keys)
    # views that need only the experiment always apply
    assert {"progress", "tendrils", "parallel", "curves"} <= keys
    # a single objective and a single round: those views are listed as not shown, with the reason
    assert "pareto" not in keys and "rounds" not in keys
    body = " ".join(html.text)
    assert "no trade-off" in body and "single round" in body
    # no external assets, no JavaScript
    assert html.scripts == 0 and not html.links
    assert "http://" not in out.read_text() and "https://" not in out.read_text()
    # summary header
    assert "synthetic" in body and "Best trial" in body
    best = small.best()
    assert f"#{best.number}" in body


def test_html_large_40_params(tmp_path):
    from hpviz import Categorical, Int, SearchSpace

    kinds = [lambda: Float(-5.0, 5.0), lambda: Float(1e-5, 1e-1, log=True), lambda: Int(8, 512, log=True),
             lambda: Categorical(["relu", "tanh", "gelu"])]
    space = SearchSpace({f"p{i}": kinds[i % 4]() for i in range(40)})

    def fn(p):
        return (p["p0"] - 1) ** 2 + (math.log10(p["p1"]) + 3) ** 2 + (p["p3"] != "relu")

    exp = make_experiment(5000, space, fn, log_steps=10, prune_rate=0.1, fail_rate=0.05, seed=7)
    out = hpviz.report(exp, tmp_path / "big.html", n_trees=4)
    html = parse(out)
    keys = drawn(out)
    expected_views(html, keys)
    assert {"progress", "tendrils", "parallel", "curves", "importance", "marginals"} <= keys
    assert "… and 0 more" not in out.read_text()
    assert "more</td>" not in out.read_text()  # 40 best params listed in full


def test_pdf_pages(tmp_path, rounds_exp):
    # pareto does not apply (one objective): cover page + the three others
    views = ["progress", "tendrils", "rounds", "pareto"]
    out = hpviz.report(rounds_exp, tmp_path / "r.pdf", views=views)
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    assert pdf_pages(data) == 1 + 3
    out = hpviz.report(make_experiment(3), tmp_path / "r2.pdf", views=["progress"])
    assert pdf_pages(out.read_bytes()) == 2


def test_png_directory(tmp_path, rounds_exp):
    out = hpviz.report(rounds_exp, tmp_path / "pngs", views=["progress", "rounds", "curves", "pareto"])
    assert out.is_dir()
    pngs = sorted(out.glob("*.png"))
    assert [p.name for p in pngs] == ["curves.png", "progress.png", "rounds.png"]
    assert (out / "index.html").exists()
    html = parse(out / "index.html")
    assert sorted(html.images) == sorted(p.name for p in pngs)
    for p in pngs:
        w, h = png_size(p.read_bytes())
        assert 400 <= w <= 2000 and 100 <= h <= 2000
    # writing again replaces the report's files (no stale ones), leaves no temporaries
    hpviz.report(rounds_exp, out, views=["progress"])
    assert sorted(p.name for p in out.glob("*.png")) == ["progress.png"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    # user folders: tests/test_output.py


class Boom(Exception):
    pass


def test_atomic_html_old_report_intact_when_writing_fails(tmp_path, small):
    path = tmp_path / "r.html"
    path.write_text("old report")

    def fail_midway(label, done, total):
        if done == 3:
            raise Boom("interrupted")

    with pytest.raises(Boom):
        hpviz.report(small, path, progress=fail_midway)
    assert path.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_atomic_directory_intact_when_writing_fails(tmp_path, small):
    out = hpviz.report(small, tmp_path / "pngs", views=["progress", "tendrils"])
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def fail_midway(label, done, total):
        if done == 1:
            raise Boom("interrupted")

    with pytest.raises(Boom):
        hpviz.report(small, out, progress=fail_midway)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pngs"]


def test_progress_callback_counts_views(tmp_path, small):
    calls = []
    hpviz.report(small, tmp_path / "r.html", progress=lambda *a: calls.append(a), views=["progress", "parallel"])
    assert [c[1:] for c in calls] == [(0, 2), (1, 2), (2, 2)]


def test_failing_view_becomes_a_note(tmp_path, small, monkeypatch, caplog):
    import hpviz.reporting as report_module

    class Broken(hpviz.plot.ParallelDisplay):
        def _draw(self, ax):
            raise RuntimeError("drawing exploded")

    displays = tuple(Broken if d.key == "parallel" else d for d in hpviz.plot.DISPLAYS)
    monkeypatch.setattr(report_module, "_displays", lambda: displays)
    with caplog.at_level(logging.WARNING, logger="hpviz.reporting"):
        out = hpviz.report(small, tmp_path / "r.html")
    text = out.read_text()
    assert "this view failed: RuntimeError: drawing exploded" in text
    assert "parallel" not in drawn(out) and "progress" in drawn(out)
    assert any("parallel" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_insufficient_data_is_a_note(tmp_path, small):
    out = hpviz.report(small, tmp_path / "r.html", views=["importance", "progress"])
    text = out.read_text()
    assert "not enough data:" in text
    assert drawn(out) == {"progress"}


def test_missing_analysis_is_skipped_with_a_note(tmp_path, small, monkeypatch):
    monkeypatch.delitem(vars(hpviz), "expected_best", raising=False)  # the lazily imported function
    monkeypatch.setitem(sys.modules, "hpviz.analysis.budget", None)
    out = hpviz.report(small, tmp_path / "r.html", views=["expected_best", "progress"])
    assert "analysis expected_best is not available" in out.read_text()
    assert drawn(out) == {"progress"}


@pytest.mark.parametrize("make", [lambda: make_experiment(1, log_steps=3), lambda: make_experiment(6, fail_rate=1.0),
                                  lambda: make_experiment(0)], ids=["one", "all-failed", "empty"])
def test_degenerate_experiments_still_report(tmp_path, make):
    out = hpviz.report(make(), tmp_path / "r.html", n_trees=8)
    html = parse(out)
    assert {"progress", "tendrils", "parallel"} <= drawn(out)
    assert len(html.images) == len(drawn(out))


def test_bad_options_are_clear_errors(tmp_path, small):
    with pytest.raises(SchemaError, match="html"):
        hpviz.report(small, tmp_path / "r.docx")
    with pytest.raises(SchemaError, match="unknown"):
        hpviz.report(small, tmp_path / "r.html", views=["nope"])
    with pytest.raises(SchemaError, match="top_k"):
        hpviz.report(small, tmp_path / "r.html", top_k=0)
    with pytest.raises(SchemaError, match="objective"):
        hpviz.report(small, tmp_path / "r.html", objective="accuracy")
    assert not list(tmp_path.iterdir())


def test_report_is_the_function_and_its_module_is_reporting(tmp_path, small):
    import hpviz.reporting

    assert hpviz.report is hpviz.reporting.report and not isinstance(hpviz.report, type(hpviz))
    assert hpviz.report.OPTIONS == hpviz.reporting.OPTIONS
    assert hpviz.report(small, tmp_path / "r.html", views=["progress"]).exists()


def test_cli_report_from_saved_json(tmp_path, small):
    from hpviz.cli import main

    saved = small.save(tmp_path / "exp.json")
    assert main(["report", str(saved), "-o", str(tmp_path / "cli.html"), "--quiet"]) == 0
    assert "progress" in drawn(tmp_path / "cli.html")


def test_real_optuna_study(tmp_path):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial):
        x = trial.suggest_float("x", -3, 3)
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        for step in range(4):
            trial.report(x * x + 1.0 / (step + 1), step)
        return x * x + abs(math.log10(lr) + 2)

    study.optimize(objective, n_trials=14)
    out = hpviz.report(study, tmp_path / "optuna.html", n_trees=8)
    keys = drawn(out)
    assert {"progress", "tendrils", "parallel", "curves", "importance"} <= keys
    if "suggestions" in keys:
        assert "trial.suggest_float" in out.read_text()


def test_real_hyperopt_run(tmp_path):
    pytest.importorskip("hyperopt")
    from hyperopt import Trials, fmin, hp, tpe

    space = {"x": hp.uniform("x", -3, 3), "act": hp.choice("act", ["relu", "tanh"])}
    trials = Trials()
    fmin(lambda p: p["x"] ** 2 + (p["act"] == "tanh"), space, tpe.suggest, 12, trials=trials,
         rstate=np.random.default_rng(0), show_progressbar=False)
    out = hpviz.report(trials, tmp_path / "hyperopt.pdf", space=space, n_trees=8)
    assert pdf_pages(out.read_bytes()) >= 5


def _ray_trainable(config):
    from ray import tune

    for step in range(1, 4):
        tune.report({"loss": (config["x"] - 1.0) ** 2 + 1.0 / step})


def test_real_ray_tune_run(tmp_path, ray_session):
    from ray import cloudpickle, tune
    from ray.tune.search import BasicVariantGenerator

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    tuner = tune.Tuner(
        _ray_trainable,
        param_space={"x": tune.uniform(-3.0, 3.0), "act": tune.choice(["relu", "tanh"])},
        tune_config=tune.TuneConfig(num_samples=6, metric="loss", mode="min",
                                    search_alg=BasicVariantGenerator(random_state=0), reuse_actors=True),
        run_config=tune.RunConfig(name="report", storage_path=str(tmp_path), verbose=0),
    )
    grid = tuner.fit()
    out = hpviz.report(grid, tmp_path / "ray.html", n_trees=8)
    keys = drawn(out)
    assert {"progress", "tendrils", "parallel", "curves"} <= keys
    assert "ray" in out.read_text().lower()


def test_unknown_report_option_is_a_type_error(tmp_path, small):
    with pytest.raises(TypeError, match="'format'.*allowed: .*max_params"):
        hpviz.report(small, tmp_path / "r.html", format="pdf")
    path = small.save(tmp_path / "exp.json")
    with pytest.raises(TypeError, match="'topk'"):
        hpviz.report(str(path), tmp_path / "r.html", topk=3)
    assert not (tmp_path / "r.html").exists()


def test_text_panels_are_html_text(tmp_path):
    exp = make_experiment(40, fail_rate=0.5, seed=4)
    out = hpviz.report(exp, tmp_path / "r.html", views=["findings", "suggestions", "progress"], n_trees=4)
    text = out.read_text()
    assert drawn(out) == {"progress"}  # findings and suggestions are text, not images
    diag = hpviz.diagnose(exp)
    for f in diag.findings:
        assert f"<code>{f.code}</code>" in text
    assert "hpviz.SearchSpace(" in text and "<pre><code>" in text
    # the PNG folder keeps an image of each text panel (and the PDF a page)
    folder = hpviz.report(exp, tmp_path / "pngs", views=["findings", "suggestions"], n_trees=4)
    assert {"findings.png", "suggestions.png"} <= {p.name for p in folder.iterdir()}


HOSTILE = ["lr_$x$", "a$b", "\\frac{", "y" * 150, "שלום_עולם", "two\nlines", "emoji_🚀",
           '"><script>alert(1)</script>']


@pytest.mark.filterwarnings("error::UserWarning")  # no per-glyph warning for an emoji
def test_hostile_names_render_everywhere_and_are_escaped(tmp_path):
    from hpviz import Categorical, SearchSpace

    space = SearchSpace({name: Float(0.0, 1.0) for name in HOSTILE[:-1]} |
                        {HOSTILE[-1]: Categorical(["$5", "\\alpha", "<b>"])})

    def fn(p):
        return sum(v for v in p.values() if isinstance(v, float))

    exp = make_experiment(40, space, fn, seed=3, objective="loss_$y$", name='study $1 \\frac{ <img src=x onerror=alert(1)>')
    for target in ("r.html", "r.pdf", "pngs"):
        out = hpviz.report(exp, tmp_path / target, n_trees=4)
        assert out.exists()
    text = (tmp_path / "r.html").read_text()
    assert "this view failed" not in text
    html = parse(tmp_path / "r.html")
    assert html.scripts == 0 and "<script>alert" not in text and "<img src=x" not in text
    assert "&lt;script&gt;" in text and "y" * 150 in text  # the full name in the table
    assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"
    assert {"progress.png", "parallel.png", "tendrils.png"} <= {p.name for p in (tmp_path / "pngs").iterdir()}


def test_suggestions_show_the_framework_adapters_native_code(tmp_path):
    pytest.importorskip("optuna")
    pytest.importorskip("hpviz_optuna")
    exp = make_experiment(60, seed=2)
    exp.framework = "optuna"  # what the Optuna adapter sets on converted studies
    out = hpviz.report(exp, tmp_path / "r.html", views=["suggestions"], n_trees=4)
    text = out.read_text()
    assert "trial.suggest_float(" in text and "hpviz.SearchSpace(" not in text
    exp.framework = None  # no framework: hpviz's own space
    text = hpviz.report(exp, tmp_path / "r2.html", views=["suggestions"], n_trees=4).read_text()
    assert "hpviz.SearchSpace(" in text


def test_report_options_list_matches_the_signature():
    import inspect

    import hpviz.reporting as report_module
    params = inspect.signature(report_module.report).parameters.values()
    keywords = {p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert set(hpviz.report.OPTIONS) == keywords == set(report_module.OPTIONS)


def test_report_reuses_its_importance_in_budget_and_local_importance_with_the_same_results():
    """The report fits the global forest once: the budget view's last level and the local view's global
    importance are the report's importance, and both results equal the public functions' own."""
    import pandas as pd

    from hpviz import reporting

    exp = make_experiment(240, log_steps=20, prune_rate=0.3, seed=3)
    ctx = reporting._Context(exp, "value", n_trees=8, seed=1)
    imp = ctx.analysis("importance")
    budget = ctx.analysis("budget_importance")
    assert len(budget.levels) >= 2 and budget.highest is imp  # reused, not refitted
    assert all(budget.at(b) is not imp for b in budget.levels[:-1])  # lower levels have other trials
    own = hpviz.budget_importance(exp, n_trees=8, seed=1)
    pd.testing.assert_frame_equal(budget.to_dataframe(), own.to_dataframe())
    local = ctx.analysis("local_importance")
    assert local.global_ is imp
    pd.testing.assert_frame_equal(local.to_dataframe(), hpviz.local_importance(exp, n_trees=8, seed=1).to_dataframe())


def test_budget_importance_refits_a_level_whose_trials_differ_from_the_known_importance():
    from hpviz.analysis.rungs import _budget_importance

    exp = make_experiment(240, log_steps=20, prune_rate=0.3, seed=3)
    other = hpviz.importance(make_experiment(240, seed=4), n_trees=8, seed=1)  # another run's trials
    found = _budget_importance(exp, "value", None, 8, 1, known=other)
    assert all(found.at(b) is not other for b in found.levels)
    shifted = hpviz.importance(exp, n_trees=8, seed=2)  # other forest settings
    assert _budget_importance(exp, "value", None, 8, 1, known=shifted).highest is not shifted


def test_html_report_draws_no_image_for_text_panels_but_the_folder_report_does(tmp_path):
    from hpviz import reporting

    exp = make_experiment(40, seed=2)
    ctx = reporting._Context(exp, "value", n_trees=4)
    html_views = {r.key: r for r in reporting._render_all(ctx, keep_figures=False, dpi=50, views=["findings"],
                                                         progress=None, panels=True)}
    assert html_views["findings"].html and html_views["findings"].png is None  # the HTML shows the panel
    hpviz.report(exp, tmp_path / "out", views=["findings"], n_trees=4)
    assert Image.open(tmp_path / "out" / "findings.png").size[0] > 100  # a folder of PNGs still has it


# --------------------------------------------------------------------------- the forked report


@pytest.fixture(scope="module")
def medium():
    return make_experiment(60, log_steps=6, prune_rate=0.2, seed=3)


def _pngs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.glob("*.png")}


def _in_workers(monkeypatch, tmp_path, worker):
    """Wrap each analysis and view: this process runs them as usual, a forked worker runs ``worker`` (and
    the pid of every process that ran one is logged)."""
    import os

    import hpviz.reporting as rep

    parent, log = os.getpid(), tmp_path / "pids"
    analysis, render_one = rep._Context.analysis, rep._render_one

    def wrap(real):
        def run(*args, **kwargs):
            with open(log, "a") as f:
                f.write(f"{os.getpid()}\n")
            return real(*args, **kwargs) if os.getpid() == parent else worker(real, *args, **kwargs)

        return run

    monkeypatch.setattr(rep._Context, "analysis", wrap(analysis))
    monkeypatch.setattr(rep, "_render_one", wrap(render_one))
    monkeypatch.setattr(rep, "_render_workers", lambda n: 2)  # forked even on a one-core runner
    return lambda: {int(p) for p in log.read_text().split()}


def test_forked_report_draws_what_the_serial_one_draws_in_both_processes(tmp_path, medium, monkeypatch):
    import os

    import hpviz.reporting as rep

    pids = _in_workers(monkeypatch, tmp_path, lambda real, *a, **k: real(*a, **k))
    forked = _pngs(hpviz.report(medium, tmp_path / "forked", n_trees=8))
    assert os.getpid() in pids() and len(pids()) == 2  # this process computed (the importance) and a worker did
    monkeypatch.setattr(rep, "_render_workers", lambda n: 1)
    serial = _pngs(hpviz.report(medium, tmp_path / "serial", n_trees=8))
    assert len(serial) >= 10 and forked == serial


def test_forked_report_collects_garbage_less_often_and_restores_the_settings(tmp_path, medium, monkeypatch):
    import gc

    import hpviz.reporting as rep

    seen = tmp_path / "thresholds"

    def worker(real, *args, **kwargs):
        with open(seen, "a") as f:
            f.write(f"{gc.get_threshold()}\n")
        return real(*args, **kwargs)

    pids = _in_workers(monkeypatch, tmp_path, worker)
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    hpviz.report(medium, tmp_path / "r", n_trees=8)
    assert len(pids()) == 2 and set(seen.read_text().split("\n")) - {""} == {str(rep._REPORT_GC_THRESHOLDS)}
    assert gc.get_threshold() == before != rep._REPORT_GC_THRESHOLDS and gc.get_freeze_count() == frozen


def test_forked_report_survives_a_dying_worker(tmp_path, medium, monkeypatch):
    import os

    def die(real, *args, **kwargs):
        os._exit(3)

    pids = _in_workers(monkeypatch, tmp_path, die)
    out = hpviz.report(medium, tmp_path / "r.html", n_trees=8)
    assert len(pids()) == 2  # a worker took a task and died with it; this process did everything
    assert {"progress", "importance", "marginals", "tendrils", "parallel", "curves"} <= drawn(out)
    assert "this view failed" not in out.read_text()


def test_forked_report_redoes_what_does_not_pickle(tmp_path, medium, monkeypatch):
    import hpviz.reporting as rep

    def unpicklable(real, *args, **kwargs):
        out = real(*args, **kwargs)
        if isinstance(out, rep._Rendered):
            out.figure = lambda: None
            return out
        return lambda: out

    pids = _in_workers(monkeypatch, tmp_path, unpicklable)
    forked = _pngs(hpviz.report(medium, tmp_path / "forked", n_trees=8))
    assert len(pids()) == 2
    monkeypatch.setattr(rep, "_render_workers", lambda n: 1)
    assert forked == _pngs(hpviz.report(medium, tmp_path / "serial", n_trees=8))


@pytest.mark.parametrize("view", ["progress", "tendrils", "curves", "expected_best"])  # constrained and fixed layouts
def test_report_png_has_the_pixels_of_savefig(medium, view):
    import hpviz.reporting as rep
    from hpviz.plot._common import style

    def figure():
        return getattr(hpviz.plot, view)(medium).figure_

    buf = io.BytesIO()
    with style():
        figure().savefig(buf, format="png", dpi=90)
    ours = rep._png(figure(), 90, style)
    expected = np.asarray(Image.open(buf).convert("RGB"))
    assert expected.shape[1] == round(figure().get_figwidth() * 90)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(ours)).convert("RGB")), expected)


@pytest.mark.parametrize("offset", ["+3e7", "1e-7+9.5e-1"])
@pytest.mark.parametrize("view", ["progress", "curves", "marginals", "expected_best"])
def test_report_png_keeps_titles_clear_of_an_offset_text(view, offset):
    """The report fixes titles in place (Matplotlib's placement measures every tick label again per title),
    except over a y axis with an offset text ("+3e7" above it), which a title is raised above: the pixels
    of savefig either way."""
    import hpviz.reporting as rep
    from hpviz.plot._common import style

    space = hpviz.SearchSpace({"x": hpviz.Float(0, 1), "y": hpviz.Float(0, 1)})
    fn = ((lambda p: 3e7 + 1e3 * (p["x"] - 0.3) ** 2 + 100 * p["y"]) if offset == "+3e7"
          else (lambda p: 0.95 + 1e-6 * (p["x"] - 0.3) ** 2))
    exp = make_experiment(120, space, fn, log_steps=6, seed=1)

    def figure():
        return getattr(hpviz.plot, view)(exp).figure_

    buf = io.BytesIO()
    with style():
        figure().savefig(buf, format="png", dpi=80)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = figure()
    with style():
        fig.set_dpi(80)
        fixed = rep._fix_titles(fig)
        FigureCanvasAgg(fig).draw()
    shown = {ax for ax in fig.axes if ax.yaxis.offsetText.get_text()}
    assert shown or view == "curves"  # curves: the +3e7 is a 1e7 on its own above the curves
    assert set(fixed) == set(fig.axes) - shown  # the titles over an offset text keep their placement
    ours = rep._png(figure(), 80, style)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(ours)).convert("RGB")),
                          np.asarray(Image.open(buf).convert("RGB")))


def test_report_png_redraws_when_an_offset_text_was_not_foreseen(monkeypatch):
    """Should the offset text read before the layout miss one the draw shows, the figure is laid out again
    from where it started and redrawn with the usual placement: still the pixels of savefig."""
    import hpviz.reporting as rep
    from hpviz.plot._common import style

    space = hpviz.SearchSpace({"x": hpviz.Float(0, 1), "y": hpviz.Float(0, 1)})
    exp = make_experiment(120, space, lambda p: 3e7 + 1e3 * (p["x"] - 0.3) ** 2 + 100 * p["y"], log_steps=6, seed=1)
    buf = io.BytesIO()
    with style():
        hpviz.plot.progress(exp).figure_.savefig(buf, format="png", dpi=80)
    seen = rep._offset_shown
    redrawn = []
    monkeypatch.setattr(rep, "_offset_shown", lambda ax, predict=False: False if predict else redrawn.append(ax)
                        or seen(ax))
    ours = rep._png(hpviz.plot.progress(exp).figure_, 80, style)
    assert len(redrawn) == 2  # both panels checked after the draw
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(ours)).convert("RGB")),
                          np.asarray(Image.open(buf).convert("RGB")))
