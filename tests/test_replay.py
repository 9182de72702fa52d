"""Early-stopping replay: constructed curve families with known crossings, exact accounting, real Optuna pruning."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from families import late_bloomers

import hpviz
from hpviz import Float, ReservoirLog, SearchSpace, Trial, TrialState
from hpviz.analysis.replay import MIN_TRIALS, Replay, _stop_worse, replay

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _exp(curves, states=None, direction="min", framework=None):
    exp = hpviz.Experiment(SearchSpace({"x": Float(0.0, 1.0)}), {"loss": direction}, framework=framework)
    for i, c in enumerate(curves):
        log = ReservoirLog(capacity=len(c) + 4)
        for k, v in enumerate(c, start=1):
            log.append(k, loss=float(v))
        state = states[i] if states else TrialState.COMPLETE
        exp.add(Trial(i, {"x": i / len(curves)}, {"loss": float(c[-1])}, state, log=log))
    return exp


@pytest.mark.parametrize("seed", range(6))
def test_sentinel_never_before_the_known_last_crossing(seed):
    exp, crossing = late_bloomers(seed)
    r = replay(exp)
    assert isinstance(r, Replay)
    assert r.sentinel_step is not None
    assert r.sentinel_step >= crossing
    assert r.sentinel_step <= crossing + 4  # not absurdly late either
    row = r.rules[(r.rules["rule"] == "median") & (r.rules["step"] == r.sentinel_step)].iloc[0]
    assert row["best_survived"] and row["recall"] == 1.0 and 0 < row["saved"] < 0.5
    # one step before the crossing the median rule stops a late bloomer
    before = r.rules[(r.rules["rule"] == "median") & (r.rules["step"] < crossing - 1)]
    assert (before["recall"] < 1).all()
    assert r.reduction_factor in (2, 3, 4)
    assert r.evidence["sentinel_step"] == r.sentinel_step


def test_maximized_objective_gives_the_same_sentinel():
    exp, _ = late_bloomers(3)
    flipped = hpviz.Experiment(exp.space, {"loss": "max"})
    for t in exp.trials:
        log = ReservoirLog(capacity=64)
        for step, d in t.log.points():
            log.append(step, loss=-d["loss"])
        flipped.add(Trial(t.number, t.params, {"loss": -t.values["loss"]}, t.state, log=log))
    assert replay(flipped).sentinel_step == replay(exp).sentinel_step


def test_exact_accounting_on_a_small_case():
    # 10 trials, 10 steps, constant curves 0..9: the median rule at step 5 stops the 5 worst (> median 4.5).
    curves = [np.full(10, float(i)) for i in range(10)]
    r = replay(_exp(curves), top=2)
    row = r.rules[(r.rules["rule"] == "median") & (r.rules["step"] == 5.0)].iloc[0]
    assert row["n_stopped"] == 5
    assert row["saved"] == pytest.approx(5 * (10 - 5) / (10 * 10))
    assert row["best_survived"] and row["recall"] == 1.0 and row["regret"] == 0
    assert r.saved_at("bottom-0.75", 5.0) == pytest.approx(7 * 5 / 100)
    assert r.steps.loc[1.0, "spearman"] == pytest.approx(1.0)
    # curves rank perfectly from step 1: the sentinel is the first step
    assert r.sentinel_step == 1.0
    # successive halving eta=2 from step 1: rungs 1, 2, 4, 8; 10 -> 5 -> 3 -> 2 -> 1 kept
    sh = r.halving[(r.halving["eta"] == 2) & (r.halving["min_resource"] == 1.0)].iloc[0]
    assert sh["rungs"] == 4 and sh["n_stopped"] == 9
    assert sh["saved"] == pytest.approx(1 - (5 * 1 + 2 * 2 + 1 * 4 + 1 * 8 + 1 * 10) / 100)
    df = r.to_dataframe()
    assert {"step", "spearman", "low", "high", "median_saved", "median_recall"} <= set(df.columns)
    assert "<b>Replay" in r._repr_html_() and "SENTINEL STEP" in r._repr_html_()


def test_uninformative_early_values_give_no_sentinel():
    rng = np.random.default_rng(0)
    curves = [np.r_[rng.normal(size=19), rng.normal()] for _ in range(30)]
    r = replay(_exp(curves))
    assert r.sentinel_step is None
    assert "Do not stop trials early" in r.message
    assert "sentinel_step" not in r.evidence


def test_horizon_is_the_highest_step_ten_trials_reached():
    # successive-halving shaped run: 30 trials to step 3, 12 to step 9, 4 to step 27
    curves, states = [], []
    for i in range(30):
        length = 27 if i < 4 else 9 if i < 12 else 3
        curves.append(i + 1.0 / np.arange(1, length + 1))
        states.append(TrialState.COMPLETE if length == 27 else TrialState.PRUNED)
    r = replay(_exp(curves, states))
    assert r.horizon == 9.0 and r.n_trials == 12 and r.n_curves == 30


def test_bad_input_is_a_clear_error():
    with pytest.raises(hpviz.InsufficientDataError, match=f"at least {MIN_TRIALS} trials; have 3"):
        replay(_exp([np.arange(5.0)] * 3))
    exp, _ = late_bloomers(0)
    with pytest.raises(hpviz.SchemaError, match="top must be an integer >= 1, got 0"):
        replay(exp, top=0)
    with pytest.raises(hpviz.SchemaError, match="etas must be"):
        replay(exp, etas=[1])
    with pytest.raises(hpviz.SchemaError, match="fractions must be"):
        replay(exp, fractions=[1.5])
    with pytest.raises(TypeError):
        replay(exp, eta=3)


def test_optuna_advice_names_the_pruner_setting():
    exp, crossing = late_bloomers(1, framework="optuna")
    r = replay(exp)
    k = int(r.sentinel_step)
    assert f"MedianPruner(n_warmup_steps={k})" in r.advice
    assert f"SuccessiveHalvingPruner(min_resource={k}, reduction_factor={r.reduction_factor})" in r.advice


def test_real_optuna_study_with_pruning():
    def objective(trial):
        x = trial.suggest_float("x", -2, 2)
        final = x * x
        for step in range(1, 21):
            # late-converging curve: value approaches x^2 from above, slower for larger |x|
            value = final + (1 + abs(x)) / step
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return final

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=10, n_warmup_steps=2))
    study.optimize(objective, n_trials=40)
    exp = hpviz.experiment(study)
    r = replay(exp)
    n_pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    n_complete = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert n_pruned > 0 and r.n_curves == n_pruned + n_complete
    assert r.horizon == 20.0 and r.n_trials == n_complete
    # here the ranking is monotone in |x| from the first step: safe to stop early
    assert r.sentinel_step is not None and r.sentinel_step < 20
    assert "MedianPruner(n_warmup_steps=" in r.advice
    assert math.isfinite(r.steps["spearman"].iloc[-1])


def test_ray_advice_names_the_scheduler_setting():
    exp, _ = late_bloomers(1, framework="ray")
    r = replay(exp)
    k, eta = int(r.sentinel_step), r.reduction_factor
    assert f"ASHAScheduler(grace_period={k}, reduction_factor={eta}, max_t=40)" in r.advice


def test_stop_worse_stops_what_a_stable_sort_would():
    """The worst ``n`` finite values, the first of equal ones: as the first ``n`` of a stable descending sort."""
    def by_sorting(v, n_stop):
        kept = np.ones(v.size, bool)
        finite = np.flatnonzero(np.isfinite(v))
        if n_stop > 0 and finite.size:
            kept[finite[np.argsort(-v[finite], kind="stable")][:n_stop]] = False
        return kept

    rng = np.random.default_rng(0)
    for k in range(3000):
        size = int(rng.integers(0, 40))
        if k % 3 == 0:
            v = rng.normal(size=size)
        elif k % 3 == 1:  # many ties
            v = rng.integers(-2, 3, size=size).astype(float)
        else:  # signed zeros, infinities and NaNs
            v = rng.choice([0.0, -0.0, 1.0, -1.0, math.nan, math.inf, -math.inf], size=size)
        for n_stop in (-1, 0, 1, size // 2, size - 1, size, size + 2, int(rng.integers(0, size + 2))):
            np.testing.assert_array_equal(_stop_worse(v, n_stop), by_sorting(v, n_stop))
