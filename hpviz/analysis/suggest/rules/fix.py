"""``fix``: a parameter that demonstrably does not matter is fixed to its value in the best trial."""

from __future__ import annotations

from typing import Any

from hpviz._numbers import MISSING, fmt_p, fmt_value
from hpviz.analysis._importance_stats import FIX_LEVEL
from hpviz.analysis.suggest.context import Context, binned_bound
from hpviz.schema import Categorical, Change, Float, Int, Param


def rule_fix(name: str, param: Param, ctx: Context) -> Change | None:
    th = ctx.th
    imp = ctx.importance_of(name)
    if imp is None or len(ctx.trials) < th.fix_min_trials:
        return None
    ind, std = imp
    upper = ind + 2.0 * std
    if not upper < th.fix_max_importance:
        return None
    # The forest underestimates small shares; the binned estimate's upper confidence bound must also
    # rule out a share at the threshold (hpviz.analysis._importance_stats; docs/suggestions.md).
    binned, binned_upper = binned_bound(name, param, ctx)
    if not binned_upper < th.fix_max_importance:
        return None
    # Only when some other parameter demonstrably matters (important, and a significant test):
    # on a noise objective every importance is a fluke, and fixing would only hide that.
    others = ctx.imp.individual.drop(name)
    others = others[[o for o in others.index if o in ctx.signal and ctx.signal[o] < ctx.alpha
                     and others[o] >= th.min_importance]]
    if others.empty:
        return None
    top_name, top = str(others.idxmax()), float(others.max())
    if not isinstance(param, Categorical) and not ctx.allows("change_kind"):
        ctx.notes.append(f"{name}: unimportant (importance {ind:.2g} ± {std:.2g}), but fixing it would make it a "
                         f"single choice, a change of kind {ctx.framework} cannot take between rounds; not fixed")
        return None
    for i in ctx.order:
        raw = ctx.trials[i].params.get(name, MISSING)
        if raw is not MISSING and param.contains(raw):
            break
    else:
        return None
    if isinstance(param, Int):
        value: Any = int(raw)
    elif isinstance(param, Float):
        value = float(raw)
    else:
        value = param.choices[param.index(raw)]
    trial = ctx.trials[i]
    reason = (f"importance {ind:.2g} ± {std:.2g} (mean + 2 std = {upper:.2g}; binned estimate {binned:.2g}, "
              f"{FIX_LEVEL:.0%} upper bound {binned_upper:.2g}; both < {th.fix_max_importance:g}; "
              f"{top_name!r} has {top:.2g}, test p={fmt_p(ctx.signal[top_name])}); fixed to {fmt_value(value)}, its value in the best trial "
              f"#{trial.number} ({ctx.objective}={fmt_value(ctx.value(i))})")
    return Change(name, "fix", param, Categorical([value]), reason)
