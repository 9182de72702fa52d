"""Every view draws for small, large, degenerate and multi-round experiments, with titles and labels."""

from __future__ import annotations

import io
import math
import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

import hpviz
import hpviz.plot
from hpviz import Categorical, Experiment, Float, Int, SearchSpace, Trial, TrialState
from hpviz.testing import make_experiment


def big_space(p: int = 40) -> SearchSpace:
    kinds = [lambda: Float(-5.0, 5.0), lambda: Float(1e-5, 1e-1, log=True), lambda: Int(8, 512, log=True),
             lambda: Categorical(["relu", "tanh", "gelu", "swish"])]
    names = ["x", "lr", "units", "act"]
    return SearchSpace({f"{names[i % 4]}{i}": kinds[i % 4]() for i in range(p)})


def big_fn(p: dict) -> float:
    return (p["x0"] - 1) ** 2 + 0.5 * (math.log10(p["lr1"]) + 3) ** 2 + (0.0 if p["act3"] == "relu" else 0.4)


@pytest.fixture(scope="module")
def small() -> Experiment:
    return make_experiment(5, log_steps=10, prune_rate=0.3, seed=3)


@pytest.fixture(scope="module")
def large() -> Experiment:
    return make_experiment(5000, big_space(), big_fn, log_steps=12, prune_rate=0.1, fail_rate=0.05, seed=2)


@pytest.fixture(scope="module")
def medium_importance():
    exp = make_experiment(400, big_space(), big_fn, seed=5)
    return exp, hpviz.importance(exp, n_trees=4, seed=0)


def one_trial() -> Experiment:
    return make_experiment(1, log_steps=5)


def all_failed() -> Experiment:
    return make_experiment(6, fail_rate=1.0)


def figure_of(obj) -> Figure:
    if isinstance(obj, hpviz.plot.Display):
        return obj.figure_
    return obj if isinstance(obj, Figure) else obj.figure


def assert_labelled(obj) -> None:
    """A title (suptitle or an Axes title) and x/y labels on at least one Axes."""
    fig = figure_of(obj)
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    titles = [ax.get_title(loc) for ax in axes for loc in ("left", "center")]
    assert any(titles) or (fig._suptitle is not None and fig._suptitle.get_text())
    assert any(ax.get_xlabel() for ax in axes)
    assert any(ax.get_ylabel() for ax in axes)


def render(obj) -> bytes:
    buf = io.BytesIO()
    figure_of(obj).savefig(buf, format="png", dpi=40)
    data = buf.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    return data


def texts(obj) -> str:
    fig = figure_of(obj)
    parts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    return "\n".join(parts)


EXPERIMENT_VIEWS = ["progress", "tendrils", "parallel", "curves"]


@pytest.mark.parametrize("view", EXPERIMENT_VIEWS)
def test_experiment_views_small(view, small):
    out = getattr(hpviz.plot, view)(small)
    assert_labelled(out)
    render(out)


@pytest.mark.parametrize("view", EXPERIMENT_VIEWS)
def test_experiment_views_large_are_capped_and_say_so(view, large):
    out = getattr(hpviz.plot, view)(large)
    assert_labelled(out)
    render(out)
    words = texts(out)
    if view in ("tendrils", "parallel"):
        assert "of 40 parameters" in words
        assert "of 5000 trials" in words
    if view == "curves":
        assert "of 5000 curves" in words


@pytest.mark.parametrize("view", EXPERIMENT_VIEWS)
@pytest.mark.parametrize("make", [one_trial, all_failed, lambda: make_experiment(0)], ids=["one", "failed", "empty"])
def test_experiment_views_degenerate(view, make):
    exp = make()
    out = getattr(hpviz.plot, view)(exp)
    assert_labelled(out)
    render(out)


def test_one_trial_says_what_it_cannot_show():
    words = texts(hpviz.plot.progress(one_trial()))
    assert "1 trial" in words


def test_all_failed_progress_marks_failures():
    out = hpviz.plot.progress(all_failed())
    assert "failed, no value (6)" in texts(out)
    assert "only failures" in texts(out)


