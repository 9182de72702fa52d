"""Fuzzing the loader (JSON decoder + schema): any input is an experiment or a SchemaError, quickly.

Bounded: a fixed number of examples, each with a deadline, so it runs in ``make test``.
"""

from __future__ import annotations

import json
import math
import os

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="the test extra installs hypothesis (pip install -e .[test])")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import hpviz  # noqa: E402
from hpviz import Experiment, Float, ReservoirLog, SchemaError, SearchSpace, Trial  # noqa: E402
from hpviz.io import experiment_from_dict, experiment_to_dict  # noqa: E402

# HPVIZ_FUZZ_EXAMPLES=5000 for a longer, randomized hunt; the default run is short and reproducible.
_LONG = int(os.environ.get("HPVIZ_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=_LONG or 150, deadline=2000, suppress_health_check=[HealthCheck.too_slow],
                derandomize=not _LONG)

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
    st.sampled_from(["$float", "$tuple", "$dict", "$datetime", "$repr", "nan", "inf", "min", "max", "COMPLETE"]),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(
            ["$float", "$tuple", "$dict", "$datetime", "$repr", "number", "params", "log", "steps", "columns"])),
            inner, max_size=5),
    ),
    max_leaves=30,
)


def _valid() -> dict:
    log = ReservoirLog(capacity=4, seed=1)
    for step in range(10):
        log.append(step, loss=1.0 / (step + 1), acc=step / 10)
    exp = Experiment(SearchSpace({"lr": Float(1e-4, 1.0, log=True)}), {"loss": "min", "acc": "max"})
    exp.add(Trial(0, {"lr": 0.01}, {"loss": 0.3, "acc": math.nan}, log=log, started=1_700_000_000,
                  attrs={"t": (1, 2), "d": {1: "x"}}))
    exp.add(Trial(1, {"lr": 0.1}, {"loss": 0.2, "acc": 0.5}, state="PRUNED"))
    return experiment_to_dict(exp)


VALID = _valid()


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(VALID) if p]


def _replace(obj, path, value):
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, dict):
        out = dict(obj)
    else:
        out = list(obj)
    out[head] = _replace(obj[head], rest, value)
    return out


def _loads_or_schema_error(data) -> None:
    try:
        exp = experiment_from_dict(data, where="fuzz.json")
    except SchemaError as exc:
        assert str(exc).startswith("fuzz.json")
        return
    # what loads must save and load again to the same thing
    again = experiment_from_dict(json.loads(json.dumps(experiment_to_dict(exp))), where="again")
    assert [t.number for t in again.trials] == [t.number for t in exp.trials]


@FUZZ
@given(_json)
def test_any_json_value_is_an_experiment_or_a_schema_error(data):
    _loads_or_schema_error(data)
    _loads_or_schema_error({"format": "hpviz-experiment", "schema_version": 2, "objectives": data, "rounds": data,
                            "trials": data})


@FUZZ
@given(st.sampled_from(PATHS), _json)
def test_any_field_of_a_valid_file_replaced_by_anything(path, value):
    _loads_or_schema_error(_replace(VALID, path, value))


@FUZZ
@given(st.data())
def test_any_byte_edit_of_a_valid_file(tmp_path_factory, data):
    text = bytearray(json.dumps(VALID).encode())
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(text) - 1))
        op = data.draw(st.sampled_from(["set", "delete", "insert"]))
        byte = data.draw(st.sampled_from(b'[]{}",:0123456789-.eE \\tfnu\xff'))
        if op == "set":
            text[i] = byte
        elif op == "delete":
            del text[i]
        else:
            text.insert(i, byte)
    path = tmp_path_factory.mktemp("fuzz") / "e.json"
    path.write_bytes(bytes(text))
    try:
        hpviz.load(path)
    except SchemaError as exc:
        assert str(exc).startswith(str(path))


@pytest.mark.parametrize("depth", [10, 64, 65, 1000, 100_000])
def test_nesting_at_any_depth_is_handled(tmp_path, depth):
    d = json.loads(json.dumps(VALID))
    text = json.dumps(d).replace('"attrs":{', '"attrs":{"deep":' + "[" * depth + "]" * depth + ",", 1)
    text = text.replace('"attrs": {', '"attrs": {"deep": ' + "[" * depth + "]" * depth + ", ", 1)
    path = tmp_path / "e.json"
    path.write_text(text)
    if depth <= 64:  # MAX_DEPTH levels of nesting are allowed
        assert hpviz.load(path).trials[0].attrs["deep"] is not None
    else:
        with pytest.raises(SchemaError, match="nested"):
            hpviz.load(path)
