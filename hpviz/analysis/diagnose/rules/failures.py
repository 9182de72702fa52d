"""``high-failure-rate``: many trials failed or returned no finite value, and where they concentrate.

At least FAILURE_RATE of the finished trials failed (FAIL, or COMPLETE with
NaN/inf), and at least FAILURE_MIN_COUNT of them (unless every trial
failed). The parameter regions where failures concentrate are found with a
two-sample Kolmogorov-Smirnov split (numeric) or Fisher's exact test
(categorical), Bonferroni-corrected at FAILURE_ASSOC_ALPHA.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from hpviz._columns import TrialColumns
from hpviz._numbers import MISSING, fmt, pct
from hpviz.analysis.diagnose.registry import Context, rule
from hpviz.analysis.diagnose.result import Finding
from hpviz.analysis.diagnose.thresholds import (
    FAILURE_ASSOC_ALPHA,
    FAILURE_MIN_COUNT,
    FAILURE_PROBLEM_RATE,
    FAILURE_RATE,
)
from hpviz.schema import Categorical, TrialState

Association = tuple[float, str, str, dict]  # (p-value, parameter, sentence, evidence)


def _categorical_association(cols: TrialColumns, name: str, p: Categorical, fin: np.ndarray,
                             failed: np.ndarray) -> Association | None:
    keys = np.array([-1 if v is MISSING else p.index(v) for v in cols.column(name)])[fin]
    act = keys >= 0
    f, k = failed[act], keys[act]
    nf, no = int(f.sum()), int((~f).sum())
    if nf < FAILURE_MIN_COUNT or no < 1:
        return None
    best = None
    for c in np.unique(k):
        a, b = int(np.sum(f & (k == c))), int(np.sum(~f & (k == c)))
        diff = a / nf - b / no
        if best is None or diff > best[0]:
            best = (diff, c, a, b)
    if best is None or best[0] <= 0:
        return None
    _, c, a, b = best
    pval = float(stats.fisher_exact([[a, nf - a], [b, no - b]], alternative="greater").pvalue)
    sentence = f"{pct(a / nf)} of failures have {name} = {p.choices[c]!r} (vs {pct(b / no)} of the other trials)"
    return pval, name, sentence, {f"{name}.fail_share": a / nf, f"{name}.other_share": b / no,
                                  f"{name}.p_value": pval}


def _numeric_association(cols: TrialColumns, name: str, fin: np.ndarray, failed: np.ndarray) -> Association | None:
    x = cols.numeric(name)[fin]
    act = np.isfinite(x)
    xs, f = x[act], failed[act]
    nf, no = int(f.sum()), int((~f).sum())
    if nf < FAILURE_MIN_COUNT or no < 1:
        return None
    order = np.argsort(xs, kind="stable")
    xs, f = xs[order], f[order]
    cf = np.cumsum(f) / nf
    co = np.cumsum(~f) / no
    # Split only between distinct values (the last index of each tie group).
    last = np.append(xs[1:] != xs[:-1], True)
    diff = np.where(last, cf - co, 0.0)
    i_low, i_high = int(np.argmax(diff)), int(np.argmin(diff))
    if diff[i_low] >= -diff[i_high]:
        share_f, share_o = cf[i_low], co[i_low]
        sentence = f"{pct(share_f)} of failures have {name} <= {fmt(xs[i_low])}"
    else:
        share_f, share_o = 1.0 - cf[i_high], 1.0 - co[i_high]
        sentence = f"{pct(share_f)} of failures have {name} > {fmt(xs[i_high])}"
    sentence += f" (vs {pct(share_o)} of the other trials)"
    pval = float(stats.ks_2samp(xs[f], xs[~f]).pvalue)
    return pval, name, sentence, {
        f"{name}.fail_share": float(share_f), f"{name}.other_share": float(share_o),
        f"{name}.threshold": float(xs[i_low] if diff[i_low] >= -diff[i_high] else xs[i_high]),
        f"{name}.p_value": pval}


def _associations(cols: TrialColumns, fin: np.ndarray, failed: np.ndarray) -> list[Association]:
    """Parameter regions where failures concentrate, most significant first."""
    out = []
    space = cols.exp.space
    tests = max(len(space), 1)
    for name, p in space.items():
        if isinstance(p, Categorical):
            found = _categorical_association(cols, name, p, fin, failed)
        else:
            found = _numeric_association(cols, name, fin, failed)
        if found is not None and found[0] * tests < FAILURE_ASSOC_ALPHA:
            out.append(found)
    out.sort(key=lambda t: t[0])
    return out


@rule("high-failure-rate")
def failures(ctx: Context) -> list[Finding]:
    cols = ctx.cols
    fin = cols.finished
    n_fin = int(fin.sum())
    n_failed = int(np.sum(cols.failed & fin))
    if n_fin == 0 or n_failed == 0:
        return []
    rate = n_failed / n_fin
    if rate < FAILURE_RATE or (n_failed < FAILURE_MIN_COUNT and n_failed < n_fin):
        return []
    n_state = int(np.sum(cols.state == TrialState.FAIL.value))
    n_nan = n_failed - n_state
    assoc = _associations(cols, fin, cols.failed[fin]) if n_failed < n_fin else []
    evidence: dict[str, float] = {"n_failed": float(n_failed), "n_finished": float(n_fin), "failure_rate": rate,
                                  "n_fail_state": float(n_state), "n_nan": float(n_nan)}
    for *_, ev in assoc:
        evidence.update(ev)
    kinds = ", ".join(s for s in (f"{n_state} FAIL" if n_state else "", f"{n_nan} NaN/inf" if n_nan else "") if s)
    msg = f"{n_failed} of {n_fin} finished trials ({pct(rate)}) failed or returned no finite value ({kinds}). "
    if n_failed == n_fin:
        msg += ("Every trial failed: the objective itself is broken (read the exception of one failed trial) "
                "before any tuning can happen.")
    elif assoc:
        msg += ("Failures concentrate in part of the space: " + "; ".join(a[2] for a in assoc[:3]) + ". "
                "Exclude that region in the next round (or make the objective robust there, e.g. gradient "
                "clipping for a large learning rate), and read the errors of a few of those trials.")
    else:
        msg += ("They do not concentrate in any parameter region: look at the errors of the failed trials "
                "(infrastructure, memory, timeouts, numerical overflow).")
    return [Finding("high-failure-rate", "problem" if rate >= FAILURE_PROBLEM_RATE else "warning", msg,
                    tuple(a[1] for a in assoc), evidence)]