def test_views_draw_on_given_axes(small):
    for view in ("progress", "tendrils", "parallel", "curves", "rounds"):
        fig = Figure()
        ax = fig.add_subplot()
        display = getattr(hpviz.plot, view)(small, ax=ax)
        assert display.ax_ is ax and display.figure_ is fig
        assert ax.get_title(loc="left")


def test_log_and_categorical_axes(small):
    fig = hpviz.plot.tendrils(small).figure_
    panels = {ax.get_title(loc="left"): ax for ax in fig.axes if ax.get_title(loc="left")}
    assert panels["lr"].get_yscale() == "log" and panels["units"].get_yscale() == "log"
    assert panels["x"].get_yscale() == "linear"
    assert [t.get_text() for t in panels["act"].get_yticklabels()] == ["relu", "tanh", "gelu"]


def test_progress_best_line_is_the_running_minimum(small):
    ax = hpviz.plot.progress(small, ax=Figure().add_subplot()).ax_
    line = [ln for ln in ax.get_lines() if ln.get_label().startswith("best so far")][0]
    done = small.completed()
    expected = np.minimum.accumulate([t.values["value"] for t in done])
    ys = line.get_ydata()[: len(done)]
    assert np.allclose(ys, expected)


def test_parallel_highlights_the_best_trials(large):
    display = hpviz.plot.parallel(large, top_k=5)
    ax = display.ax_
    tops = [c for c in ax.collections if c.get_label() == "top 5"]
    assert tops == [display.top_]
    # the highlighted lines end (objective axis) at the five best values, mapped best -> top
    ends = sorted(seg[-1][1] for seg in tops[0].get_segments())
    assert len(ends) == 5 and min(ends) > 0.9


