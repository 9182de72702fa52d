"""The Hyperopt callback across several ``fmin`` calls (real fmin, real pickling of Trials)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

hyperopt = pytest.importorskip("hyperopt")
from hyperopt import STATUS_OK, Trials, fmin, hp, tpe  # noqa: E402

import hpviz  # noqa: E402
from hpviz_hyperopt import HpvizCallback, from_trials  # noqa: E402
from hpviz_hyperopt._compat import dynamic_trials, exp_key  # noqa: E402

SPACE = {"x": hp.uniform("x", -5.0, 5.0), "lr": hp.loguniform("lr", math.log(1e-4), math.log(1e-1))}


def loss(p):
    return {"status": STATUS_OK, "loss": (p["x"] - 1.0) ** 2 + (math.log10(p["lr"]) + 2.0) ** 2}


def _fmin(trials, max_evals, cb, seed):
    fmin(loss, SPACE, algo=tpe.suggest, max_evals=max_evals, trials=trials, early_stop_fn=cb,
         rstate=np.random.default_rng(seed), show_progressbar=False)


def test_pickled_and_reloaded_trials_are_recorded_once(tmp_path):
    # The pattern Hyperopt's docs show: run, pickle the Trials, reload, continue with a larger max_evals.
    cb = HpvizCallback(SPACE)
    trials = Trials()
    _fmin(trials, 100, cb, 0)
    path = tmp_path / "trials.pkl"
    path.write_bytes(pickle.dumps(trials))
    for total in (150, 200):
        trials = pickle.loads(path.read_bytes())  # our own file, written just above
        _fmin(trials, total, cb, total)
        path.write_bytes(pickle.dumps(trials))
    assert len(trials.trials) == 200
    exp = cb.experiment
    assert len(exp) == 200 == cb.n_recorded  # not 100 + 150 + 200 - ... : each evaluation once
    assert [t.number for t in exp.trials] == [d["tid"] for d in trials.trials] == list(range(200))
    offline = from_trials(trials, SPACE)
    assert [(t.number, t.params, t.values) for t in exp.trials] == [(t.number, t.params, t.values)
                                                                    for t in offline.trials]
    codes = {f.code for f in hpviz.diagnose(exp).findings}
    assert "duplicate-configs" not in codes


def test_a_fresh_trials_object_is_numbered_after_the_first():
    cb = HpvizCallback(SPACE)
    _fmin(Trials(), 5, cb, 0)
    second = Trials()
    _fmin(second, 4, cb, 1)
    exp = cb.experiment
    assert [t.number for t in exp.trials] == list(range(9))
    assert [t.params for t in exp.trials[5:]] == [from_trials(second, SPACE).trials[i].params for i in range(4)]


def test_compat_reads_the_private_attributes():
    trials = Trials()
    _fmin(trials, 3, None, 0)
    docs = dynamic_trials(trials)
    assert isinstance(docs, list) and [d["tid"] for d in docs] == [0, 1, 2]
    assert exp_key(trials) is None and exp_key(Trials(exp_key="k")) == "k"
    assert dynamic_trials(object()) is None
