"""Per-split scores as a noise estimate: the one reading of ``attrs["split_test_<objective>"]``.

A cross-validated search records, for each trial, the score on each of its K
splits (``Trial.attrs["split_test_<objective>"]``, a list of numbers; the
scikit-learn adapter writes it). The trial's value is their mean. The spread
of the split scores around that mean measures how much the value would move
if the evaluation were repeated: the *split noise*.

:func:`split_noise` pools it over the trials of one experiment (the noise of
a single trial's K splits, K - 1 degrees of freedom, is too rough to use
alone): ``sd`` is the pooled within-trial standard deviation of the split
scores and ``value_sd = sd / sqrt(K)`` the standard deviation of one trial's
value (the mean of its K splits). Assumptions, said wherever it is used:
splits independent (folds share training data, so the true uncertainty of a
value is larger, Nadeau & Bengio 2003) and one noise level for every trial
of an experiment. ``None`` when no trial has two finite split scores, or
when they never differ: then every analysis behaves exactly as without
split scores.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SplitNoise", "split_noise", "split_key"]


def split_key(objective: str) -> str:
    """The ``Trial.attrs`` key of the per-split scores of ``objective``."""
    return f"split_test_{objective}"


@dataclass(frozen=True)
class SplitNoise:
    """Pooled split noise of one experiment's trials for one objective.

    Attributes
    ----------
    sd:
        Pooled within-trial standard deviation of the split scores.
    n_splits:
        Splits per trial (the median over the trials that have them).
    value_sd:
        Standard deviation of one trial's value, the mean of its splits: ``sd / sqrt(n_splits)``.
    n_trials:
        Trials with at least two finite split scores (the ones pooled).
    df:
        Degrees of freedom of ``sd``: the sum of ``K_i - 1`` over those trials.
    """

    sd: float
    n_splits: int
    value_sd: float
    n_trials: int
    df: int

    def words(self) -> str:
        """``"split noise SD 0.012 from 5 CV splits (SD of a trial's mean score 0.0054, 40 trials)"``."""
        return (f"split noise SD {self.sd:.3g} from {self.n_splits} CV splits (SD of a trial's mean score "
                f"{self.value_sd:.2g}, pooled over {self.n_trials} trials)")


def _finite(values: Any) -> np.ndarray | None:
    if not isinstance(values, Sequence) or isinstance(values, (str, bytes)):
        return None
    out = [float(v) for v in values if isinstance(v, numbers.Real) and not isinstance(v, bool)
           and math.isfinite(float(v))]
    return np.asarray(out) if len(out) >= 2 else None


def split_noise(trials: Sequence[Any], objective: str) -> SplitNoise | None:
    """Pooled split noise of ``trials`` for ``objective``, or ``None`` without usable split scores."""
    key = split_key(objective)
    ss, df, ks, spread = 0.0, 0, [], False
    for t in trials:
        s = _finite(t.attrs.get(key)) if t.attrs else None
        if s is None:
            continue
        ss += float(((s - s.mean()) ** 2).sum())
        df += s.size - 1
        ks.append(s.size)
        spread = spread or bool(s.max() > s.min())
    if not spread:  # none, or no spread (a deterministic score): the rules would change nothing
        return None
    sd = math.sqrt(ss / df)
    k = int(np.median(ks))
    return SplitNoise(sd, k, sd / math.sqrt(k), len(ks), df)