def _texts_inside(fig: Figure) -> list[str]:
    """The visible texts of a figure whose drawn box leaves the canvas (empty when all fit)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # hpviz builds bare Figures; Agg gives them a renderer to measure with
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.canvas.get_width_height()
    out = []
    for ax in fig.axes:
        for text in [*ax.get_xticklabels(), *ax.texts, ax.title, ax._left_title, ax._right_title]:
            if not text.get_visible() or not text.get_text():
                continue
            box = text.get_window_extent(renderer)
            if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1:
                out.append(text.get_text())
    return out


@pytest.mark.parametrize("n_params", [4, 8])
def test_parallel_long_names_stay_inside_the_figure(n_params):
    long = ["optimizer.learning_rate_init_value", "model.encoder.num_hidden_layers",
            "train_loop_config/batch_size_per_worker", "config.regularization.weight_decay"]
    params = {}
    for i in range(n_params):
        name = long[i % 4] + ("" if i < 4 else f"_{i}")
        params[name] = (Float(1e-5, 1.0, log=True) if i % 4 == 0 else Int(1, 12) if i % 4 == 1
                        else Categorical([16, 32, 64]) if i % 4 == 2 else Float(0.0, 0.1))
    exp = make_experiment(40, SearchSpace(params), lambda p: float(sum(len(str(v)) for v in p.values())), seed=4)
    ax = hpviz.plot.parallel(exp).ax_
    assert _texts_inside(ax.figure) == []
    # the first axis's top and bottom labels do not run into each other or the names under the plot
    renderer = ax.figure.canvas.get_renderer()
    first = [t for t in ax.texts if abs(t.get_position()[0] - 0.03) < 1e-9]
    names = ax.get_xticklabels()
    boxes = [t.get_window_extent(renderer) for t in first]
    for i, b in enumerate(boxes):
        assert not b.overlaps(names[0].get_window_extent(renderer))
        assert all(not b.overlaps(o) for o in boxes[i + 1:])


def test_parallel_axis_ends_show_declared_bounds_across_rounds():
    space = SearchSpace({"lr": Float(1e-5, 1.0, log=True), "x": Float(-5.0, 5.0)})
    exp = make_experiment(30, space, lambda p: p["x"] ** 2, seed=5)
    exp.next_round(SearchSpace({"lr": Float(1e-4, 1e-2, log=True), "x": Float(-1.0, 1.0)}))
    rng = np.random.default_rng(1)
    for i in range(30, 40):
        x = float(rng.uniform(-1, 1))
        exp.add(Trial(i, {"lr": 1e-3, "x": x}, {"value": x ** 2}, round=1))
    ax = hpviz.plot.parallel(exp).ax_
    by_axis: dict[int, list[str]] = {}
    for t in ax.texts:
        x, y = t.get_position()
        if y in (0.0, 1.0):
            by_axis.setdefault(round(x), []).append(t.get_text())
    # the union of both rounds' declared ranges, not the sampled extremes (0.989) nor round 2's range
    assert sorted(by_axis[0]) == sorted(["1e-05", "1"])
    assert sorted(by_axis[1]) == sorted(["-5", "5"])


def test_rounds_view():
    exp = make_experiment(30, seed=1)
    exp.next_round(exp.space.replace(x=Float(-1.0, 3.0)))
    rng = np.random.default_rng(0)
    for i in range(30, 50):
        x = float(rng.uniform(-1, 3))
        exp.add(Trial(i, {"x": x, "lr": 1e-3, "units": 32, "act": "relu"}, {"value": (x - 1) ** 2}, round=1))
    fig = hpviz.plot.rounds(exp)
    assert_labelled(fig)
    words = texts(fig)
    assert "round 1" in words and "round 2" in words
    render(fig)


def test_importance_and_marginals(medium_importance):
    exp, imp = medium_importance
    fig = hpviz.plot.importance(imp).figure_
    assert_labelled(fig)
    words = texts(fig)
    assert "unexplained" in words and "other params" in words  # 40 params capped at 15 bars
    render(fig)
    fig = hpviz.plot.marginals(imp, experiment=exp).figure_
    assert_labelled(fig)
    assert "showing 6 of 40 parameters" in texts(fig)
    log_panels = [ax for ax in fig.axes if ax.get_xlabel().endswith("(log scale)")]
    assert all(ax.get_xscale() == "log" for ax in log_panels)
    render(fig)
    # the first panel is the most important parameter
    top = imp.individual.index[0]
    assert fig.axes[0].get_title(loc="left").startswith(top)


def test_importance_bars_data(medium_importance):
    from hpviz.plot._importance import importance_bars, unexplained_share

    _, imp = medium_importance
    bars = importance_bars(imp, max_params=5)
    assert bars.kinds == ["param"] * 5 + ["others", "pairs", "unexplained"]
    assert bars.labels[:5] == list(imp.individual.index[:5])
    assert bars.values[5] == pytest.approx(imp.individual.iloc[5:].sum())
    # the bars account for all the variance: parameters + the rest + pairs + unexplained = 1
    assert sum(bars.values) == pytest.approx(1.0) or unexplained_share(imp) == 0.0
    assert bars.values[-1] == pytest.approx(unexplained_share(imp))


def test_importance_bars_match_result(medium_importance):
    _, imp = medium_importance
    display = hpviz.plot.importance(imp, ax=Figure().add_subplot(), max_params=5)
    widths = [p.get_width() for p in display.bars_][:5]
    assert np.allclose(widths, imp.individual.iloc[:5].to_numpy())


def test_expected_best_and_compare():
    a = make_experiment(40, seed=1, name="A")
    b = make_experiment(25, seed=2, name="B")
    eb = hpviz.expected_best(a)
    display = hpviz.plot.expected_best(eb)
    ax = display.ax_
    assert_labelled(ax)
    assert np.allclose(display.lines_[0].get_ydata(), eb.mean)
    render(ax)
    ax = hpviz.plot.compare(hpviz.compare(a, b)).ax_
    assert_labelled(ax)
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert "A" in labels and "B" in labels
    render(ax)


def test_pareto_front_view():
    # known front: (1, 4), (2, 2), (4, 1) non-dominated; (3, 3) and (4, 4) dominated
    pts = [(1, 4), (2, 2), (4, 1), (3, 3), (4, 4)]
    exp = Experiment({"x": Float(0, 1)}, {"err": "min", "cost": "min"})
    for i, (e, c) in enumerate(pts):
        exp.add(Trial(i, {"x": i / 10}, {"err": e, "cost": c}))
    display = hpviz.plot.pareto(hpviz.pareto_front(exp))
    ax = display.ax_
    assert_labelled(ax)
    front = display.front_
    assert sorted(map(tuple, front.get_offsets().tolist())) == [(1, 4), (2, 2), (4, 1)]
    render(ax)


def test_findings_panel_shows_every_finding():
    exp = make_experiment(40, fail_rate=0.5, seed=4)
    diag = hpviz.diagnose(exp)
    fig = hpviz.plot.findings(diag)
    words = texts(fig)
    assert diag.findings, "a 50% failure rate should be diagnosed"
    for f in diag.findings:
        assert f.code in words and f.severity.upper() in words
    render(fig)


SPACE = SearchSpace({
    "lr": Float(1e-4, 1e-1, log=True),
    "x": Float(-2.0, 2.0),
    "q": Float(0.0, 1.0, step=0.25),
    "units": Int(8, 64, log=True),
    "layers": Int(1, 4),
    "act": Categorical(["relu", "tanh", None]),
})


def check_values(values: dict) -> None:
    assert set(values) == set(SPACE)
    for name, param in SPACE.items():
        assert param.contains(values[name]), (name, values[name])


def test_space_code_without_adapter_is_hpviz_code():
    ns: dict = {}
    exec(compile(hpviz.plot.space_code(SPACE, None), "<hpviz>", "exec"), ns)
    assert ns["space"] == SPACE
    # a framework no installed adapter writes code for: hpviz's own space, which still runs
    ns = {}
    exec(compile(hpviz.plot.space_code(SPACE, "no-such-framework"), "<hpviz>", "exec"), ns)
    assert ns["space"] == SPACE


def test_space_code_comes_from_the_framework_adapter():
    import pluggy

    from hpviz import hookspecs

    class Plugin:
        @hpviz.hookimpl
        def hpviz_space_code(self, space, framework, experiment):
            return f"# {framework}: {len(space)} params, from {experiment.name}" if framework == "acme" else None

    pm = pluggy.PluginManager("hpviz")
    pm.add_hookspecs(hookspecs)
    pm.register(Plugin())
    exp = make_experiment(3, name="run-7")
    assert hpviz.plot.space_code(SPACE, "acme", exp, plugin_manager=pm) == "# acme: 6 params, from run-7"
    assert "hpviz.SearchSpace" in hpviz.plot.space_code(SPACE, "other", exp, plugin_manager=pm)


def test_no_global_matplotlib_state_change(small):
    before = dict(matplotlib.rcParams)
    backend = matplotlib.get_backend()
    for view in EXPERIMENT_VIEWS:
        getattr(hpviz.plot, view)(small)
    assert dict(matplotlib.rcParams) == before
    assert matplotlib.get_backend() == backend


def test_report_never_imports_pyplot(tmp_path):
    # pyplot would register figures globally and may pick an interactive backend
    code = ("import sys, hpviz, hpviz.plot; from hpviz.testing import make_experiment; "
            f"hpviz.report(make_experiment(12, log_steps=3), {str(tmp_path / 'r.html')!r}, n_trees=4); "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]


def test_plot_accepts_saved_experiment(tmp_path, small):
    path = small.save(tmp_path / "exp.json")
    assert_labelled(hpviz.plot.progress(str(path)))


def test_inactive_params_and_out_of_space_values_do_not_break_views():
    space = SearchSpace({"a": Float(0, 1), "b": Categorical(["u", "v"]), "c": Float(1e-3, 1, log=True)})
    exp = Experiment(space, {"loss": "max"})
    exp.add(Trial(0, {"a": 0.5, "b": "u"}, {"loss": 1.0}))  # c inactive
    exp.add(Trial(1, {"a": 3.0, "b": "w", "c": 0.1}, {"loss": 2.0}))  # out of space
    exp.add(Trial(2, {"a": 0.1, "b": "v", "c": 0.5}, {"loss": float("nan")}))
    exp.add(Trial(3, {"a": 0.2, "c": 0.01}, {}, TrialState.RUNNING))
    for view in EXPERIMENT_VIEWS:
        render(getattr(hpviz.plot, view)(exp))


# --------------------------------------------------------------------------- the Display protocol


def test_display_protocol(small):
    from_exp = hpviz.plot.ImportanceDisplay  # a result-drawing view
    exp = make_experiment(60, seed=1)
    imp = hpviz.importance(exp, n_trees=4, seed=0)
    d = from_exp.from_result(imp)
    assert d.result is imp and isinstance(d.figure_, Figure) and len(d.ax_) == 2  # bars + heat map
    assert d.plot(ax=Figure().add_subplot()) is d and d.ax_.get_title(loc="left").startswith("Individual")
    # from_experiment computes the same result the caller could have passed
    d2 = from_exp.from_experiment(exp, n_trees=4, seed=0)
    assert list(d2.result.individual.index) == list(imp.individual.index)
    png = d._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # every view is a Display with a report key and the shortcut returns it
    assert {c.key for c in hpviz.plot.DISPLAYS} >= {"progress", "findings", "suggestions", "pareto", "rounds"}
    assert isinstance(hpviz.plot.progress(small), hpviz.plot.ProgressDisplay)


@pytest.mark.parametrize("call", [
    lambda e: hpviz.plot.progress(e, colour="red"),
    lambda e: hpviz.plot.tendrils(e, max_param=3),
    lambda e: hpviz.plot.ParallelDisplay.from_experiment(e, topk=3),
    lambda e: hpviz.plot.parallel(e).plot(max_line=3),
])
def test_unknown_options_are_type_errors_listing_allowed(call, small):
    with pytest.raises(TypeError, match="unexpected keyword argument .*; allowed: .*objective"):
        call(small)


def test_modules_are_private_and_shortcuts_are_functions():
    import importlib

    for name in ("progress", "tendrils", "parallel", "curves", "importance", "marginals", "pareto", "rounds"):
        assert callable(getattr(hpviz.plot, name))
        mod = importlib.import_module(f"hpviz.plot._{name}")
        assert mod.__doc__ and getattr(mod, name) is getattr(hpviz.plot, name)


def test_progress_draws_the_diagnosis_best_so_far(small):
    diag = hpviz.diagnose(small)
    d = hpviz.plot.progress(small, diagnosis=diag)
    assert d.result is diag
    trials_line = d.lines_[0]
    expected = diag.best_so_far.dropna()
    assert np.allclose(trials_line.get_ydata()[:len(expected)], expected.to_numpy())


# --------------------------------------------------------------------------- feasibility


def with_infeasible() -> Experiment:
    exp = make_experiment(60, seed=8)
    # the best trials violate a constraint: they are kept, drawn distinctly, never "best"
    order = sorted(exp.trials, key=lambda t: t.values.get("value", math.inf))
    bad = {t.number for t in order[:5]}
    out = Experiment(exp.space, exp.objectives, name="constrained")
    for t in exp.trials:
        out.add(Trial(t.number, t.params, t.values, t.state, feasible=t.number not in bad,
                      started=t.started, finished=t.finished))
    return out


def test_infeasible_trials_are_marked_and_never_best():
    exp = with_infeasible()
    infeasible = {t.number for t in exp.trials if not t.feasible}
    from hpviz._columns import trial_columns

    a = trial_columns(exp)
    assert a.numbers[a.best_index()] not in infeasible
    assert not set(a.numbers[a.top_indices(10)]) & infeasible
    words = texts(hpviz.plot.progress(exp, diagnosis=hpviz.diagnose(exp)))
    assert "infeasible (5)" in words
    d = hpviz.plot.parallel(exp, top_k=5)
    ends = {tuple(seg[-1]) for seg in d.top_.get_segments()}
    assert len(ends) == 5
    assert any(c.get_label() == "infeasible (5)" for c in d.ax_.collections)
    assert "hollow = infeasible" in texts(hpviz.plot.tendrils(exp))


# --------------------------------------------------------------------------- conditional parameters


def conditional() -> Experiment:
    space = SearchSpace({"model": Categorical(["svm", "tree"]), "C": Float(1e-3, 1e3, log=True),
                         "depth": Int(1, 10), "ghost": Float(0, 1)})
    exp = Experiment(space, {"loss": "min"})
    rng = np.random.default_rng(0)
    for i in range(40):
        p = {"model": "svm" if i % 2 else "tree"}
        if p["model"] == "svm":
            p["C"] = float(10 ** rng.uniform(-3, 3))
        else:
            p["depth"] = int(rng.integers(1, 11))
        exp.add(Trial(i, p, {"loss": float(rng.random())}))
    return exp


def test_parallel_inactive_parameters_keep_whole_lines_and_no_empty_axis():
    from hpviz.plot._parallel import INACTIVE, parallel_info

    info = parallel_info(conditional())
    assert info.names == ["model", "C", "depth"]  # "ghost" is never active: no axis
    assert "never active" in "; ".join(info.notes)
    assert np.isfinite(info.data).all()  # no line is cut at an inactive parameter
    c, depth = info.data[:, 1], info.data[:, 2]
    assert ((c == INACTIVE) != (depth == INACTIVE)).all()  # each trial is inactive in exactly one
    assert info.inactive_axes == [1, 2]
    d = hpviz.plot.parallel(conditional())
    assert "inactive" in texts(d) and d.ax_.get_ylim()[0] < INACTIVE


# --------------------------------------------------------------------------- Pareto scaling


def test_pareto_axes_fit_the_front_not_the_outliers():
    from hpviz.plot._pareto import pareto_info

    rng = np.random.default_rng(0)
    exp = Experiment({"x": Float(0, 1)}, {"err": "min", "cost": "min"})
    for i in range(300):
        e = float(rng.uniform(0, 1))
        exp.add(Trial(i, {"x": e}, {"err": e, "cost": 1 - e + float(rng.uniform(0, 0.5))}))
    exp.add(Trial(300, {"x": 0.5}, {"err": 1e6, "cost": 1e6}))  # one absurd trial
    exp.add(Trial(301, {"x": 0.5}, {"err": 2.0, "cost": -1e5}))  # on the front, far away on one metric
    front = hpviz.pareto_front(exp)
    info = pareto_info(front)
    lo, hi = info.xlim
    assert hi < 10 and info.n_outside == 1  # the absurd point is clipped, and counted
    fx = info.front["err"].to_numpy()
    assert (fx >= lo).all() and (fx <= hi).all()  # the whole front stays inside
    d = hpviz.plot.pareto(front)
    assert "1 extreme trial outside the axes" in texts(d)
    assert d.ax_.get_xlim() == pytest.approx(info.xlim)


# --------------------------------------------------------------------------- hostile names

HOSTILE = ["lr_$x$", "a$b", "\\frac{", "x" * 120, "שלום_עולם", "two\nlines", "emoji_🚀", "<script>alert(1)</script>"]


def hostile_experiment() -> Experiment:
    space = SearchSpace({name: Float(0.0, 1.0) for name in HOSTILE[:-1]} |
                        {HOSTILE[-1]: Categorical(["$5", "\\alpha", "ok"])})
    return make_experiment(40, space, lambda p: sum(v for v in p.values() if isinstance(v, float)), seed=3,
                           objective="loss_$y$", name="study $1 \\frac{")


@pytest.mark.filterwarnings("ignore:Glyph")  # savefig outside hpviz: Matplotlib warns per missing glyph
@pytest.mark.parametrize("view", ["progress", "tendrils", "parallel", "importance", "marginals", "findings",
                                  "suggestions"])
def test_hostile_names_render_literally(view):
    exp = hostile_experiment()
    d = getattr(hpviz.plot, view)(exp)
    png = render(d)
    assert png
    words = texts(d)
    if view in ("tendrils", "parallel", "marginals"):
        assert "lr_$x$" in words or "a$b" in words
    for t in d.figure_.findobj(matplotlib.text.Text):
        assert "two\nlines" not in t.get_text()  # a newline in a name never splits a label


def test_rounds_info_per_round_best_and_within_round_best_so_far():
    from hpviz._columns import trial_columns
    from hpviz.plot._rounds import rounds_info

    exp = Experiment({"x": Float(0, 1)}, {"loss": "min"})
    values = [5.0, 3.0, 4.0, 1.0, 9.0, 2.5, 0.5, 7.0]
    for i, v in enumerate(values[:4]):
        exp.add(Trial(i, {"x": 0.1}, {"loss": v}, feasible=i != 3))  # round 1's lowest value is infeasible
    exp.next_round(exp.space)
    for i, v in enumerate(values[4:], start=4):
        exp.add(Trial(i, {"x": 0.1}, {"loss": v}, round=1))
    info = rounds_info(trial_columns(exp))
    assert [r.round for r in info] == [0, 1]
    assert info[0].best == 3.0 and info[1].best == 0.5  # never the infeasible 1.0
    assert info[0].within[1].tolist() == [5.0, 3.0, 3.0, 3.0]  # the infeasible 1.0 does not count
    assert info[1].within[1].tolist() == [9.0, 2.5, 0.5, 0.5]
    assert info[0].median == 4.0 and info[0].n_trials == 4


def test_tendrils_info_columns_and_notes(large):
    from hpviz.plot._tendrils import tendrils_info

    info = tendrils_info(large, max_params=5, max_points=300)
    assert len(info.names) == 5 and info.idx.size == 300
    assert set(info.columns) == set(info.names)
    act = [n for n in info.names if n.startswith("act")]
    for name in act:  # categoricals as choice index
        col = info.columns[name]
        assert set(np.unique(col[np.isfinite(col)])) <= {0.0, 1.0, 2.0, 3.0}
    assert "showing 5 of 40 parameters" in "; ".join(info.notes) and "x = not complete" in info.notes
    # the 50 best trials are always drawn
    from hpviz._columns import trial_columns

    assert set(trial_columns(large).top_indices(50)) <= set(info.idx)


def test_curves_info_samples_logged_trials_and_keeps_the_top(large):
    from hpviz.plot._curves import curves_info

    info = curves_info(large, max_curves=100, top_k=5)
    assert info.metric == "value" and info.n_logged == 5000
    assert len(info.segments) == 100 == info.trials.size
    assert info.top.sum() == 5 and not (info.top & info.infeasible).any()
    # the curves of pruned trials end where they were stopped, at the trial's last logged step
    for seg, i in zip(info.segments, info.trials):
        steps, _ = large.trials[i].log.series("value")
        assert seg[-1, 0] == steps[-1]
    assert curves_info(make_experiment(5)).metric is None  # nothing logged


def test_progress_time_axis_of_a_sub_second_run_starts_near_zero():
    # a 0.6 s run: the old half-trial pad (0.5 s) drew the axis from -0.5 s
    t0 = 1_700_000_000.0
    trials = [Trial(number=i, params={"x": 0.1 * i}, values={"value": float(5 - i)}, state="COMPLETE",
                    started=t0 + 0.15 * i, finished=t0 + 0.15 * i + 0.1) for i in range(5)]
    exp = Experiment(name="quick", space=SearchSpace({"x": Float(0.0, 1.0)}), objectives={"value": "min"},
                     trials=trials)
    time_ax = hpviz.plot.progress(exp).ax_[1]
    lo, hi = time_ax.get_xlim()
    assert 0.0 < lo < 0.1 and 0.7 < hi < 0.75  # trials end at 0.1 .. 0.7 s


def test_curves_legend_sits_under_the_plot_not_on_the_top_curves(large):
    display = hpviz.plot.curves(large)
    assert display.ax_.get_legend() is None
    (legend,) = display.figure_.legends
    assert any(t.get_text().startswith("top ") for t in legend.get_texts())
    # on the user's own Axes the legend stays inside it
    assert hpviz.plot.curves(large, ax=Figure().add_subplot()).ax_.get_legend() is not None


def test_a_global_style_set_before_does_not_leak_into_the_views_but_fonts_are_kept(small):
    import matplotlib.colors
    import matplotlib.style

    with matplotlib.style.context("ggplot"), matplotlib.rc_context({"font.family": ["DejaVu Serif"]}):
        display = hpviz.plot.progress(small)
        ax = display.ax_[0]
        assert matplotlib.colors.to_hex(ax.get_facecolor()) == "#ffffff"  # ggplot: #e5e5e5
        assert ax.title.get_fontfamily() == ["DejaVu Serif"]
        assert matplotlib.rcParams["axes.facecolor"] == "#E5E5E5"  # the user's session is untouched
