"""Search spaces: AWS's ranges as Optuna distributions, and hyperparameter strings both ways."""

from __future__ import annotations

import pytest

from kamado.errors import ValidationError
from kamado.tuning.space import parse


def test_scaling_types_become_the_matching_distributions():
    space = parse({
        "IntegerParameterRanges": [{"Name": "depth", "MinValue": "2", "MaxValue": "9"},
                                   {"Name": "trees", "MinValue": "1", "MaxValue": "1000"}],
        "ContinuousParameterRanges": [
            {"Name": "eta", "MinValue": "0.001", "MaxValue": "0.5", "ScalingType": "Auto"},
            {"Name": "alpha", "MinValue": "0", "MaxValue": "2", "ScalingType": "Auto"},
            {"Name": "momentum", "MinValue": "0.5", "MaxValue": "0.999",
             "ScalingType": "ReverseLogarithmic"}],
        "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}]})
    dists = space.distributions()
    assert not dists["depth"].log and dists["trees"].log  # Auto: 1..1000 spans 3 decades
    assert dists["eta"].log and not dists["alpha"].log
    # reverse log samples 1 - x on a log scale
    assert dists["momentum"].log
    assert dists["momentum"].low == pytest.approx(0.001) and dists["momentum"].high == 0.5
    assert dists["booster"].choices == ("gbtree", "dart")


def test_values_and_points_round_trip():
    space = parse({"IntegerParameterRanges": [{"Name": "depth", "MinValue": "2", "MaxValue": "9"}],
                   "ContinuousParameterRanges": [
                       {"Name": "momentum", "MinValue": "0.5", "MaxValue": "0.99",
                        "ScalingType": "ReverseLogarithmic"}],
                   "CategoricalParameterRanges": [{"Name": "b", "Values": ["x", "y"]}]})
    values = space.values({"depth": 4, "momentum": 0.1, "b": "y"})
    assert values == {"depth": "4", "momentum": "0.9", "b": "y"}
    point = space.point(values)
    assert point["depth"] == 4 and point["b"] == "y"
    assert point["momentum"] == pytest.approx(0.1)
    # values outside the ranges (a warm start parent's) are left out
    assert space.point({"depth": "12", "momentum": "0.95", "b": "z"}) == {
        "momentum": pytest.approx(0.05)}


@pytest.mark.parametrize("ranges, words", [
    ({"ContinuousParameterRanges": [{"Name": "a", "MinValue": "2", "MaxValue": "1"}]},
     "less than or equal"),
    ({"ContinuousParameterRanges": [{"Name": "a", "MinValue": "-1", "MaxValue": "1",
                                     "ScalingType": "Logarithmic"}]}, "above zero"),
    ({"IntegerParameterRanges": [{"Name": "a", "MinValue": "1.5", "MaxValue": "3"}]},
     "not an integer"),
    ({"ContinuousParameterRanges": [{"Name": "a", "MinValue": "nan", "MaxValue": "1"}]},
     "not finite"),
    ({"ContinuousParameterRanges": [{"Name": "a", "MinValue": "0", "MaxValue": "1"}],
      "IntegerParameterRanges": [{"Name": "a", "MinValue": "0", "MaxValue": "1"}]},
     "more than one range"),
    ({"CategoricalParameterRanges": [{"Name": "a", "Values": ["x", "x"]}]}, "unique"),
    ({"AutoParameters": [{"Name": "a", "ValueHint": "1"}]}, "Autotune"),
])
def test_invalid_ranges_are_refused(ranges, words):
    with pytest.raises(ValidationError) as err:
        parse(ranges)
    assert words in err.value.message


def test_grid_lists_every_combination_in_order():
    space = parse({"CategoricalParameterRanges": [{"Name": "a", "Values": ["1", "2"]},
                                                  {"Name": "b", "Values": ["x", "y", "z"]}]})
    assert space.grid_size() == 6
    assert space.grid()[:4] == [{"a": "1", "b": "x"}, {"a": "1", "b": "y"},
                                {"a": "1", "b": "z"}, {"a": "2", "b": "x"}]
