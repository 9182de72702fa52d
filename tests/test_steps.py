"""hpviz.analysis._steps.curves: the packed-column fast path reads exactly what log_curve reads."""

from __future__ import annotations

import math
import random
import threading

import numpy as np

from hpviz import Experiment, Float, ReservoirLog, SearchSpace, Trial, TrialState
from hpviz._metrics import log_curve
from hpviz.analysis._steps import _GENERAL, _packed_curve, curves, shared, trial_curve


def _log(rng: random.Random, kind: str) -> ReservoirLog:
    log = ReservoirLog(capacity=rng.choice([2, 5, 64]), seed=rng.randrange(100))
    n = rng.randrange(0, 40)
    for i in range(n):
        step = rng.choice([i, i, i, rng.randrange(10), float(i) / 2])  # ties and steps out of order
        value = rng.choice([rng.random(), math.nan, math.inf, -1.0, 2])
        if kind == "scalar":
            log.append(step, value)
        elif kind == "loss":
            log.append(step, loss=value)
        elif kind == "two":
            log.append(step, loss=value, acc=rng.random())
        elif kind == "other":
            log.append(step, acc=value)
        elif kind == "mixed":  # not uniform: the general path
            if rng.random() < 0.5:
                log.append(step, value)
            else:
                log.append(step, loss=value)
        else:  # some points miss the metric
            log.append(step, **({"loss": value} if rng.random() < 0.7 else {"acc": value}))
    return log


def test_packed_curve_equals_log_curve_on_every_kind_of_log():
    rng = random.Random(0)
    kinds = ("scalar", "loss", "two", "other", "mixed", "partial")
    fast = {k: 0 for k in kinds}
    for _ in range(600):
        kind = rng.choice(kinds)
        log = _log(rng, kind)
        trial = Trial(0, {"x": 0.1}, {"loss": 1.0}, TrialState.COMPLETE, log=log)
        for objective in ("loss", "value"):
            want = log_curve(trial, objective)
            got = _packed_curve(log, objective)
            if got is _GENERAL:
                continue
            fast[kind] += 1
            if want is None:
                assert got is None
            else:
                np.testing.assert_array_equal(got[0], want[0])
                np.testing.assert_array_equal(got[1], want[1])
    assert min(fast[k] for k in ("scalar", "loss", "two", "other")) > 50  # the fast path is taken


def test_curves_of_an_experiment_match_the_general_rule():
    rng = random.Random(1)
    trials = [Trial(i, {"x": rng.random()}, {"loss": rng.random()}, TrialState.COMPLETE,
                    log=_log(rng, rng.choice(("scalar", "loss", "mixed", "partial")))) for i in range(80)]
    exp = Experiment(SearchSpace({"x": Float(0.0, 1.0)}), {"loss": "min"}, trials)
    cs = curves(exp, "loss")
    want = [(t, log_curve(t, "loss")) for t in trials]
    want = [(t, c) for t, c in want if c is not None]
    assert [t.number for t in cs.trials] == [t.number for t, _ in want]
    for s, v, (_, c) in zip(cs.steps, cs.values, want):
        np.testing.assert_array_equal(s, c[0])
        np.testing.assert_array_equal(v, c[1])


def test_shared_reads_each_experiments_curves_once_and_only_in_its_thread():
    rng = random.Random(2)
    trials = [Trial(i, {"x": rng.random()}, {"loss": rng.random()}, TrialState.COMPLETE,
                    log=_log(rng, rng.choice(("scalar", "loss", "two")))) for i in range(40)]
    exp = Experiment(SearchSpace({"x": Float(0.0, 1.0)}), {"loss": "min"}, trials)
    other = Experiment(SearchSpace({"x": Float(0.0, 1.0)}), {"loss": "min"}, trials[:10])
    alone, n_other = curves(exp, "loss"), len(curves(other, "loss"))
    assert curves(exp, "loss") is not alone  # no sharing outside the block
    seen = []
    with shared():
        cs = curves(exp, "loss")
        assert curves(exp, "loss") is cs  # read once
        assert curves(other, "loss") is not cs and len(curves(other, "loss")) == n_other
        assert [t.number for t in cs.trials] == [t.number for t in alone.trials]
        for t, s, v, s0, v0 in zip(cs.trials, cs.steps, cs.values, alone.steps, alone.values):
            np.testing.assert_array_equal(s, s0)
            np.testing.assert_array_equal(v, v0)
            got = trial_curve(t, "loss")
            assert got[0] is s and got[1] is v  # each trial's curve is the shared one
        thread = threading.Thread(target=lambda: seen.append(curves(exp, "loss")))
        thread.start()
        thread.join()
        assert seen[0] is not cs  # another thread reads its own
    assert curves(exp, "loss") is not cs  # the block ended
