"""Population-based training lineage: who cloned whom, when, and what it did to the population.

PBT-style searches change a trial's hyperparameters while it trains: at an
*exploit* a trial copies a better trial's checkpoint (the *donor*) and
continues with a perturbed copy of its configuration. What the adapters
record per trial (the structure the Ray Tune adapter writes; any adapter may):

* ``attrs["trial_id"]``: the framework's id of the trial (donors refer to it);
* ``attrs["config_history"]``: ``[{"step": 0, "config": {...}}, {"step": s, "config": {...}}, ...]``, one
  entry per configuration the trial used, ``step`` the first step it produced;
* ``attrs["pbt_exploits"]``: ``[{"step": s, "donor": trial_id, "donor_step": d, "config": {...}}, ...]``:
  at step ``s`` the trial cloned ``donor`` at its step ``d`` and continued with ``config``.

From these, :func:`lineage` builds the exploit events, the configuration
segments along each trial (lanes), the ancestry of the final population, and
three findings for PBT configuration problems:

``pbt-collapsed``
    The final population descends from one initial trial, and it collapsed
    onto it before :data:`COLLAPSE_EARLY` of training: diversity was lost
    early (too aggressive exploitation: large quantile fraction, frequent
    exploits, small population).
``pbt-small-perturbations``
    The median relative change of a numeric hyperparameter at an exploit is
    below :data:`SMALL_PERTURBATION` of its range on the search scale: the
    explore step cannot move the population.
``pbt-noisy-exploits``
    The gap between donor and receiver at the exploits is below the
    :data:`NOISE_LEVEL` quantile of the gap that noise alone gives (a
    simulated population of equal trials of the same size, ranked and cloned
    the same way: top-k donors, bottom-k receivers) for more than
    :data:`NOISY_SHARE` of the exploits: which trial is
    cloned is decided by noise (exploit interval too short, or a noisy
    metric). The noise is estimated robustly from every trial's curve
    (median absolute second difference / 0.6745 / sqrt(6): for white noise
    on a smooth curve the second difference has variance ``6 sigma^2``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hpviz._richrepr import RichResult
from hpviz._validate import keywords_checked
from hpviz.analysis._advice import framework_advice
from hpviz.analysis._steps import curves as _curves
from hpviz.convert import experiment as _to_experiment
from hpviz.errors import InsufficientDataError
from hpviz.schema import Categorical, Experiment

__all__ = ["lineage", "Lineage", "LineageFinding", "COLLAPSE_EARLY", "SMALL_PERTURBATION", "NOISE_LEVEL",
           "NOISY_SHARE"]

#: pbt-collapsed fires when the population is down to one ancestor before this share of the training steps.
COLLAPSE_EARLY = 0.5
#: pbt-small-perturbations fires below this median change per exploit (share of the range, search scale).
SMALL_PERTURBATION = 0.02
#: An exploit's donor/receiver gap is "within the noise" when it is below this quantile of the gaps a
#: population of equal trials would show from noise alone, ranked the same way (top-k donors, bottom-k
#: receivers among the n trials at that step: the selection inflates the gap, so a fixed multiple of the
#: noise would call pure noise a lead).
NOISE_LEVEL = 0.95
#: Simulated equal-trial populations per (n, k) for that bound (seeded: equal results for equal input).
NOISE_SIMULATIONS = 4000
#: pbt-noisy-exploits fires when more than this share of the exploits are within the noise.
NOISY_SHARE = 0.5
#: Fewest exploits a perturbation or noise finding needs.
MIN_EXPLOITS = 5


@dataclass(frozen=True)
class LineageFinding:
    """A PBT configuration problem: stable ``code``, ``severity``, plain ``message``, numeric ``evidence``,
    and the framework's setting to change (``advice``) when its adapter knows one."""

    code: str
    severity: str
    message: str
    evidence: dict[str, float] = field(default_factory=dict)
    advice: str | None = None


