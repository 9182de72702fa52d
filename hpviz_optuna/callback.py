"""``HpvizCallback``: record an Optuna study live, as it runs, and write reports.

A thin adapter on :class:`hpviz.recording.Recorder`: it only translates
Optuna's ``FrozenTrial`` objects (and widens an inferred space as new
distributions appear); validation, numbering across studies, rounds,
snapshots, the ``every=`` schedule, background reports and the never-fatal
guard live in the Recorder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from hpviz import Experiment, SearchSpace, Trial
from hpviz.recording import Recorder

__all__ = ["HpvizCallback"]

_NO_STUDY = "\0no study yet"


class HpvizCallback(Recorder):
    """Optuna callback that records each finished trial; ``study.optimize(objective, callbacks=[cb])``.

    Optuna calls it after each trial that finished (COMPLETE, PRUNED, or FAIL
    when the objective returned NaN/None or raised an exception listed in
    ``catch``). Optuna has no end-of-optimize hook: call ``cb.report()`` after
    ``optimize`` for the final report (it supersedes a periodic one still in flight).

    Parameters
    ----------
    report_path, every, log_capacity, name, report_options, live:
        See :class:`hpviz.recording.Recorder` (checked at construction;
        ``every`` counts recorded trials). ``name`` defaults to the study name.
    space:
        The declared space of round 0. By default the space is the union of the
        distributions the recorded trials used, widened as new ones appear.

    Notes
    -----
    The callback stores Optuna's own copy of each trial (Optuna deep-copies
    every trial it hands to a callback; no callback can avoid that cost) and
    converts it when :attr:`experiment` is read or a report is due, so it
    costs the optimization next to nothing. Thread-safe with ``n_jobs > 1``
    (Optuna then calls it from several threads at once).

    One callback may follow several studies one after the other (Optuna
    cannot change a categorical's choices or a parameter's log scale within
    a study, so a refined round usually needs a new study): the trials of
    each new study are numbered after the ones recorded before, and keep
    their Optuna number and study name in ``attrs["optuna_number"]`` and
    ``attrs["optuna_study"]``.
    """

    framework = "optuna"

    def __init__(
        self,
        report_path: str | os.PathLike | None = None,
        every: int | None = None,
        log_capacity: int = 512,
        *,
        space: SearchSpace | Mapping[str, Any] | None = None,
        name: str | None = None,
        report_options: Mapping[str, Any] | None = None,
        live: bool = False,
        **unknown: Any,
    ):
        super().__init__(report_path=report_path, every=every, log_capacity=log_capacity, name=name,
                         report_options=report_options, space=space, live=live, unknown=unknown)
        self._inferred: dict[str, list[Any]] = {}  # round-0 parameter -> hpviz params seen (inferred space)
        self._seen_dists: set[Any] = set()
        self._study: tuple[dict[str, str], str | None] | None = None  # (objectives, first study's name)
        self._pending: list[tuple[int, int, Any, Any]] = []  # (round, number offset, study, trial) to convert
        self._current: tuple[Any, int] = (_NO_STUDY, 0)  # (study name, offset) of the last call

    # ------------------------------------------------------------------ callback
    def __call__(self, study: Any, frozen_trial: Any) -> None:
        # The hot path (once per trial, maybe from several threads): no conversion here, only a
        # reference to Optuna's own deep copy of the trial; try/except rather than a context manager.
        try:
            with self._lock:
                key = study.study_name
                if key != self._current[0]:
                    self._current = (key, self._study_offset(study, key, frozen_trial.number))
                offset = self._current[1]
                number = offset + frozen_trial.number
                if number > self._max_number:
                    self._max_number = number
                self._pending.append((len(self._rounds) - 1, offset, key, frozen_trial))
        except Exception as exc:  # noqa: BLE001 - never break the user's optimization
            self._warn_failure(f"recording Optuna trial {getattr(frozen_trial, 'number', '?')}", exc)
            return
        self._trials_recorded(1)

    def _study_offset(self, study: Any, key: Any, number: int) -> int:
        """Trials of a later study (e.g. one study per round) are numbered after those seen so far."""
        from hpviz_optuna.convert import objective_names

        if key in self._offsets:
            return self._offsets[key]
        objectives = objective_names(study)
        if self._study is None:
            self._study = (objectives, key)
            return self._offset_for(key, number)
        if list(objectives.values()) != list(self._study[0].values()):
            import logging

            logging.getLogger("hpviz").warning(
                "hpviz: study %r optimizes %s, unlike the first study recorded (%s); its values are recorded "
                "under the first study's objectives", key, objectives, self._study[0])
        # Continue after the trials seen so far, from the lowest number this study may still
        # report (a trial still running in another thread may finish after this one).
        from optuna.trial import TrialState as OptunaState

        active = study.get_trials(deepcopy=False, states=(OptunaState.RUNNING, OptunaState.WAITING))
        return self._offset_for(key, min([number, *(t.number for t in active)]))

    # ------------------------------------------------------------------ Recorder hooks
    @property
    def default_objectives(self) -> dict[str, str]:  # type: ignore[override]
        return dict(self._study[0]) if self._study is not None else {"value": "min"}

    def _refresh(self) -> None:
        """Convert the pending trials into the experiment. Caller holds the lock."""
        if not self._pending:
            return
        from hpviz_optuna.convert import param_from_distribution, trial_from_frozen

        pending, self._pending = self._pending, []
        if self._exp is None:
            assert self._study is not None
            objectives, study_name = self._study
            self._exp = self._rounds_into(Experiment(
                self._rounds[0][0] or SearchSpace({}), objectives,
                name=self.name or study_name, source="optuna", framework=self.framework,
            ))
        names = list(self._exp.objectives)
        new = False
        trials = []
        first_study = self._study[1] if self._study is not None else None
        for rnd, offset, key, ft in pending:
            with self._guard(f"converting Optuna trial {getattr(ft, 'number', '?')}"):
                if rnd == 0 and not self._declared:
                    for pname, dist in ft.distributions.items():
                        dkey = (pname, dist)
                        try:
                            if dkey in self._seen_dists:  # the common case: one set lookup per parameter
                                continue
                            self._seen_dists.add(dkey)
                        except TypeError:  # unhashable choices: compare below
                            pass
                        param = param_from_distribution(dist)
                        known = self._inferred.setdefault(pname, [])
                        if param not in known:
                            known.append(param)
                            new = True
                trial = trial_from_frozen(ft, names, log_capacity=self.log_capacity, round=rnd)
                if key != first_study:
                    attrs = {**trial.attrs, "optuna_study": key, "optuna_number": ft.number}
                    trial = replace(trial, number=offset + ft.number, attrs=attrs)
                trials.append(trial)
        if new:
            with self._guard("widening the inferred search space"):
                self._widen_round0(trials)
        for trial in trials:
            with self._guard(f"recording Optuna trial {trial.number}"):
                self._exp.add(trial)

    def _widen_round0(self, incoming: list[Trial]) -> None:
        # Rounds are frozen in the Experiment: rebuild it with the wider round-0 space (rare:
        # only when a parameter or a distribution appears for the first time).
        from hpviz_optuna.convert import merge_params

        old = self._exp
        assert old is not None
        trials = old.trials + incoming

        def observed(name: str) -> list[Any]:
            if len(self._inferred[name]) < 2:
                return []
            return [t.params[name] for t in trials if name in t.params]

        space = SearchSpace({n: merge_params(ps, observed(n)) for n, ps in self._inferred.items()})
        self._rounds[0] = (space, (), None)
        exp = self._rounds_into(Experiment(space, old.objectives, name=old.name, source=old.source,
                                           framework=self.framework))
        for t in old.trials:
            exp.add(t)
        self._exp = exp
