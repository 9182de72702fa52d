"""Population-based training lineage on simulated PBT runs with known configuration problems."""

from __future__ import annotations

import pytest
from families import late_bloomers, pbt_run

import hpviz
from hpviz import Trial
from hpviz.analysis.lineage import Lineage, lineage


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_healthy_population_has_no_findings(seed):
    lin = lineage(pbt_run(seed))
    assert isinstance(lin, Lineage) and lin.codes == ()
    assert len(lin.events) == 7 * 2  # 7 exploit rounds (steps 5..35), 2 receivers each
    assert set(lin.events["step"]) == {5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0}
    assert lin.events["donor"].notna().all()
    assert (lin.events["donor_value"] > lin.events["receiver_value"]).all()  # donors were ahead (maximized)
    assert lin.max_step == 40.0 and 0.001 < lin.noise_sd < 0.004  # simulated noise sd 0.002
    assert set(lin.segments["trial"]) == set(range(8))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tiny_perturbations_are_found(seed):
    lin = lineage(pbt_run(seed, factors=(0.999, 1.001)))
    assert "pbt-small-perturbations" in lin.codes
    f = next(f for f in lin.findings if f.code == "pbt-small-perturbations")
    assert f.evidence["median_perturbation"] < 0.001
    assert "lr moves by a median" in f.message
    assert "perturbation_factors=(2.0, 0.5)" in f.advice


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exploits_decided_by_noise_are_found(seed):
    lin = lineage(pbt_run(seed, noise=0.05, interval=2))
    assert "pbt-noisy-exploits" in lin.codes
    f = next(f for f in lin.findings if f.code == "pbt-noisy-exploits")
    assert f.evidence["share_within_noise"] > 0.5 and f.evidence["median_exploit_interval"] == 2.0
    assert "perturbation_interval=...) (now about 2 steps)" in f.advice


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_early_collapse_onto_one_lineage(seed):
    lin = lineage(pbt_run(seed, n=6, quantile=0.5, interval=2))
    assert "pbt-collapsed" in lin.codes
    assert len(set(lin.roots.values())) == 1 and lin.collapse_step < 20
    assert "descends from one initial trial" in lin.message
    f = next(f for f in lin.findings if f.code == "pbt-collapsed")
    assert "quantile_fraction" in f.advice  # the run says framework="ray": Ray Tune's own setting


def test_history_without_the_exploit_log_and_errors():
    exp = pbt_run(0)
    bare = exp.with_trials(Trial(t.number, t.params, t.values, t.state, log=t.log,
                                 attrs={k: v for k, v in t.attrs.items() if k != "pbt_exploits"})
                           for t in exp.trials)
    lin = lineage(bare)
    assert len(lin.events) == 14 and lin.events["donor"].isna().all()
    assert lin.collapse_step is None and "pbt-collapsed" not in lin.codes
    with pytest.raises(hpviz.InsufficientDataError, match="needs a population-based run"):
        lineage(late_bloomers(0)[0])
