"""``drop-choices``: choices none of whose trials are among the best, and significantly worse than the best choice."""

from __future__ import annotations

import numpy as np

from hpviz._numbers import fmt_p, fmt_value
from hpviz.analysis.suggest.context import Context
from hpviz.schema import Categorical, Change


def rule_drop(name: str, param: Categorical, ctx: Context) -> Change | None:
    from scipy.stats import mannwhitneyu

    th = ctx.th
    codes = np.array([param.index(t.params[name]) if name in t.params else -1 for t in ctx.trials])
    counts = np.bincount(codes[codes >= 0], minlength=len(param.choices))
    judged = [c for c in range(len(param.choices)) if counts[c] >= th.drop_min_count]
    if len(judged) < 2:
        return None
    medians = {c: float(np.median(ctx.y[codes == c])) for c in judged}
    ref = min(judged, key=lambda c: (medians[c], c))
    alpha = ctx.alpha / (len(judged) - 1)
    ref_y = ctx.y[codes == ref]
    dropped, parts = [], []
    for c in judged:
        if c == ref:
            continue
        mask = codes == c
        n_good = int(ctx.good[mask].sum())
        if n_good:
            continue
        p = float(mannwhitneyu(ctx.y[mask], ref_y, alternative="greater").pvalue)
        if p < alpha:
            dropped.append(c)
            parts.append(
                f"{fmt_value(param.choices[c])}: none of its {int(counts[c])} trials among the best {int(ctx.good.sum())}; "
                f"median {ctx.objective} {fmt_value(ctx.sign * medians[c])} vs {fmt_value(ctx.sign * medians[ref])} for "
                f"{fmt_value(param.choices[ref])} (n={int(counts[ref])}), Mann-Whitney p={fmt_p(p)}"
            )
    if not dropped:
        return None
    keep = [ch for c, ch in enumerate(param.choices) if c not in dropped]
    return Change(name, "drop-choices", param, Categorical(keep), "; ".join(parts))
