"""JSON safety of result records: undefined numbers come out as None, never NaN."""

import json
from dataclasses import dataclass

import numpy as np
import pytest

from analysis.compute.result import Record, finite_or_none, json_safe


@dataclass(frozen=True)
class _Example(Record):
    value: float | None
    values: tuple[float, ...]
    nested: dict[str, object]


def test_nan_and_infinity_become_none():
    assert finite_or_none(float("nan")) is None
    assert finite_or_none(np.float64("inf")) is None
    assert finite_or_none(np.float32(1.5)) == 1.5
    assert finite_or_none(None) is None


def test_to_dict_is_json_safe_recursively():
    record = _Example(
        value=np.float64("nan"),
        values=(1.0, float("inf")),
        nested={"array": np.array([1.0, np.nan]), "count": np.int64(3), "flag": np.bool_(True)},
    )
    converted = record.to_dict()
    assert converted == {
        "value": None,
        "values": [1.0, None],
        "nested": {"array": [1.0, None], "count": 3, "flag": True},
    }
    json.dumps(converted, allow_nan=False)


def test_unknown_types_are_refused():
    with pytest.raises(TypeError):
        json_safe(object())
