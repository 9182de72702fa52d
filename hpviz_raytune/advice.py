"""Ray Tune's own words for hpviz findings and refined spaces (the ``hpviz_space_code`` and
``hpviz_finding_advice`` hooks): paste-able ``param_space`` code, and which Tune setting to change
for a finding (ASHA/HyperBand schedulers, PBT, search algorithms).

The core's finding messages stay framework-neutral; the report shows these after them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import hpviz
from hpviz_raytune.space import unflatten

__all__ = ["space_code", "finding_advice", "EXPORT_CONSTRAINTS"]

#: Ray Tune takes log-scaled parameters on a step grid (``qloguniform``/``qlograndint``), and each
#: round is a new ``Tuner``, so a parameter may change kind between rounds.
EXPORT_CONSTRAINTS = {"log_with_step": True, "change_kind": True}


def _r(v: Any) -> str:
    return repr(v.item() if hasattr(v, "item") else v)


def domain_code(p: Any) -> str:
    """The ``tune.*`` expression for one hpviz parameter (same mapping as :func:`hpviz_raytune.to_tune`)."""
    if isinstance(p, hpviz.Categorical):
        return f"tune.choice({list(p.choices)!r})"
    if isinstance(p, hpviz.Int):
        if p.step != 1:
            return f"tune.{'qlograndint' if p.log else 'qrandint'}({p.low!r}, {p.high!r}, {p.step!r})"
        # randint/lograndint exclude the upper bound
        return f"tune.{'lograndint' if p.log else 'randint'}({p.low!r}, {p.high + 1!r})"
    if p.step is not None:
        return f"tune.{'qloguniform' if p.log else 'quniform'}({_r(p.low)}, {_r(p.high)}, {_r(p.step)})"
    return f"tune.{'loguniform' if p.log else 'uniform'}({_r(p.low)}, {_r(p.high)})"


def _dict_code(tree: Mapping[str, Any], indent: int) -> str:
    pad = "    " * indent
    lines = []
    for key, value in tree.items():
        if isinstance(value, Mapping):
            lines.append(f"{pad}    {key!r}: {_dict_code(value, indent + 1)},")
        else:
            lines.append(f"{pad}    {key!r}: {value},")
    return "{\n" + "\n".join(lines) + f"\n{pad}}}"


def space_code(space: hpviz.SearchSpace) -> str:
    """Paste-able ``param_space = {...}`` for ``tune.Tuner`` (dotted names nested back, as Tune configs are)."""
    try:
        tree = unflatten({name: domain_code(p) for name, p in space.items()})
    except hpviz.SchemaError:  # a name clash: keep the flat names
        tree = {name: domain_code(p) for name, p in space.items()}
    return ("# Ray Tune: the refined param_space for tune.Tuner(..., param_space=param_space)\n"
            "from ray import tune\n\n"
            f"param_space = {_dict_code(tree, 0)}\n\n"
            "# or export it: hpviz_raytune.to_tune(hpviz.suggest_space(results).space)")


def _n(x: Any) -> str:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    return str(int(f)) if f.is_integer() else f"{f:.3g}"


def finding_advice(code: str, evidence: Mapping[str, Any]) -> str | None:
    """What to change in a Ray Tune run for the finding ``code`` (``None``: nothing Ray-specific)."""
    if code == "pruner-misranks":
        step = evidence.get("reliable_step")
        if step is None:
            return ("In Ray Tune: stop fewer trials early: use FIFOScheduler (no early stopping) or an ASHAScheduler "
                    "with a grace_period close to max_t.")
        return (f"In Ray Tune: ASHAScheduler(grace_period={_n(step)}), so no trial is stopped before step "
                f"{_n(step)} (a lower reduction_factor also stops fewer trials).")
    if code == "duplicate-configs":
        size = evidence.get("n_distinct_possible")
        grid = (f" The space has {_n(size)} configurations: tune.grid_search over them with num_samples=1 "
                "evaluates each exactly once." if size else "")
        return ("In Ray Tune: the default BasicVariantGenerator samples with replacement, so tune.choice / "
                "tune.qrandint spaces repeat configurations; OptunaSearch or HyperOptSearch skip known "
                "configurations better, or make the discrete parameters continuous." + grid)
    if code == "collapsed-exploration":
        return ("In Ray Tune: give the search algorithm more random start-up trials (OptunaSearch(sampler="
                "optuna.samplers.TPESampler(n_startup_trials=...)), HyperOptSearch(n_initial_points=...)); with "
                "PopulationBasedTraining, widen hyperparam_mutations or raise resample_probability.")
    if code == "high-failure-rate":
        return ("In Ray Tune: each failed trial's traceback is in error.txt in its trial folder; "
                "tune.RunConfig(failure_config=tune.FailureConfig(max_failures=...)) retries transient failures.")
    if code == "too-few-trials":
        return "In Ray Tune: raise tune.TuneConfig(num_samples=...)."
    return _questions_advice(code, evidence)


def _questions_advice(code: str, evidence: Mapping[str, Any]) -> str | None:
    """Early-stopping replay (``early-stopping``) and PBT lineage findings (``pbt-*``)."""
    if code == "early-stopping":
        step = evidence.get("sentinel_step")
        if step is None:
            return None
        eta = evidence.get("reduction_factor")
        sched = f"ASHAScheduler(grace_period={_n(step)}" + (f", reduction_factor={_n(eta)}" if eta else "")
        horizon = evidence.get("horizon")
        sched += f", max_t={_n(horizon)})" if horizon else ")"
        return (f"In Ray Tune: tune.TuneConfig(scheduler={sched}) stops no trial before step {_n(step)} "
                "(time_attr='training_iteration'; HyperBandScheduler takes the same reduction_factor).")
    if code == "pbt-collapsed":
        return ("In Ray Tune: PopulationBasedTraining(quantile_fraction=...) lower than the default 0.25 replaces "
                "fewer trials per exploit, a larger perturbation_interval exploits less often, and a larger "
                "tune.TuneConfig(num_samples=...) keeps more lineages.")
    if code == "pbt-small-perturbations":
        return ("In Ray Tune: PopulationBasedTraining(perturbation_factors=(2.0, 0.5)) moves further than the default "
                "(1.2, 0.8); wider hyperparam_mutations or a higher resample_probability (default 0.25) resample "
                "from the whole range.")
    if code == "pbt-noisy-exploits":
        interval = evidence.get("median_exploit_interval")
        now = f" (now about {_n(interval)} steps)" if interval else ""
        return (f"In Ray Tune: raise PopulationBasedTraining(perturbation_interval=...){now}, or report a smoothed "
                "metric (e.g. a moving average of the last few evaluations) as PBT's metric.")
    return None
