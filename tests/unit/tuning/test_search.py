"""The Optuna-driven search on its own: strategies, pruning, and a resumed search that neither
repeats nor loses a trial."""

from __future__ import annotations

from kamado.tuning.search import Record, Search
from kamado.tuning.space import parse

ETA = parse({"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.01",
                                            "MaxValue": "1.0"}]})
GRID = parse({"CategoricalParameterRanges": [{"Name": "a", "Values": ["1", "2", "3"]},
                                             {"Name": "b", "Values": ["x", "y"]}]})


def search(strategy="Random", space=ETA, **kwargs) -> Search:
    args = dict(name="s", strategy=strategy, maximize=False, spaces={"default": space}, seed=3,
                max_jobs=10)
    args.update(kwargs)
    return Search(**args)


def test_random_with_the_same_seed_proposes_the_same_values():
    runs = []
    for _ in range(2):
        s = search()
        proposals = []
        for _ in range(4):
            p = s.ask()
            proposals.append(p.hyperparameters["eta"])
            s.tell(p.trial, "Complete", float(p.hyperparameters["eta"]))
        runs.append(proposals)
    assert runs[0] == runs[1] and len(set(runs[0])) == 4


def test_grid_resumed_at_every_point_covers_each_combination_once():
    for cut in range(7):
        first = search("Grid", GRID, max_jobs=6)
        seen = []
        for _ in range(cut):
            p = first.ask()
            first.tell(p.trial, "Complete", 1.0)
            seen.append(p.hyperparameters)
        resumed = search("Grid", GRID, max_jobs=6)
        resumed.replay([Record("default", h, "Complete", 1.0) for h in seen])
        while not resumed.exhausted():
            p = resumed.ask()
            resumed.tell(p.trial, "Complete", 1.0)
            seen.append(p.hyperparameters)
        assert sorted(tuple(sorted(h.items())) for h in seen) == sorted(
            tuple(sorted(h.items())) for h in GRID.grid()), cut


def test_a_running_trial_replayed_goes_on_reporting_and_is_told():
    s = search(early_stopping=True)
    numbers = s.replay([Record("default", {"eta": "0.5"}, "Complete", 1.0, {1: 2.0, 2: 1.0}),
                        Record("default", {"eta": "0.6"}, "Complete", 1.1, {1: 2.1, 2: 1.1}),
                        Record("default", {"eta": "0.7"}, "Complete", 1.2, {1: 2.2, 2: 1.2}),
                        Record("default", {"eta": "0.1"}, "Running", None, {1: 9.0})])
    assert numbers == [0, 1, 2, 3]
    assert s.report(3, 2, 8.0) is True  # far worse than the median at step 2
    s.tell(3, "Pruned", 8.0)
    assert s.study.trials[3].state.name == "PRUNED"
    assert s.study.best_value == 1.0


def test_median_rule_spares_a_job_as_good_as_the_others():
    s = search(early_stopping=True)
    for value in (1.0, 1.1, 1.2):
        p = s.ask()
        s.report(p.trial, 1, value)
        s.tell(p.trial, "Complete", value)
    p = s.ask()
    assert s.report(p.trial, 1, 1.05) is False
    p2 = s.ask()
    assert s.report(p2.trial, 1, 5.0) is True


def test_warm_start_values_outside_the_space_are_skipped():
    s = search("Bayesian")
    numbers = s.replay([Record("default", {"eta": "5"}, "Complete", 0.1),
                        Record("default", {"eta": "0.5"}, "Complete", 0.2)])
    assert numbers == [-1, 0]
    assert s.study.best_value == 0.2


def test_several_definitions_choose_a_definition_then_its_ranges():
    depth = parse({"IntegerParameterRanges": [{"Name": "depth", "MinValue": "1", "MaxValue": "3"}]})
    s = Search(name="two", strategy="Random", maximize=True, spaces={"a": ETA, "b": depth},
               seed=0, max_jobs=20)
    seen = set()
    for _ in range(20):
        p = s.ask()
        seen.add(p.definition)
        assert set(p.hyperparameters) == ({"eta"} if p.definition == "a" else {"depth"})
        s.tell(p.trial, "Complete", 1.0)
    assert seen == {"a", "b"}