@dataclass(frozen=True, eq=False)
class Lineage(RichResult):
    """Result of :func:`lineage`.

    Attributes
    ----------
    events:
        One row per exploit: ``receiver, step, donor, donor_step, receiver_value, donor_value`` (trial numbers;
        donor NaN when unknown), plus ``change_<param>`` (the relative change on the search scale).
    segments:
        One row per configuration along a trial: ``trial, start, end`` and the parameter values.
    roots:
        ``trial number -> initial trial`` its final state descends from.
    collapse_step:
        First step from which every trial descends from one initial trial (``None`` if never).
    max_step:
        Last training step of the population.
    noise_sd:
        Estimated step-to-step noise of the metric.
    findings:
        :class:`LineageFinding` list.
    """

    objective: str
    direction: str
    events: pd.DataFrame
    segments: pd.DataFrame
    roots: dict[int, int]
    collapse_step: float | None
    max_step: float
    noise_sd: float
    findings: tuple[LineageFinding, ...]

    def to_dataframe(self) -> pd.DataFrame:
        """The exploit events (``events``)."""
        return self.events.copy()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.findings)

    @property
    def message(self) -> str:
        n_roots = len(set(self.roots.values()))
        text = (f"{len(self.events)} exploits over {len(self.roots)} trials; the final population descends from "
                f"{n_roots} initial trial(s).")
        return " ".join([text, *(f.message for f in self.findings)])

    def __repr__(self) -> str:
        return f"Lineage(objective={self.objective!r}, exploits={len(self.events)}, findings={list(self.codes)})"


def _history(t: Any) -> list[dict[str, Any]]:
    hist = t.attrs.get("config_history") or []
    return [h for h in hist if isinstance(h, Mapping) and isinstance(h.get("config"), Mapping)]


def _search_pos(param: Any, value: Any) -> float:
    """Position of a numeric value on the parameter's search scale, as a share of the range."""
    if isinstance(param, Categorical) or not isinstance(value, (int, float)) or isinstance(value, bool):
        return math.nan
    lo, hi = param.search_bounds
    s = float(param.to_search_scale([min(max(float(value), param.low), param.high)])[0])
    return (s - lo) / (hi - lo)


def _noise(cs: Any) -> float:
    d2 = [np.diff(v, 2) for v in cs.values if v.size >= 4]
    if not d2:
        return math.nan
    allv = np.concatenate(d2)
    return float(np.median(np.abs(allv - np.median(allv))) / 0.6745 / math.sqrt(6))


