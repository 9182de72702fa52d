"""The diagnosis result objects: :class:`Finding` (one rule's verdict) and :class:`Diagnosis` (all of them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from hpviz._richrepr import RichResult

__all__ = ["Finding", "Diagnosis"]


@dataclass(frozen=True)
class Finding:
    """One diagnosis finding.

    Attributes
    ----------
    code:
        Stable identifier (see :data:`CODES`).
    severity:
        ``"info"``, ``"warning"`` or ``"problem"``.
    message:
        What was seen, with numbers, and what to do about it.
    params:
        Names of the parameters the finding is about (may be empty).
    evidence:
        The numbers behind the message (``name -> float``), e.g.
        ``reliable_step`` for ``pruner-misranks``: what adapters need to
        phrase their advice.
    advice:
        Framework-specific advice for the experiment's framework (from the
        ``hpviz_finding_advice`` hook of the adapter whose id is
        ``Experiment.framework``), shown after the neutral ``message``;
        ``None`` when no adapter has anything to add.
    """

    code: str
    severity: str
    message: str
    params: tuple[str, ...] = ()
    evidence: Mapping[str, float] = field(default_factory=dict)
    advice: str | None = None

    def __str__(self) -> str:
        advice = f" {self.advice}" if self.advice else ""
        return f"[{self.severity}] {self.code}: {self.message}{advice}"


@dataclass(frozen=True, eq=False)
class Diagnosis(RichResult):
    """Result of :func:`diagnose`.

    Attributes
    ----------
    objective, direction:
        The objective diagnosed and its direction (``"min"``/``"max"``).
    n_trials:
        Trials in the experiment, any state.
    counts:
        Trials by state name (``COMPLETE``, ``PRUNED``, ``FAIL``, ``RUNNING``, ``WAITING``).
    n_usable:
        COMPLETE trials with a finite objective value.
    n_nan:
        COMPLETE trials whose value is missing, NaN or infinite (counted as failures).
    findings:
        The findings, most serious first.
    best_so_far:
        Best value so far after each finished trial, indexed by trial number
        (NaN before the first finite value).
    best_so_far_time:
        The same over wall time: indexed by seconds from the first start to
        each trial's finish; ``None`` without timestamps.
    hypervolume:
        With 2+ objectives: the hypervolume dominated by the trials so far,
        indexed like ``best_so_far``. Each objective is scaled to ``[0, 1]``
        by its observed range (best observed -> 0) and the reference point
        is the worst observed value of each objective, so the hypervolume is
        a fraction of the box spanned by the observed values (exact for 2
        objectives, Monte Carlo with a fixed seed for 3+). ``None`` otherwise.
    random_band:
        Best-so-far curves of the same values in random order: DataFrame
        with columns ``low``, ``median``, ``high`` (5%, 50%, 95% quantiles),
        indexed by the numbers of the usable trials (at most
        :data:`MAX_BAND_POINTS` of them, evenly spaced, the last included);
        ``None`` when there are fewer than :data:`MIN_TRIALS`.
    step_correlation:
        Spearman correlation between the logged value at each step and the
        final value, indexed by step; ``None`` without enough logs.
    reliable_step:
        First step from which ``step_correlation`` stays >= :data:`RELIABLE_CORRELATION`.
    """

    objective: str
    direction: str
    n_trials: int
    counts: Mapping[str, int]
    n_usable: int
    n_nan: int
    findings: tuple[Finding, ...]
    best_so_far: pd.Series
    best_so_far_time: pd.Series | None = None
    hypervolume: pd.Series | None = None
    random_band: pd.DataFrame | None = None
    step_correlation: pd.Series | None = None
    reliable_step: float | None = None

    @property
    def n_complete(self) -> int:
        return self.counts.get("COMPLETE", 0)

    @property
    def n_pruned(self) -> int:
        return self.counts.get("PRUNED", 0)

    @property
    def n_failed(self) -> int:
        return self.counts.get("FAIL", 0)

    @property
    def n_running(self) -> int:
        return self.counts.get("RUNNING", 0)

    @property
    def codes(self) -> tuple[str, ...]:
        """Codes of the findings, in order."""
        return tuple(f.code for f in self.findings)

    def by_code(self, code: str) -> tuple[Finding, ...]:
        """The findings with this code (empty when it did not fire)."""
        return tuple(f for f in self.findings if f.code == code)

    def to_dataframe(self) -> pd.DataFrame:
        """The findings as a table: ``code, severity, message, advice, params, evidence`` (most serious first)."""
        return pd.DataFrame(
            [{"code": f.code, "severity": f.severity, "message": f.message, "advice": f.advice,
              "params": f.params, "evidence": dict(f.evidence)} for f in self.findings],
            columns=["code", "severity", "message", "advice", "params", "evidence"],
        )

    def summary(self) -> str:
        """The findings as plain text, one paragraph each."""
        head = (f"{self.n_trials} trials ({', '.join(f'{v} {k}' for k, v in self.counts.items() if v)}); "
                f"objective {self.objective!r} ({self.direction})")
        if not self.findings:
            return head + "\nNo findings."
        return "\n".join([head, *(str(f) for f in self.findings)])

    def __repr__(self) -> str:
        return (f"Diagnosis(objective={self.objective!r}, n_trials={self.n_trials}, "
                f"findings={list(self.codes)})")
