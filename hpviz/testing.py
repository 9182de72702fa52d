"""Test helpers: trial factories and the adapter conformance suite.

``make_experiment`` builds synthetic experiments for analysis and report
tests. :class:`AdapterConformance` is a pytest base class that each
adapter's tests subclass, so the three adapters are held to one contract by
the same tests (the subclass runs the real framework; nothing is mocked).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hpviz.reservoir import ReservoirLog
from hpviz.schema import Categorical, Experiment, Float, Int, SearchSpace, Trial, TrialState

__all__ = ["make_trial", "make_experiment", "CONFORMANCE_SPACE", "conformance_objective", "AdapterConformance"]


def make_trial(number: int, params: Mapping[str, Any], value: float | None = None, *,
               state: TrialState | str = TrialState.COMPLETE, objective: str = "value", **kwargs: Any) -> Trial:
    """A Trial with one objective; ``value=None`` gives no value."""
    values = {} if value is None else {objective: value}
    return Trial(number, dict(params), values, state, **kwargs)


def make_experiment(
    n_trials: int = 50,
    space: SearchSpace | None = None,
    fn: Callable[[dict[str, Any]], float] | None = None,
    *,
    seed: int = 0,
    direction: str = "min",
    objective: str = "value",
    log_steps: int = 0,
    fail_rate: float = 0.0,
    prune_rate: float = 0.0,
    name: str = "synthetic",
) -> Experiment:
    """Random-search experiment over ``space`` with objective ``fn(params)``.

    Parameters are sampled uniformly on their search scale. ``log_steps > 0``
    adds a learning curve per trial that converges to the final value;
    ``fail_rate``/``prune_rate`` mark that fraction of trials FAIL/PRUNED.
    Timestamps are one second apart.
    """
    import datetime as dt

    rng = np.random.default_rng(seed)
    if space is None:
        space = SearchSpace({
            "x": Float(-5.0, 5.0),
            "lr": Float(1e-5, 1e-1, log=True),
            "units": Int(8, 256, log=True),
            "act": Categorical(["relu", "tanh", "gelu"]),
        })
    if fn is None:
        def fn(p: dict[str, Any]) -> float:
            value = (p.get("x", 0.0) - 1.0) ** 2 + 0.5 * (math.log10(p.get("lr", 1e-3)) + 3.0) ** 2
            return value + (0.0 if p.get("act") == "relu" else 0.5)
    exp = Experiment(space, {objective: direction}, name=name, source="synthetic")
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for i in range(n_trials):
        params = sample_params(space, rng)
        value = float(fn(params))
        u = rng.random()
        state = TrialState.COMPLETE
        if u < fail_rate:
            state = TrialState.FAIL
        elif u < fail_rate + prune_rate:
            state = TrialState.PRUNED
        log = None
        if log_steps:
            log = ReservoirLog(capacity=max(2, min(log_steps, 512)), seed=i)
            stop = log_steps if state is not TrialState.PRUNED else max(1, log_steps // 3)
            for step in range(stop):
                log.append(step, **{objective: value + (2.0 + abs(value)) * math.exp(-4.0 * step / log_steps)})
        exp.add(Trial(i, params, {} if state is TrialState.FAIL else {objective: value}, state, log=log,
                      started=t0 + dt.timedelta(seconds=i), finished=t0 + dt.timedelta(seconds=i + 0.9)))
    return exp


def sample_params(space: SearchSpace, rng: np.random.Generator) -> dict[str, Any]:
    """One configuration drawn uniformly on each parameter's search scale."""
    params: dict[str, Any] = {}
    for name, p in space.items():
        if isinstance(p, Categorical):
            params[name] = p.choices[int(rng.integers(len(p.choices)))]
        else:
            lo, hi = p.search_bounds
            v = float(p.from_search_scale(rng.uniform(lo, hi)))
            if isinstance(p, Int):
                v = int(min(p.high, max(p.low, p.low + round((v - p.low) / p.step) * p.step)))
            elif p.step is not None:
                v = min(p.high, max(p.low, p.low + round((v - p.low) / p.step) * p.step))
            params[name] = v
    return params


# --------------------------------------------------------------------------- conformance

#: The space every adapter's conformance run searches (in its native form).
CONFORMANCE_SPACE = SearchSpace({
    "x": Float(-5.0, 5.0),
    "lr": Float(1e-4, 1e-1, log=True),
    "layers": Int(1, 4),
    "act": Categorical(["relu", "tanh"]),
})


