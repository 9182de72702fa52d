"""Progress and algorithm diagnosis: is the optimizer working, and is it configured well?

:func:`diagnose` computes the best value so far (over trial order and over
wall time; the normalized hypervolume for multi-objective experiments) and a
list of :class:`Finding` objects, each with a stable ``code``. Layout:

``thresholds``
    Every threshold, as a named constant with its reason.
``registry``
    The rules :func:`diagnose` loops over and the finding codes (``CODES``).
``rules/<name>``
    One module per finding rule: ``too_few`` (``too-few-trials``),
    ``failures`` (``high-failure-rate``), ``random_order``
    (``not-better-than-random``), ``progress`` (``no-improvement``,
    ``still-improving``), ``pruning`` (``pruner-misranks``), ``boundary``
    (``best-at-boundary``), ``collapsed`` (``collapsed-exploration``),
    ``duplicates`` (``duplicate-configs``). Each module's docstring states
    its rule.
``curves``
    Best so far over trials and over time, and the hypervolume.
``result``
    :class:`Finding` and :class:`Diagnosis`.

Finding messages are framework-neutral. Advice in a framework's own terms
(which sampler or pruner setting to change) comes from the adapter whose id
is ``Experiment.framework``, through the ``hpviz_finding_advice`` hook, and
is stored in ``Finding.advice``. ``docs/diagnosis.md`` explains each
threshold and what to do when a finding fires.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from hpviz._columns import trial_columns
from hpviz._severity import SEVERITIES, severity_rank
from hpviz._validate import keywords_checked
from hpviz._warn import warn
from hpviz.analysis.diagnose import rules as _rules  # noqa: F401 - registers the rules
from hpviz.analysis.diagnose.curves import best_so_far, best_so_far_time, hypervolume
from hpviz.analysis.diagnose.registry import CODES, RULES, Context
from hpviz.analysis.diagnose.result import Diagnosis, Finding
from hpviz.analysis.diagnose.thresholds import *  # noqa: F403 - the thresholds are part of this namespace
from hpviz.analysis.diagnose.thresholds import __all__ as _THRESHOLDS
from hpviz.convert import experiment as _to_experiment
from hpviz.errors import HpvizWarning

__all__ = ["diagnose", "Diagnosis", "Finding", "CODES", "SEVERITIES", *_THRESHOLDS]

_CODE_RANK = {c: i for i, c in enumerate(CODES)}


def _with_advice(findings: list[Finding], framework: str | None) -> list[Finding]:
    """Ask the adapter of ``framework`` for advice in its own terms (``hpviz_finding_advice``)."""
    if framework is None or not findings:
        return findings
    from hpviz.plugins import get_plugin_manager

    hook = get_plugin_manager().hook.hpviz_finding_advice
    out = []
    for f in findings:
        try:
            advice = hook(code=f.code, evidence=dict(f.evidence), framework=framework)
        except Exception as exc:  # noqa: BLE001 - a broken adapter must not take the diagnosis down
            warn(f"the {framework!r} adapter failed to advise on {f.code} ({type(exc).__name__}: {exc}); "
                 "the finding is shown without framework advice", HpvizWarning)
            advice = None
        out.append(dataclasses.replace(f, advice=str(advice)) if advice else f)
    return out


@keywords_checked
def diagnose(obj: Any, objective: str | None = None, *, seed: int = 0) -> Diagnosis:
    """Diagnose the progress of a search and the configuration of its algorithm.

    Parameters
    ----------
    obj:
        An :class:`hpviz.Experiment` or anything :func:`hpviz.experiment` accepts.
    objective:
        Objective to diagnose (default: the primary one).
    seed:
        Seed of the permutation test, the log subsample and the Monte Carlo
        hypervolume; equal seeds give equal results.

    Returns
    -------
    Diagnosis
        ``best_so_far`` (and over time, hypervolume) and the findings, most
        serious first. Failed, pruned, NaN and running trials are accounted
        for; infeasible trials never set the best value; an empty experiment
        yields only ``too-few-trials``.

    Raises
    ------
    SchemaError
        ``objective`` is not an objective of the experiment.
    UnsupportedObjectError
        ``obj`` cannot be converted to an Experiment.
    """
    exp = _to_experiment(obj)
    objective = exp.objective(objective)
    cols = trial_columns(exp, objective)
    ctx = Context(cols, seed)
    findings: list[Finding] = []
    for r in RULES:
        findings.extend(r.check(ctx))
    findings.sort(key=lambda f: (severity_rank(f.severity), _CODE_RANK[f.code]))
    findings = _with_advice(findings, exp.framework)
    return Diagnosis(
        objective=objective,
        direction=cols.direction,
        n_trials=len(cols.trials),
        counts=exp.count_by_state(),
        n_usable=ctx.n_usable,
        n_nan=int(np.sum(cols.complete & ~np.isfinite(cols.y))),
        findings=tuple(findings),
        best_so_far=best_so_far(cols),
        best_so_far_time=best_so_far_time(cols),
        hypervolume=hypervolume(cols, seed),
        random_band=ctx.products.get("random_band"),
        step_correlation=ctx.products.get("step_correlation"),
        reliable_step=ctx.products.get("reliable_step"),
    )
