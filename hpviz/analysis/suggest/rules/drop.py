"""``drop-choices``: choices clearly and significantly worse than the best choice (by their effect, not by one lucky trial)."""

from __future__ import annotations

import numpy as np

from hpviz._numbers import fmt_p, fmt_value
from hpviz.analysis._importance_stats import DROP_MAX_WIN, choice_effect
from hpviz.analysis.suggest.context import Context
from hpviz.schema import Categorical, Change


def rule_drop(name: str, param: Categorical, ctx: Context) -> Change | None:
    th = ctx.th
    codes = ctx.codes(name, param)
    counts = np.bincount(codes[codes >= 0], minlength=len(param.choices))
    judged = [c for c in range(len(param.choices)) if counts[c] >= th.drop_min_count]
    if len(judged) < 2:
        return None
    medians = {c: float(np.median(ctx.y[codes == c])) for c in judged}
    ref = min(judged, key=lambda c: (medians[c], c))
    alpha = ctx.alpha / (len(judged) - 1)
    ref_y = ctx.y[codes == ref]
    dropped, parts = [], []
    best_choice = codes[ctx.best]
    for c in judged:
        if c == ref or c == best_choice:  # never drop the reference or the best trial's choice
            continue
        mask = codes == c
        n_good = int(ctx.good[mask].sum())
        p, win = choice_effect(ctx.y[mask], ref_y)
        if p < alpha and win <= DROP_MAX_WIN and ctx.noise is not None \
                and medians[c] - medians[ref] < ctx.noise.value_sd:  # worse by less than one trial's noise
            ctx.notes.append(f"{name}: {fmt_value(param.choices[c])} is worse than {fmt_value(param.choices[ref])} "
                             f"(Mann-Whitney p={fmt_p(p)}), but its median by {abs(medians[c] - medians[ref]):.2g}, "
                             f"less than the SD of a trial's mean score ({ctx.noise.value_sd:.2g}); not dropped")
        elif p < alpha and win <= DROP_MAX_WIN:
            dropped.append(c)
            parts.append(
                f"{fmt_value(param.choices[c])}: {n_good} of its {int(counts[c])} trials among the best "
                f"{int(ctx.good.sum())}; median {ctx.objective} {fmt_value(ctx.sign * medians[c])} vs "
                f"{fmt_value(ctx.sign * medians[ref])} for {fmt_value(param.choices[ref])} (n={int(counts[ref])}); one "
                f"of its trials beats one of {fmt_value(param.choices[ref])}'s with probability {win:.2f} "
                f"(<= {DROP_MAX_WIN:g}), Mann-Whitney p={fmt_p(p)}"
            )
    if not dropped:
        return None
    keep = [ch for c, ch in enumerate(param.choices) if c not in dropped]
    return Change(name, "drop-choices", param, Categorical(keep), "; ".join(parts))