def conformance_objective(params: Mapping[str, Any]) -> float:
    """Loss minimized in conformance runs: best near x=1, lr=1e-2, layers=2, act='relu'."""
    return ((params["x"] - 1.0) ** 2 + (math.log10(params["lr"]) + 2.0) ** 2
            + 0.1 * (params["layers"] - 2) ** 2 + (0.0 if params["act"] == "relu" else 0.3))


class AdapterConformance:
    """Contract every adapter must meet. Subclass it in the adapter's tests.

    The subclass implements, with the real framework (tiny runs, no mocks):

    - ``run(tmp_path, n_trials)`` -> ``(native_result, options)``: minimize
      :func:`conformance_objective` over :data:`CONFORMANCE_SPACE` (as a
      native space), where the trial with index 2 fails (raises or returns a
      failure status, as the framework allows). ``hpviz.experiment(native_result,
      **options)`` must convert it.
    - ``export_space(space)`` -> native space, and ``import_space(native)`` -> SearchSpace.
    - ``make_callback(**options)`` -> the adapter's live callback (a
      :class:`hpviz.recording.Recorder`) for the conformance run, with ``options``
      (``report_path``, ``every``, ``report_options``, or unknown names) passed on.
    - ``run_recorded(tmp_path, callback, n_trials)`` -> ``(native_result, options)``:
      the same run as ``run`` with ``callback`` plugged in (and the framework's
      end-of-run call, if it has one); the result converts offline like ``run``'s.

    The callback tests hold every adapter to one contract: unknown options and
    bad report paths fail at construction, ``cb.experiment`` is an Experiment
    (a snapshot) before the first trial, ``report()`` on an empty callback raises
    the same error, ``next_round`` returns the round index, a failing report never
    stops the run, and the live record equals the offline conversion trial for trial.
    """

    framework: str = ""
    n_trials: int = 8

    # hooks for the subclass -------------------------------------------------
    def run(self, tmp_path: Path, n_trials: int) -> tuple[Any, dict[str, Any]]:  # pragma: no cover
        raise NotImplementedError

    def export_space(self, space: SearchSpace) -> Any:  # pragma: no cover
        raise NotImplementedError

    def import_space(self, native: Any) -> SearchSpace:  # pragma: no cover
        raise NotImplementedError

    def make_callback(self, **options: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def run_recorded(self, tmp_path: Path, callback: Any, n_trials: int) -> tuple[Any, dict[str, Any]]:  # pragma: no cover
        raise NotImplementedError

    # the contract: conversion -----------------------------------------------
    def _converted(self, tmp_path: Path) -> Experiment:
        import hpviz

        native, options = self.run(tmp_path, self.n_trials)
        return hpviz.experiment(native, **options)

    def test_conversion_matches_the_run(self, tmp_path: Path) -> None:
        exp = self._converted(tmp_path)
        assert isinstance(exp, Experiment)
        assert set(exp.space) == set(CONFORMANCE_SPACE)
        for name, param in CONFORMANCE_SPACE.items():
            got = exp.space[name]
            assert type(got) is type(param), name
            if isinstance(param, Categorical):
                assert set(got.choices) == set(param.choices)
            else:
                assert math.isclose(got.low, param.low, rel_tol=1e-9) and math.isclose(got.high, param.high, rel_tol=1e-9)
                assert got.log == param.log, name
        assert len(exp.objectives) == 1 and list(exp.objectives.values()) == ["min"]
        assert len(exp.trials) == self.n_trials
        assert [t.number for t in exp.trials] == sorted(t.number for t in exp.trials)
        states = [t.state for t in exp.trials]
        assert TrialState.FAIL in states
        complete = exp.completed()
        assert len(complete) >= self.n_trials - 2
        obj = exp.primary
        for t in complete:
            # the recorded loss is the objective of the recorded params
            assert math.isclose(t.values[obj], conformance_objective(t.params), rel_tol=1e-6, abs_tol=1e-9)
            for name, param in CONFORMANCE_SPACE.items():
                assert param.contains(t.params[name]), (name, t.params[name])
        best = exp.best()
        assert best is not None
        assert best.values[obj] == min(t.values[obj] for t in complete)

    def test_saved_and_loaded_losslessly(self, tmp_path: Path) -> None:
        import hpviz

        exp = self._converted(tmp_path)
        path = exp.save(tmp_path / "exp.json")
        back = hpviz.load(path)
        assert back.space == exp.space and back.objectives == exp.objectives
        assert _comparable(back) == _comparable(exp)

    def test_space_round_trip(self) -> None:
        native = self.export_space(CONFORMANCE_SPACE)
        assert self.import_space(native) == CONFORMANCE_SPACE

    # the contract: the live callback (hpviz.recording.Recorder) ----------------
    def test_callback_rejects_unknown_options_listing_the_allowed_ones(self) -> None:
        import pytest

        with pytest.raises(TypeError) as info:
            self.make_callback(reprot_path="r.html")
        message = str(info.value)
        assert "reprot_path" in message and "report_path" in message and "every" in message
        with pytest.raises(TypeError) as info:
            self.make_callback(report_options={"format": "pdf"})
        assert "format" in str(info.value) and "views" in str(info.value)

    def test_callback_rejects_bad_report_paths_at_construction(self, tmp_path: Path, monkeypatch: Any) -> None:
        import pytest

        from hpviz.errors import SchemaError

        blocker = tmp_path / "a-file"
        blocker.write_text("a file where a folder should be")
        for bad in (tmp_path / "report.txt", blocker / "report.html", blocker / "sub" / "report.pdf"):
            with pytest.raises(SchemaError) as info:
                self.make_callback(report_path=bad)
            assert str(bad) in str(info.value)  # the user's path, not a temporary file's
        with pytest.raises(SchemaError, match="every"):
            self.make_callback(every=0)
        monkeypatch.setenv("HOME", str(tmp_path))
        cb = self.make_callback(report_path="~/reports/r.html")
        assert cb.report_path == tmp_path / "reports" / "r.html"

    def test_callback_before_the_first_trial(self) -> None:
        import pytest

        from hpviz.errors import InsufficientDataError
        from hpviz.recording import EMPTY_REPORT_MESSAGE, Recorder

        cb = self.make_callback()
        assert isinstance(cb, Recorder)
        exp = cb.experiment
        assert isinstance(exp, Experiment) and len(exp) == 0 and exp.framework == self.framework
        assert cb.experiment is not exp  # a snapshot per access
        assert cb.n_recorded == 0 and cb.round == 0 and cb.live is False
        with pytest.raises(InsufficientDataError, match=EMPTY_REPORT_MESSAGE):
            cb.report()
        assert "live" in type(cb).allowed_options()  # the live view is a Recorder feature of every adapter

    def test_callback_survives_unwritable_report(self, tmp_path: Path, caplog: Any) -> None:
        import pytest

        folder = tmp_path / "reports"
        folder.mkdir()
        cb = self.make_callback(report_path=folder / "report.html", every=2)
        folder.rmdir()  # the location breaks after construction, during the run
        folder.write_text("a file where the report's folder should be")
        with caplog.at_level(logging.WARNING):
            self.run_recorded(tmp_path, cb, self.n_trials)
            cb.wait()
        assert len(cb.experiment.trials) == self.n_trials
        warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert any(m.startswith("hpviz:") and str(folder) in m for m in warned), warned
        with pytest.raises(Exception):  # noqa: B017 - asked for directly, the failure propagates
            cb.report()

    def test_live_callback_equals_offline_conversion(self, tmp_path: Path) -> None:
        import pickle

        import hpviz
        from hpviz.schema import Change

        out = tmp_path / "live" / "report.html"
        cb = self.make_callback(report_path=out, every=3, report_options={"views": ["progress"]})
        native, options = self.run_recorded(tmp_path, cb, self.n_trials)
        live, offline = cb.experiment, hpviz.experiment(native, **options)
        assert live.framework == self.framework and cb.n_recorded == self.n_trials
        assert live.objectives == offline.objectives and live.space == offline.space
        assert _comparable(live) == _comparable(offline)  # trial for trial: numbers, states, params, values
        # the final report waits for a periodic one in flight and is complete
        assert cb.report() == out and out.stat().st_size > 0
        # a pickled copy (some frameworks pickle callbacks) records the same
        back = pickle.loads(pickle.dumps(cb))
        assert _comparable(back.experiment) == _comparable(live)
        # next_round returns the new round's index; a snapshot taken before does not change
        narrow = CONFORMANCE_SPACE.replace(x=Float(-1.0, 2.0))
        change = Change("x", "shrink", CONFORMANCE_SPACE["x"], narrow["x"], "conformance")
        assert cb.next_round(narrow, [change]) == 1 == cb.round
        exp = cb.experiment
        assert len(exp.rounds) == 2 and exp.rounds[1].space == narrow and exp.rounds[1].changes == (change,)
        assert all(t.round == 0 for t in exp.trials) and len(live.rounds) == 1


def _comparable(exp: Experiment) -> list:
    """Trials as tuples that compare equal when equal (NaN values become None, since NaN != NaN)."""
    return [(t.number, t.state, t.params, {k: (None if math.isnan(v) else v) for k, v in t.values.items()})
            for t in exp.trials]
