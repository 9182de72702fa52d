"""ReservoirLog: bounded memory, first/last kept, uniform sample of the middle, deterministic."""

import tracemalloc

import numpy as np
import pytest
from scipy import stats

from hpviz import ReservoirLog, SchemaError


def _filled(n, capacity=64, seed=0):
    log = ReservoirLog(capacity=capacity, seed=seed)
    for i in range(n):
        log.append(i, float(i))
    return log


def test_keeps_first_last_and_capacity():
    log = _filled(10_000, capacity=64)
    steps = [s for s, _ in log.points()]
    assert log.seen == 10_000 and len(log) == 64 and len(steps) == 64
    assert steps[0] == 0 and steps[-1] == 9_999
    assert steps == sorted(steps) and len(set(steps)) == 64


def test_short_logs_keep_everything():
    for n in range(0, 10):
        log = _filled(n, capacity=16)
        assert [s for s, _ in log.points()] == list(range(n))


def test_capacity_two_keeps_only_first_and_last():
    log = _filled(1000, capacity=2)
    assert [s for s, _ in log.points()] == [0, 999]


def test_named_metrics_and_series():
    log = ReservoirLog(capacity=8, seed=1)
    for step in range(20):
        log.append(step, loss=1.0 / (step + 1), acc=step / 20)
    assert log.metrics() == ["loss", "acc"]
    steps, loss = log.series("loss")
    assert np.allclose(loss, 1.0 / (steps + 1))
    frame = log.to_frame()
    assert list(frame.columns) == ["step", "loss", "acc"] and len(frame) == 8
    with pytest.raises(TypeError):
        log.append(3)


def test_deterministic_under_seed():
    a, b, c = _filled(5000, seed=7), _filled(5000, seed=7), _filled(5000, seed=8)
    assert a.points() == b.points()
    assert a.points() != c.points()


def test_memory_does_not_grow_with_appends():
    def peak(n):
        tracemalloc.start()
        log = _filled(n, capacity=128)
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert len(log) == 128
        return size

    small, large = peak(1_000), peak(1_000_000)
    assert large < 1.5 * small + 20_000, (small, large)


def test_kept_middle_steps_are_uniform():
    # A chi-square test on where the kept steps fall: a "keep the most recent N"
    # or "keep the first N" log puts all of them in one bin and fails it.
    n, capacity, bins = 200_000, 1002, 10
    log = _filled(n, capacity=capacity, seed=3)
    middle = np.array([s for s, _ in log.points()][1:-1])
    counts = np.histogram(middle, bins=bins, range=(1, n - 1))[0]
    p = stats.chisquare(counts).pvalue
    assert p > 0.01, counts
    # and the test does reject the wrong strategies
    recent = np.arange(n - capacity, n - 2)
    assert stats.chisquare(np.histogram(recent, bins=bins, range=(1, n - 1))[0]).pvalue < 1e-6


def test_uniform_across_seeds():
    # The probability of keeping each middle step is the same: pooled over seeds,
    # early, middle and late thirds are kept equally often.
    n, capacity = 3000, 32
    kept = np.concatenate([[s for s, _ in _filled(n, capacity, seed).points()][1:-1] for seed in range(60)])
    counts = np.histogram(kept, bins=3, range=(1, n - 1))[0]
    assert stats.chisquare(counts).pvalue > 0.01, counts


def test_state_round_trip_continues_identically():
    log = _filled(3000, capacity=32, seed=5)
    clone = ReservoirLog.from_state(log.to_state())
    assert clone == log
    for i in range(3000, 6000):
        log.append(i, float(i))
        clone.append(i, float(i))
    assert clone.points() == log.points()


def test_bad_capacity():
    with pytest.raises(SchemaError, match="capacity"):
        ReservoirLog(capacity=1)


def test_points_are_sorted_by_step_when_appended_out_of_order():
    log = ReservoirLog(capacity=8, seed=0)
    for step in (5, 3, 9, 1, 7, 2):
        log.append(step, loss=float(step))
    assert [s for s, _ in log.points()] == [1, 2, 3, 5, 7, 9]
    assert all(v["loss"] == float(s) for s, v in log.points())
    steps, values = log.series("loss")
    assert list(steps) == [1, 2, 3, 5, 7, 9] and list(values) == [1, 2, 3, 5, 7, 9]
    # equal steps keep their append order (the first point first, the last one last)
    tie = ReservoirLog(capacity=8, seed=0)
    for value in (1.0, 2.0, 3.0):
        tie.append(0, value)
    assert [v["value"] for _, v in tie.points()] == [1.0, 2.0, 3.0]
    # a full reservoir fed a shuffled stream: every read is sorted
    shuffled = ReservoirLog(capacity=16, seed=1)
    for step in np.random.default_rng(0).permutation(5000):
        shuffled.append(int(step), 0.0)
    kept = [s for s, _ in shuffled.points()]
    assert kept == sorted(kept) and len(kept) == 16


def test_generator_position_is_restored_in_one_block_of_draws():
    """The saved position (seed, draws) restores in <= _RNG_BLOCK draws however long the log ran."""
    from hpviz.reservoir import _RNG_BLOCK

    log = _filled(100_000, capacity=128, seed=3)
    state = log.to_state()
    assert state["rng"][1] > _RNG_BLOCK  # several reseeds happened
    clone = ReservoirLog.from_state(state)
    for i in range(100_000, 200_000):
        log.append(i, float(i))
        clone.append(i, float(i))
    assert clone == log


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("capacity", 1, "capacity"),
        ("seen", -1, "seen"),
        ("next", 0, "next"),
        ("w", 2.0, "w must be a number in"),
        ("rng", [1, 2**60], r"rng\[1\]"),
        ("ends", [True], "ends"),
        ("scalar", "yes", "scalar"),
        ("absent", {"value": [99]}, "absent"),
    ],
)
def test_bad_states_are_schema_errors(field, value, message):
    state = _filled(100, capacity=8).to_state()
    state[field] = value
    if field == "absent":
        state["scalar"] = False
    with pytest.raises(SchemaError, match=message):
        ReservoirLog.from_state(state)


def test_packed_storage_reads_back_every_kind_of_point():
    """Kept points are stored packed; what comes back is what was appended, whatever the mix."""
    cases = {
        "scalars": [(i, float(i)) for i in range(30)],
        "one metric": [(i, {"loss": float(i)}) for i in range(30)],
        "two metrics": [(i, {"loss": float(i), "acc": i / 30}) for i in range(30)],
        "scalar then named": [(0, 1.0), (1, 2.0)] + [(i, {"loss": float(i)}) for i in range(2, 30)],
        "named then scalar": [(i, {"loss": float(i)}) for i in range(20)] + [(i, float(i)) for i in range(20, 30)],
        "other names and order": [(i, {"a": i, "b": -i} if i % 3 else {"b": -i, "a": i}) for i in range(30)]
        + [(30, {"c": None})],
    }
    for name, pts in cases.items():
        log = ReservoirLog(capacity=64, seed=0)
        for step, value in pts:
            if isinstance(value, dict):
                log.append(step, **value)
            else:
                log.append(step, value)
        want = [(s, v if isinstance(v, dict) else {"value": v}) for s, v in pts]
        assert log.points() == want, name
        back = ReservoirLog.from_state(log.to_state())
        assert back.points() == want and back == log, name
        if name != "other names and order":  # columns keep one metric order per log, not per point
            assert [list(v) for _, v in back.points()] == [list(v) for _, v in want], name