@keywords_checked
def lineage(obj: Any, objective: str | None = None) -> Lineage:
    """Exploit events, lanes, ancestry and configuration findings of a population-based training run.

    Parameters
    ----------
    obj:
        Anything :func:`hpviz.experiment` accepts, whose trials carry ``attrs["config_history"]`` and/or
        ``attrs["pbt_exploits"]`` (see the module docstring).
    objective:
        The metric the population was ranked by (default: the primary objective).

    Raises
    ------
    InsufficientDataError
        No trial changed its configuration during training (not a population-based run).
    """
    exp: Experiment = _to_experiment(obj)
    objective = exp.objective(objective)
    trials = exp.trials
    if not any(_history(t) or t.attrs.get("pbt_exploits") for t in trials):
        raise InsufficientDataError(
            "lineage needs a population-based run: no trial has attrs['config_history'] or "
            "attrs['pbt_exploits'] (configurations that changed during training)", have=0, need=1)
    by_id = {str(t.attrs.get("trial_id")): t.number for t in trials if t.attrs.get("trial_id") is not None}
    cs = _curves(exp, objective)
    curve = {t.number: (s, v) for t, s, v in zip(cs.trials, cs.steps, cs.values)}
    space = exp.all_params()
    numeric = [p for p in space if not isinstance(space[p], Categorical)]

    def value_at(number: Any, step: Any) -> float:
        if number not in curve or step is None:
            return math.nan
        s, v = curve[number]
        i = int(np.searchsorted(s, float(step), side="right")) - 1
        return float(v[i]) if i >= 0 else math.nan

    rows, segs = [], []
    for t in trials:
        hist = _history(t) or [{"step": 0, "config": dict(t.params)}]
        end = float(curve[t.number][0][-1]) if t.number in curve else math.nan
        for k, h in enumerate(hist):
            stop = float(hist[k + 1]["step"]) if k + 1 < len(hist) else end
            segs.append({"trial": t.number, "start": float(h["step"]), "end": stop,
                         **{p: h["config"].get(p) for p in space}})
        exploits = t.attrs.get("pbt_exploits") or []
        if exploits:
            prev = hist[0]["config"]
            for e in exploits:
                if not isinstance(e, Mapping):
                    continue
                donor = by_id.get(str(e.get("donor")))
                row = {"receiver": t.number, "step": float(e.get("step", math.nan)),
                       "donor": donor if donor is not None else math.nan,
                       "donor_step": float(e.get("donor_step", math.nan))}
                new = e.get("config") or {}
                rows.append((row, prev, new))
                prev = new
        else:  # history without the exploit log: the config changes, donors unknown
            for h0, h1 in zip(hist, hist[1:]):
                rows.append(({"receiver": t.number, "step": float(h1["step"]), "donor": math.nan,
                              "donor_step": math.nan}, h0["config"], h1["config"]))
    event_rows = []
    for row, old, new in rows:
        row["receiver_value"] = value_at(row["receiver"], row["step"])
        row["donor_value"] = (value_at(int(row["donor"]), row["donor_step"])
                              if not math.isnan(row["donor"]) else math.nan)
        donor_cfg = None
        if not math.isnan(row["donor"]):
            donor_cfg = _config_at(exp, int(row["donor"]), row["donor_step"])
        base = donor_cfg if donor_cfg is not None else old
        for p in numeric:
            row[f"change_{p}"] = abs(_search_pos(space[p], new.get(p)) - _search_pos(space[p], base.get(p)))
        event_rows.append(row)
    events = pd.DataFrame(event_rows, columns=["receiver", "step", "donor", "donor_step", "receiver_value",
                                               "donor_value", *(f"change_{p}" for p in numeric)])
    events = events.sort_values(["step", "receiver"], kind="stable").reset_index(drop=True)
    segments = pd.DataFrame(segs, columns=["trial", "start", "end", *space])
    max_step = float(np.nanmax(segments["end"])) if len(segments) else math.nan

    roots, collapse = _ancestry(trials, events, max_step)
    noise = _noise(cs)
    last = cs.last
    findings = _findings(exp, events, numeric, roots, collapse, max_step, noise,
                         lambda step: int((last >= step).sum()))
    return Lineage(objective, cs.direction, events, segments, roots, collapse, max_step, noise, tuple(findings))


def _config_at(exp: Experiment, number: int, step: float) -> dict[str, Any] | None:
    try:
        t = next(t for t in exp.trials if t.number == number)
    except StopIteration:
        return None
    hist = _history(t)
    if not hist:
        return dict(t.params)
    cfg = hist[0]["config"]
    for h in hist:
        if float(h["step"]) <= step:
            cfg = h["config"]
    return dict(cfg)


def _ancestry(trials: list[Any], events: pd.DataFrame, max_step: float) -> tuple[dict[int, int], float | None]:
    """Root ancestor of each trial's final state, and the first step the population shares one root."""
    known = events.dropna(subset=["donor"])
    by_receiver: dict[int, list[tuple[float, int, float]]] = {}
    for r in known.itertuples(index=False):
        by_receiver.setdefault(int(r.receiver), []).append((float(r.step), int(r.donor), float(r.donor_step)))

    def root(number: int, step: float, depth: int = 0) -> int:
        before = [e for e in by_receiver.get(number, []) if e[0] <= step]
        if not before or depth > 10_000:
            return number
        s, donor, dstep = max(before)
        return root(donor, dstep if math.isfinite(dstep) else s, depth + 1)

    numbers = [t.number for t in trials]
    roots = {n: root(n, max_step) for n in numbers}
    collapse = None
    if len(set(roots.values())) == 1 and len(numbers) > 1:
        for s in sorted(set(known["step"]).union({max_step})):
            if len({root(n, s) for n in numbers}) == 1:
                collapse = float(s)
                break
    return roots, collapse


