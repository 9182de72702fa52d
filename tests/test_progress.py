"""Tests of hpviz.diagnose: every finding fires where it must and stays silent where it must not."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import optuna
import pandas as pd
import pytest
from scipy import stats

import hpviz
from hpviz import Categorical, Experiment, Float, Int, ReservoirLog, SearchSpace, Trial, TrialState
from hpviz.analysis import diagnose as P
from hpviz.testing import make_experiment

optuna.logging.set_verbosity(optuna.logging.WARNING)



def optuna_run(sampler, fn, n_trials: int, directions=None) -> Experiment:
    study = optuna.create_study(sampler=sampler, directions=directions)
    study.optimize(fn, n_trials=n_trials)
    return hpviz.experiment(study)


def seq_experiment(values, *, direction="min", space=None, params=None, states=None) -> Experiment:
    """Trials 0..n-1 with the given values (None = no value) and uniform random params."""
    space = space or SearchSpace({"x": Float(0.0, 1.0)})
    rng = np.random.default_rng(0)
    exp = Experiment(space, {"loss": direction})
    for i, v in enumerate(values):
        p = params[i] if params is not None else hpviz.testing.sample_params(space, rng)
        state = states[i] if states is not None else TrialState.COMPLETE
        exp.add(Trial(i, p, {} if v is None else {"loss": v}, state))
    return exp


def smooth(t):
    return (t.suggest_float("x", -5, 5) - 1) ** 2 + (t.suggest_float("y", -5, 5) + 2) ** 2


# --------------------------------------------------------------------------- robustness


def test_empty_experiment_gives_only_too_few_trials():
    d = hpviz.diagnose(Experiment({"x": Float(0, 1)}, "loss"))
    assert d.codes == ("too-few-trials",)
    f = d.by_code("too-few-trials")[0]
    assert f.severity == "problem" and "no trials" in f.message and str(P.MIN_TRIALS) in f.message
    assert d.best_so_far.empty and d.best_so_far_time is None and d.hypervolume is None
    assert d.n_trials == 0 and d.n_usable == 0


def test_single_trial_and_single_failure():
    d = hpviz.diagnose(seq_experiment([0.5]))
    assert d.codes == ("too-few-trials",)
    assert d.best_so_far.to_dict() == {0: 0.5}
    d = hpviz.diagnose(seq_experiment([None], states=[TrialState.FAIL]))
    assert set(d.codes) == {"too-few-trials", "high-failure-rate"}
    assert d.by_code("high-failure-rate")[0].severity == "problem"
    assert d.best_so_far.isna().all() and list(d.best_so_far.index) == [0]


def test_mixed_states_best_so_far_and_counts():
    values = [5.0, 1.0, math.nan, 3.0, 0.5, math.inf, 2.0, 0.1, None]
    states = ["COMPLETE", "PRUNED", "COMPLETE", "COMPLETE", "FAIL", "COMPLETE", "COMPLETE", "RUNNING", "WAITING"]
    d = hpviz.diagnose(seq_experiment(values, states=states))
    # Pruned (1.0), failed (0.5), NaN and inf values and unfinished trials never count as a best.
    assert list(d.best_so_far.index) == [0, 1, 2, 3, 4, 5, 6]
    assert d.best_so_far.tolist() == [5.0, 5.0, 5.0, 3.0, 3.0, 3.0, 2.0]
    assert d.counts["RUNNING"] == 1 and d.n_failed == 1 and d.n_pruned == 1 and d.n_complete == 5
    assert d.n_nan == 2 and d.n_usable == 3


def test_best_so_far_maximize_and_over_time():
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    exp = Experiment({"x": Float(0, 1)}, {"acc": "max"})
    # Trial 1 finishes after trial 2: the time curve follows finishing order.
    finish = [10.0, 40.0, 25.0, 50.0]
    for i, (v, f) in enumerate(zip([0.2, 0.9, 0.5, 0.7], finish)):
        exp.add(Trial(i, {"x": 0.5}, {"acc": v}, started=t0 + dt.timedelta(seconds=5 + i), finished=t0 + dt.timedelta(seconds=f)))
    d = hpviz.diagnose(exp)
    assert d.best_so_far.tolist() == [0.2, 0.9, 0.9, 0.9]
    assert d.best_so_far_time.index.tolist() == [5.0, 20.0, 35.0, 45.0]
    assert d.best_so_far_time.tolist() == [0.2, 0.5, 0.9, 0.9]


def test_bad_input_and_odd_values_do_not_raise():
    with pytest.raises(hpviz.SchemaError, match="unknown objective"):
        hpviz.diagnose(seq_experiment([1.0]), objective="nope")
    with pytest.raises(hpviz.UnsupportedObjectError):
        hpviz.diagnose(object())
    space = SearchSpace({"x": Float(0, 1), "n": Int(1, 100), "c": Categorical(["a", "b"])})
    params = []
    for i in range(40):
        p = {"x": i / 40, "n": 1 + i, "c": "a"}
        if i % 7 == 0:
            del p["x"]  # inactive
        if i % 5 == 0:
            p["n"] = "many"  # not a number
        if i % 9 == 0:
            p["c"] = "z"  # not a declared choice
        if i % 11 == 0:
            p["x"] = 7.0  # outside the space
        params.append(p)
    d = hpviz.diagnose(seq_experiment(np.linspace(1, 0, 40).tolist(), space=space, params=params))
    assert isinstance(d, P.Diagnosis) and d.n_usable == 40


def test_constant_and_all_nan_values(tmp_path):
    flat = hpviz.diagnose(seq_experiment([1.0] * 30))
    assert flat.by_code("no-improvement")[0].evidence["relative_gain_since"] == 0.0
    assert flat.best_so_far.eq(1.0).all() and not flat.by_code("still-improving")
    nan = hpviz.diagnose(seq_experiment([math.nan] * 25))
    assert set(nan.codes) == {"too-few-trials", "high-failure-rate"} and nan.n_nan == 25
    assert "Every trial failed" in nan.by_code("high-failure-rate")[0].message
    # Anything hpviz.experiment accepts: here a saved file.
    path = make_experiment(30, seed=1).save(tmp_path / "exp.json")
    assert hpviz.diagnose(path).n_trials == 30


def test_results_are_frozen_and_deterministic():
    exp = make_experiment(80, seed=3, log_steps=10, prune_rate=0.3)
    a, b = hpviz.diagnose(exp), hpviz.diagnose(exp)
    assert a.findings == b.findings
    pd.testing.assert_frame_equal(a.random_band, b.random_band)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.findings = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.findings[0].code = "x"  # type: ignore[misc]
    for f in a.findings:
        assert f.code in P.CODES and f.severity in P.SEVERITIES
        assert isinstance(f.params, tuple) and all(isinstance(v, float) for v in f.evidence.values())


# --------------------------------------------------------------------------- too-few-trials


def test_too_few_trials_threshold():
    below = hpviz.diagnose(seq_experiment(list(range(P.MIN_TRIALS - 1, 0, -1)) + [None],
                                          states=["COMPLETE"] * (P.MIN_TRIALS - 1) + ["FAIL"]))
    f = below.by_code("too-few-trials")[0]
    assert f.evidence["n_usable"] == P.MIN_TRIALS - 1 and f.evidence["needed"] == P.MIN_TRIALS
    assert f"Only {P.MIN_TRIALS - 1} of {P.MIN_TRIALS} trials" in f.message and "1 failed" in f.message
    at = hpviz.diagnose(seq_experiment(list(range(P.MIN_TRIALS, 0, -1))))
    assert not at.by_code("too-few-trials")


# --------------------------------------------------------------------------- no-improvement / still-improving


def test_no_improvement_fires_on_a_plateau():
    # Converged: after the best (-9 at trial 19) the search keeps proposing values within 0.002 of it.
    values = [10.0 - i for i in range(20)] + [-9.0 + 0.001 * (1 + i % 3) for i in range(40)]
    d = hpviz.diagnose(seq_experiment(values))
    f = d.by_code("no-improvement")[0]
    assert f.evidence["last_improvement_trial"] == 19 and f.evidence["trials_since"] == 40
    assert f.evidence["relative_gain_since"] == 0.0 and "40 of 60" in f.message
    assert f.evidence["spread_ratio"] < 0.02 and "converged" in f.message
    assert not d.by_code("still-improving")
    # Values that wander far above the best without converging: an exhausted search finds its best
    # in the first third of the run one time in three, so this is no evidence of a plateau.
    wander = [10.0 - i for i in range(20)] + [5.0 + (i % 3) for i in range(40)]
    assert not hpviz.diagnose(seq_experiment(wander)).by_code("no-improvement")
    # Found at the very start and never beaten in 59 trials: an exhausted search would have (p = 1/60).
    early = [-10.0] + list(np.random.default_rng(3).normal(size=59))
    f = hpviz.diagnose(seq_experiment(early)).by_code("no-improvement")[0]
    assert f.evidence["p_no_record"] == pytest.approx(1 / 60) and "exhausted search" in f.message


def test_still_improving_fires_on_a_steady_descent():
    d = hpviz.diagnose(seq_experiment([100.0 - i for i in range(60)]))
    f = d.by_code("still-improving")[0]
    # 15 new bests in the 15 trials of the last window; an exhausted search gives sum 1/t = 0.29.
    assert f.evidence["window"] == 15 and f.evidence["records_in_window"] == 15
    assert f.evidence["expected_records"] == pytest.approx(sum(1 / t for t in range(46, 61)))
    assert f.evidence["p_value"] < 1e-20
    assert not d.by_code("no-improvement")
    # One diverged first trial changes nothing (the old rule measured gains against it).
    d2 = hpviz.diagnose(seq_experiment([1e9] + [100.0 - i for i in range(1, 60)]))
    assert d2.by_code("still-improving") and not d2.by_code("no-improvement")


@pytest.mark.parametrize("seed", range(12))
def test_no_improvement_and_still_improving_never_together(seed):
    d = hpviz.diagnose(make_experiment(40 + 10 * seed, seed=seed))
    assert not (d.by_code("no-improvement") and d.by_code("still-improving"))


# --------------------------------------------------------------------------- not-better-than-random


def test_tpe_on_a_smooth_function_is_better_than_random():
    exp = optuna_run(optuna.samplers.TPESampler(seed=0), smooth, 60)
    d = hpviz.diagnose(exp)
    assert not d.by_code("not-better-than-random")
    assert not d.by_code("collapsed-exploration") and not d.by_code("best-at-boundary")
    # The learning sampler found better values later than random orderings of its values would.
    assert d.random_band is not None and len(d.random_band) == d.n_usable


def test_random_sampler_on_pure_noise_is_not_better_than_random():
    rng = np.random.default_rng(1)

    def noise(t):
        t.suggest_float("x", -5, 5)
        t.suggest_float("y", -5, 5)
        return float(rng.normal())

    exp = optuna_run(optuna.samplers.RandomSampler(seed=1), noise, 60)
    d = hpviz.diagnose(exp)
    f = d.by_code("not-better-than-random")[0]
    y = np.array([t.values["value"] for t in exp.trials])
    expected = stats.mannwhitneyu(y[30:], y[:30], alternative="less").pvalue
    assert f.evidence["p_value"] == pytest.approx(expected)
    assert f.evidence["p_value"] >= P.ALPHA and f.evidence["p_value_curve"] >= P.ALPHA
    assert f"p = {expected:.2g}" in f.message


def test_permutation_band_known_answers():
    # Strictly increasing losses (min): the observed curve is the best possible ordering
    # (best first), so no permutation beats it and the curve p-value is small.
    d = hpviz.diagnose(seq_experiment([float(i) for i in range(40)]))
    assert not d.by_code("not-better-than-random")
    band = d.random_band
    assert (band["low"] <= band["median"]).all() and (band["median"] <= band["high"]).all()
    # Every ordering ends at the same best value.
    assert band.iloc[-1].tolist() == [0.0, 0.0, 0.0]
    long = hpviz.diagnose(seq_experiment(np.random.default_rng(0).normal(size=2500).tolist())).random_band
    assert len(long) == P.MAX_BAND_POINTS and long.index[0] == 0 and long.index[-1] == 2499


# --------------------------------------------------------------------------- best-at-boundary


def test_best_at_boundary_fires_when_the_optimum_is_beyond_a_bound():
    def fn(t):
        return t.suggest_float("x", -5, 5) + 0.1 * (t.suggest_float("lr", 1e-5, 1e-1, log=True) - 0.01) ** 2

    d = hpviz.diagnose(optuna_run(optuna.samplers.TPESampler(seed=0), fn, 60))
    f = d.by_code("best-at-boundary")[0]
    assert f.params == ("x",) and f.evidence["x.low"] >= P.BOUNDARY_FRACTION
    assert "extend it below -5" in f.message


def test_best_at_boundary_on_log_scale_with_random_search():
    # Loss falls with lr all the way to the upper bound: the best 5% sit in the top 5% of the log range.
    space = SearchSpace({"lr": Float(1e-5, 1e-1, log=True), "x": Float(-1, 1)})
    exp = make_experiment(200, space, lambda p: -math.log10(p["lr"]) + 0.01 * p["x"] ** 2, seed=0)
    f = hpviz.diagnose(exp).by_code("best-at-boundary")[0]
    assert f.params == ("lr",) and f.evidence["lr.high"] >= P.BOUNDARY_FRACTION
    interior = make_experiment(200, space, lambda p: (math.log10(p["lr"]) + 3) ** 2 + p["x"] ** 2, seed=0)
    assert not hpviz.diagnose(interior).by_code("best-at-boundary")


# --------------------------------------------------------------------------- collapsed-exploration


def test_collapsed_exploration_fires_when_sampling_locks_in():
    rng = np.random.default_rng(0)
    space = SearchSpace({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})
    params = [{"x": float(rng.uniform()) if i < 20 else 0.3 + 0.001 * rng.standard_normal(),
               "y": float(rng.uniform())} for i in range(60)]
    values = [1.0 - 0.02 * i for i in range(20)] + [1.0 + rng.uniform() for _ in range(40)]
    d = hpviz.diagnose(seq_experiment(values, space=space, params=params))
    f = d.by_code("collapsed-exploration")[0]
    assert f.params == ("x",) and f.severity == "warning"
    assert f.evidence["x.onset_trial"] == 20 and f.evidence["x.center"] == pytest.approx(0.3, abs=0.01)
    assert "has not improved since" in f.message


def test_collapsed_exploration_silent_on_random_search():
    for seed in range(3):
        assert not hpviz.diagnose(make_experiment(100, seed=seed)).by_code("collapsed-exploration")


# --------------------------------------------------------------------------- duplicate-configs


def test_duplicate_configs_counts_after_rounding():
    space = SearchSpace({"lr": Float(0.0, 1.0, step=0.1), "n": Int(1, 3), "c": Categorical(["a", "b"])})
    params = [{"lr": 0.1, "n": 1, "c": "a"}, {"lr": 0.1000000001, "n": 1, "c": "a"},  # same after rounding
              {"lr": 0.1, "n": 1, "c": "b"}, {"lr": 0.2, "n": 2, "c": "a"}, {"lr": 0.2, "n": 2, "c": "a"},
              {"lr": 0.1, "n": 1, "c": "a"}]
    d = hpviz.diagnose(seq_experiment([1.0] * 6, space=space, params=params))
    f = d.by_code("duplicate-configs")[0]
    assert f.evidence["n_duplicate_trials"] == 3 and f.evidence["max_repeats"] == 3
    assert f.evidence["n_repeated_configs"] == 2 and f.evidence["n_distinct_possible"] == 11 * 3 * 2
    assert "trials 0, 1, 5" in f.message and f.severity == "warning"


def test_duplicate_configs_silent_on_continuous_random_search():
    assert not hpviz.diagnose(make_experiment(200, seed=0)).by_code("duplicate-configs")


# --------------------------------------------------------------------------- high-failure-rate


def _failing_run(fail_when, n=120, seed=0) -> Experiment:
    space = SearchSpace({"lr": Float(1e-5, 1e-1, log=True), "x": Float(-5, 5), "act": Categorical(["relu", "tanh"])})
    rng = np.random.default_rng(seed)
    exp = Experiment(space, {"loss": "min"})
    for i in range(n):
        p = hpviz.testing.sample_params(space, rng)
        if fail_when(p, rng):
            exp.add(Trial(i, p, {}, TrialState.FAIL) if i % 2 else Trial(i, p, {"loss": math.nan}))
        else:
            exp.add(Trial(i, p, {"loss": p["x"] ** 2}))
    return exp


def test_high_failure_rate_finds_the_failing_region():
    d = hpviz.diagnose(_failing_run(lambda p, rng: p["lr"] > 3e-3))
    f = d.by_code("high-failure-rate")[0]
    assert f.params[0] == "lr" and "x" not in f.params
    assert f.evidence["lr.fail_share"] == 1.0 and f.evidence["lr.other_share"] == 0.0
    # NaN results count as failures, alongside FAIL states.
    assert f.evidence["n_nan"] > 0 and f.evidence["n_fail_state"] > 0
    assert f.evidence["failure_rate"] == pytest.approx(d.n_failed / (d.n_trials) + d.n_nan / d.n_trials)
    assert "100% of failures have lr >" in f.message
    categorical = hpviz.diagnose(_failing_run(lambda p, rng: p["act"] == "tanh" and rng.uniform() < 0.6))
    g = categorical.by_code("high-failure-rate")[0]
    assert g.params == ("act",) and "act = 'tanh'" in g.message


def test_high_failure_rate_without_a_cause_and_below_threshold():
    d = hpviz.diagnose(_failing_run(lambda p, rng: rng.uniform() < 0.3))
    f = d.by_code("high-failure-rate")[0]
    assert f.params == () and "do not concentrate" in f.message
    assert not hpviz.diagnose(_failing_run(lambda p, rng: rng.uniform() < 0.03)).by_code("high-failure-rate")


# --------------------------------------------------------------------------- pruner-misranks


def _curve_run(*, crossing: bool, n=80, steps=40, stop=5, metric="loss", seed=0, stopped_state="PRUNED") -> Experiment:
    """Learning curves whose early values are unrelated (crossing) or monotone in the final value."""
    rng = np.random.default_rng(seed)
    exp = Experiment({"x": Float(0, 1)}, {"loss": "min"})
    for i in range(n):
        final, start = rng.uniform(), rng.uniform()
        pruned = i % 3 == 0
        log = ReservoirLog(capacity=64, seed=i)
        for s in range(stop if pruned else steps):
            w = (s / (steps - 1)) ** 3 if crossing else 0.0
            v = (1 - w) * (start + 1) + w * final if crossing else final + math.exp(-s / 5)
            log.append(s, **{metric: v})
        value = log.points()[-1][1][metric]
        exp.add(Trial(i, {"x": rng.uniform()}, {"loss": value}, stopped_state if pruned else "COMPLETE", log=log))
    return exp


@pytest.mark.parametrize("metric", ["loss", "value"])
def test_pruner_misranks_fires_on_crossing_curves(metric):
    d = hpviz.diagnose(_curve_run(crossing=True, metric=metric))
    f = d.by_code("pruner-misranks")[0]
    corr = d.step_correlation
    assert corr.iloc[-1] == pytest.approx(1.0)  # the last step is the final value
    assert abs(corr.iloc[0]) < 0.5  # the start is unrelated to the end
    assert d.reliable_step is not None and 5 < d.reliable_step < 39
    assert (corr[corr.index >= d.reliable_step] >= P.RELIABLE_CORRELATION).all()
    assert f.evidence["fraction_stopped_before_reliable"] == 1.0 and f.evidence["reliable_step"] == d.reliable_step
    # the message is framework-neutral; the step adapters phrase their advice with is in the evidence
    assert f"not before step {d.reliable_step:g}" in f.message and f.advice is None


def test_pruner_misranks_counts_short_complete_trials_as_stopped():
    # Ray Tune's ASHA ends stopped trials TERMINATED (COMPLETE here) with a shorter log.
    d = hpviz.diagnose(_curve_run(crossing=True, stopped_state="COMPLETE"))
    f = d.by_code("pruner-misranks")[0]
    assert d.n_pruned == 0 and f.evidence["n_stopped"] == 27 and f.evidence["n_full_trials"] == 53


def test_pruner_misranks_silent_when_early_ranking_is_right():
    d = hpviz.diagnose(_curve_run(crossing=False))
    assert not d.by_code("pruner-misranks")
    assert d.reliable_step == 0 and (d.step_correlation > 0.99).all()
    # make_experiment's curves keep the final ranking from the first step, too.
    assert not hpviz.diagnose(make_experiment(60, log_steps=20, prune_rate=0.4)).by_code("pruner-misranks")


def test_pruner_misranks_with_a_real_optuna_pruner():
    rng = np.random.default_rng(0)

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        start = rng.uniform()
        for s in range(30):
            w = (s / 29) ** 3
            trial.report((1 - w) * (start + 1) + w * x, s)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return x

    pruner = optuna.pruners.MedianPruner(n_startup_trials=10, n_warmup_steps=2)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), pruner=pruner)
    study.optimize(objective, n_trials=60)
    d = hpviz.diagnose(hpviz.experiment(study))
    assert d.n_pruned > 0
    f = d.by_code("pruner-misranks")[0]
    assert f.evidence["n_stopped"] == d.n_pruned and f.evidence["min_correlation"] < P.RELIABLE_CORRELATION
    # the neutral message, then the Optuna adapter's advice in Optuna's terms (hpviz_finding_advice)
    assert "Optuna" not in f.message and f.advice.startswith("In Optuna")
    if "reliable_step" in f.evidence:
        assert f"n_warmup_steps={f.evidence['reliable_step']:g}" in f.advice


def _advice_manager(calls):
    """A fresh plugin manager with one adapter that advises on its own framework only."""
    from hpviz.plugins import make_plugin_manager

    class Advisor:
        @hpviz.hookimpl
        def hpviz_finding_advice(self, code, evidence, framework):
            calls.append((code, framework))
            if framework != "toyfw" or code != "pruner-misranks":
                return None
            return f"toyfw: set warmup={evidence['reliable_step']:g}"

    pm = make_plugin_manager(load_entry_points=False)
    pm.register(Advisor())
    return pm


def test_finding_advice_comes_from_the_framework_hook(monkeypatch):
    calls = []
    monkeypatch.setattr("hpviz.plugins.get_plugin_manager", lambda: _advice_manager(calls))
    exp = _curve_run(crossing=True)
    exp.framework = "toyfw"
    f = hpviz.diagnose(exp).by_code("pruner-misranks")[0]
    assert f.advice == f"toyfw: set warmup={f.evidence['reliable_step']:g}"
    assert str(f).endswith(f.advice) and f.message.endswith("at each rung).")
    assert ("pruner-misranks", "toyfw") in calls
    # another framework: the hook is asked, nobody answers, the message stays neutral
    exp.framework = "otherfw"
    assert hpviz.diagnose(exp).by_code("pruner-misranks")[0].advice is None
    # no framework (built by hand): the hook is not consulted
    calls.clear()
    exp.framework = None
    assert hpviz.diagnose(exp).by_code("pruner-misranks")[0].advice is None and calls == []


def test_a_broken_advice_adapter_does_not_break_the_diagnosis(monkeypatch):
    from hpviz.plugins import make_plugin_manager

    class Broken:
        @hpviz.hookimpl
        def hpviz_finding_advice(self, code, evidence, framework):
            raise RuntimeError("boom")

    pm = make_plugin_manager(load_entry_points=False)
    pm.register(Broken())
    monkeypatch.setattr("hpviz.plugins.get_plugin_manager", lambda: pm)
    exp = _curve_run(crossing=True)
    exp.framework = "toyfw"
    with pytest.warns(hpviz.HpvizWarning, match="'toyfw' adapter failed.*boom") as record:
        d = hpviz.diagnose(exp)
    assert d.by_code("pruner-misranks") and all(f.advice is None for f in d.findings)
    assert record[0].filename == __file__  # at the caller's line


def test_finding_messages_name_no_framework():
    import re

    runs = [_curve_run(crossing=True), _failing_run(lambda p, rng: p["lr"] > 3e-3)]
    space = SearchSpace({"lr": Float(0.0, 1.0, step=0.1), "n": Int(1, 3)})
    runs.append(seq_experiment([1.0] * 30, space=space, params=[{"lr": 0.1, "n": 1}] * 30))
    rng = np.random.default_rng(0)
    params = [{"x": float(rng.uniform()) if i < 20 else 0.3 + 0.001 * rng.standard_normal()} for i in range(60)]
    runs.append(seq_experiment([1.0 - 0.02 * i for i in range(20)] + [1.5] * 40, params=params))
    codes = set()
    for exp in runs:
        for f in hpviz.diagnose(exp).findings:
            codes.add(f.code)
            assert not re.search(r"optuna|ray|tune|hyperopt|tpe|asha|gridsampler|pruner\b", f.message, re.I), f
    assert {"pruner-misranks", "duplicate-configs", "collapsed-exploration", "high-failure-rate"} <= codes


def test_findings_table():
    d = hpviz.diagnose(_curve_run(crossing=True))
    table = d.to_dataframe()
    assert list(table.columns) == ["code", "severity", "message", "advice", "params", "evidence"]
    assert list(table["code"]) == list(d.codes) and table.loc[0, "evidence"] == dict(d.findings[0].evidence)
    assert hpviz.diagnose(seq_experiment([])).to_dataframe()["code"].tolist() == ["too-few-trials"]


# --------------------------------------------------------------------------- multi-objective


def test_hypervolume_two_objectives_exact():
    exp = Experiment({"x": Float(0, 1)}, {"a": "min", "b": "max"})
    pts = [(0.0, 0.0), (1.0, 1.0), (0.5, 0.5), (0.7, 0.3), (0.25, 0.75), (float("nan"), 1.0)]
    for i, (a, b) in enumerate(pts):  # b is maximized: 1 - b is its loss
        exp.add(Trial(i, {"x": 0.5}, {"a": a, "b": b}))
    hv = hpviz.diagnose(exp).hypervolume
    # (0,0)->(0,1) and (1,1)->(1,0) span the box; (0.5,0.5) adds 0.25; (0.25,0.25) replaces it: 0.5625.
    assert hv.tolist() == pytest.approx([0.0, 0.0, 0.25, 0.25, 0.5625, 0.5625])


def test_hypervolume_three_objectives_monte_carlo_and_optuna():
    exp = Experiment({"x": Float(0, 1)}, {"a": "min", "b": "min", "c": "min"})
    for i, p in enumerate([(0, 1, 1), (1, 0, 1), (1, 1, 0), (0.5, 0.5, 0.5)]):
        exp.add(Trial(i, {"x": 0.5}, dict(zip("abc", map(float, p)))))
    hv = hpviz.diagnose(exp).hypervolume
    assert hv.iloc[:3].tolist() == [0.0, 0.0, 0.0] and hv.iloc[3] == pytest.approx(0.125, abs=0.015)

    def two(t):
        x, y = t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)
        return x, (1 - x) ** 2 + y

    mo = optuna_run(optuna.samplers.RandomSampler(seed=0), two, 30, directions=["minimize", "minimize"])
    hv = hpviz.diagnose(mo).hypervolume
    assert len(hv) == 30 and (np.diff(hv.to_numpy()) >= -1e-12).all() and 0 < hv.iloc[-1] <= 1


def test_an_infeasible_trial_never_sets_the_best_so_far():
    values = [5.0, 4.0, 0.1, 3.0] + [3.5] * 20
    exp = seq_experiment(values)
    constrained = exp.with_trials(dataclasses.replace(t, feasible=t.number != 2) for t in exp.trials)
    d = hpviz.diagnose(constrained)
    assert d.best_so_far.tolist()[:4] == [5.0, 4.0, 4.0, 3.0] and d.best_so_far.min() == 3.0
    f = d.by_code("no-improvement")[0]
    assert f.evidence["best_value"] == 3.0 and f.evidence["best_trial"] == 3
    assert hpviz.diagnose(exp).best_so_far.min() == 0.1  # feasible, it would be the best