def _null_gap(n: int, k: int) -> float:
    """NOISE_LEVEL quantile of |donor - receiver| in units of the noise sd, for n equal trials, k exploits."""
    rng = np.random.default_rng(n * 1000 + k)
    z = -np.sort(-rng.standard_normal((NOISE_SIMULATIONS, n)), axis=1)
    rows = np.arange(NOISE_SIMULATIONS)
    gap = z[rows, rng.integers(k, size=NOISE_SIMULATIONS)] - z[rows, n - 1 - rng.integers(k, size=NOISE_SIMULATIONS)]
    return float(np.quantile(np.abs(gap), NOISE_LEVEL))


def _within_noise(events: pd.DataFrame, noise: float, alive: Any) -> tuple[float, int]:
    """Share of the exploits (with both values) whose gap is within the noise bound, and how many were judged."""
    if not (math.isfinite(noise) and noise > 0):
        return math.nan, 0
    gaps = np.abs((events["donor_value"] - events["receiver_value"]).to_numpy(dtype=float))
    judged, within = 0, 0
    per_step = events.groupby("step")["receiver"].transform("size").to_numpy()
    for g, step, k in zip(gaps, events["step"].to_numpy(dtype=float), per_step):
        n = alive(step)
        if not math.isfinite(g) or n < 2 or 2 * k > n:
            continue
        judged += 1
        within += g < _null_gap(n, int(k)) * noise
    return (within / judged if judged else math.nan), judged


def _findings(exp: Experiment, events: pd.DataFrame, numeric: list[str], roots: dict[int, int],
              collapse: float | None, max_step: float, noise: float, alive: Any) -> list[LineageFinding]:
    out = []
    if collapse is not None and max_step > 0 and collapse < COLLAPSE_EARLY * max_step:
        ev = {"collapse_step": collapse, "max_step": max_step, "collapse_fraction": collapse / max_step,
              "n_roots": 1.0, "population": float(len(roots))}
        out.append(LineageFinding(
            "pbt-collapsed", "warning",
            f"The whole population descends from one initial trial from step {collapse:g} on ({collapse / max_step:.0%} "
            f"of training): diversity was lost early. Exploit less aggressively (a smaller share of trials "
            f"replaced per exploit, a longer interval between exploits) or use a larger population.", ev))
    if len(events) >= MIN_EXPLOITS:
        for p in numeric:
            ch = events[f"change_{p}"].to_numpy(dtype=float)
            ch = ch[np.isfinite(ch)]
            if ch.size >= MIN_EXPLOITS and np.median(ch) < SMALL_PERTURBATION:
                ev = {"median_perturbation": float(np.median(ch)), "n_exploits": float(ch.size),
                      "threshold": SMALL_PERTURBATION}
                out.append(LineageFinding(
                    "pbt-small-perturbations", "warning",
                    f"{p} moves by a median {np.median(ch):.1%} of its range per exploit: the perturbations are too "
                    f"small to explore. Use larger perturbation factors or resample from the space more often.",
                    ev))
        within, n_judged = _within_noise(events, noise, alive)
        if n_judged >= MIN_EXPLOITS and within > NOISY_SHARE:
            gaps = np.abs((events["donor_value"] - events["receiver_value"]).to_numpy(dtype=float))
            ev = {"noise_sd": noise, "median_gap": float(np.nanmedian(gaps)), "share_within_noise": within,
                  "n_exploits": float(n_judged)}
            diffs = np.diff(np.unique(events["step"].to_numpy(dtype=float)))  # between exploit rounds
            if diffs.size:
                ev["median_exploit_interval"] = float(np.median(diffs))
            out.append(LineageFinding(
                "pbt-noisy-exploits", "warning",
                f"{within:.0%} of the exploits cloned a trial whose lead was within what noise alone gives "
                f"(metric noise sd {noise:.3g}, ranking {NOISE_LEVEL:.0%} bound): which trial is cloned is "
                f"mostly noise. Lengthen the interval between exploits or rank by a smoothed metric.", ev))
    return [_advised(f, exp.framework) for f in out]


def _advised(f: LineageFinding, framework: str | None) -> LineageFinding:
    advice = framework_advice(f.code, f.evidence, framework)
    return LineageFinding(f.code, f.severity, f.message, f.evidence, advice) if advice else f
