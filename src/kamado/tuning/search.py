"""One tuning job's search, driven by Optuna: which hyperparameters the next training job gets,
and whether a running one should stop early.

The strategies are Optuna's samplers and pruners, chosen the way SageMaker's strategies
behave:

- ``Bayesian``: TPE (multivariate, with the constant liar so parallel jobs spread out);
- ``Random``: random sampling;
- ``Grid``: every combination of the categorical values exactly once;
- ``Hyperband``: TPE with Optuna's Hyperband pruner over ``MinResource``..``MaxResource``
  (a resource is one step of the objective metric: an epoch, a boosting round);
- ``TrainingJobEarlyStoppingType=Auto``: the median rule — a job stops when its best
  objective so far is worse than the median of earlier jobs' values at the same step
  (Optuna's median pruner, after three jobs have finished).

The study lives in memory; the store holds the training jobs, and :meth:`Search.replay` makes
the same study again from them after a restart. So a resumed search neither repeats nor loses
a trial, and the sampler's seed is the job's ``RandomSeed`` plus the number of trials it knew
at (re)start, which makes a search with one job at a time reproducible.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kamado.tuning.space import Space

DEFINITION = "__definition"  # the categorical choice between several training job definitions
GRID = "__grid"  # Grid: the index of a combination in the grid
EARLY_STOPPING_STARTUP = 3


@dataclass
class Proposal:
    trial: int  # Optuna's trial number
    definition: str
    hyperparameters: dict[str, str]


@dataclass
class Record:
    """A training job the search already knows of, for :meth:`Search.replay`."""

    definition: str
    hyperparameters: dict[str, str]
    state: str  # "Running", "Complete", "Pruned" or "Failed"
    value: float | None = None
    intermediate: dict[int, float] = field(default_factory=dict)


def startup_trials(max_jobs: int) -> int:
    """TPE's random start: a quarter of the budget, between 3 and 10 jobs."""
    return max(3, min(10, max_jobs // 4))


class Search:
    def __init__(self, *, name: str, strategy: str, maximize: bool, spaces: dict[str, Space],
                 seed: int, max_jobs: int, early_stopping: bool = False,
                 min_resource: int = 1, max_resource: int | None = None) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna = optuna
        self.strategy = strategy
        self.spaces = spaces
        self.names = list(spaces)
        self.seed = seed
        self.max_jobs = max_jobs
        self.early_stopping = early_stopping
        self.min_resource, self.max_resource = min_resource, max_resource
        self.points = ([(d, values) for d in self.names for values in spaces[d].grid()]
                       if strategy == "Grid" else [])
        self.study = optuna.create_study(
            study_name=name, direction="maximize" if maximize else "minimize",
            sampler=self._sampler(0), pruner=self._pruner())
        self._running: dict[int, Any] = {}  # trial number -> optuna Trial, while it runs

    # --- Optuna's parts -------------------------------------------------------------------------
    def _sampler(self, known: int):
        samplers = self.optuna.samplers
        seed = self.seed + known
        if self.strategy == "Random":
            return samplers.RandomSampler(seed=seed)
        if self.strategy == "Grid":
            # Optuna's grid gives trial number k the k-th point of its (seeded) order, so the
            # seed stays the job's own for a resumed grid to go on where it stopped.
            return samplers.GridSampler({GRID: list(range(len(self.points)))}, seed=self.seed)
        return samplers.TPESampler(seed=seed, n_startup_trials=startup_trials(self.max_jobs),
                                   multivariate=True, constant_liar=True)

    def _pruner(self):
        pruners = self.optuna.pruners
        if self.strategy == "Hyperband":
            return pruners.HyperbandPruner(min_resource=self.min_resource,
                                           max_resource=self.max_resource or "auto",
                                           reduction_factor=3)
        if self.early_stopping:
            return pruners.MedianPruner(n_startup_trials=EARLY_STOPPING_STARTUP,
                                        n_warmup_steps=0)
        return pruners.NopPruner()

    def _distributions(self, definition: str) -> dict:
        out = {}
        if len(self.names) > 1:
            out[DEFINITION] = self.optuna.distributions.CategoricalDistribution(self.names)
        for key, dist in self.spaces[definition].distributions().items():
            out[self._param(definition, key)] = dist
        return out

    def _param(self, definition: str, name: str) -> str:
        return f"{definition}.{name}" if len(self.names) > 1 else name

    # --- asking and telling ---------------------------------------------------------------------
    def ask(self) -> Proposal:
        trial = self.study.ask()
        if self.strategy == "Grid":
            definition, values = self.points[trial.suggest_categorical(
                GRID, list(range(len(self.points))))]
        else:
            definition = (trial.suggest_categorical(DEFINITION, self.names)
                          if len(self.names) > 1 else self.names[0])
            point = {}
            for key, dist in self.spaces[definition].distributions().items():
                point[key] = _suggest(trial, self._param(definition, key), dist)
            values = self.spaces[definition].values(point)
        self._running[trial.number] = trial
        return Proposal(trial.number, definition, values)

    def report(self, trial: int, step: int, value: float) -> bool:
        """Record an intermediate objective value; True if the job should stop now."""
        handle = self._running.get(trial)
        if handle is None:
            return False
        if step in handle.storage.get_trial(handle._trial_id).intermediate_values:
            return False
        handle.report(value, step)
        return bool(handle.should_prune())  # numpy bools from some pruners

    def tell(self, trial: int, state: str, value: float | None = None) -> None:
        """A job's outcome: "Complete" with its objective, "Pruned" (stopped early; its last
        intermediate value counts) or "Failed"."""
        handle = self._running.pop(trial, None)
        if handle is None:
            return
        states = self.optuna.trial.TrialState
        if state == "Complete" and value is not None:
            kwargs = {"values": value}
        elif state == "Pruned" and value is not None:
            kwargs = {"state": states.PRUNED}
        else:
            kwargs = {"state": states.FAIL}
        try:
            self.study.tell(trial, **kwargs)
        except RuntimeError:
            # The grid sampler calls study.stop() once the grid is done, which only an
            # optimize() loop may do; the trial's outcome is stored before that.
            pass

    def exhausted(self) -> bool:
        """Grid only: every combination has been asked for."""
        if self.strategy != "Grid":
            return False
        return len(self.study.trials) >= len(self.points)

    # --- what the store already knows -----------------------------------------------------------
    def replay(self, records: list[Record]) -> list[int]:
        """Add the jobs a restarted search already ran (or warm start's parents, as finished
        trials); return their trial numbers. Running ones can go on reporting."""
        states = self.optuna.trial.TrialState
        numbers = []
        for rec in records:
            params, distributions, attrs = self._known(rec)
            if params is None:
                numbers.append(-1)
                continue
            state = {"Complete": states.COMPLETE, "Pruned": states.PRUNED,
                     "Running": states.RUNNING}.get(rec.state, states.FAIL)
            if state == states.COMPLETE and rec.value is None:
                state = states.FAIL
            value = rec.value if state == states.COMPLETE else None
            trial = self.optuna.trial.create_trial(
                state=state, value=value, params=params, distributions=distributions,
                intermediate_values=dict(rec.intermediate), system_attrs=attrs)
            if state == states.RUNNING:
                trial.datetime_start = dt.datetime.now()
            self.study.add_trial(trial)
            frozen = self.study.get_trials(deepcopy=False)[-1]
            if state == states.RUNNING:
                self._running[frozen.number] = self.optuna.trial.Trial(self.study,
                                                                       frozen._trial_id)
            numbers.append(frozen.number)
        # The sampler goes on from where a search with this history would be.
        self.study.sampler = self._sampler(len(self.study.trials))
        return numbers

    def _known(self, rec: Record):
        if rec.definition not in self.spaces:
            return None, None, None
        space = self.spaces[rec.definition]
        if self.strategy == "Grid":
            try:
                index = self.points.index((rec.definition, {k: rec.hyperparameters.get(k)
                                                            for k in space.names}))
            except ValueError:
                return None, None, None
            dist = self.optuna.distributions.CategoricalDistribution(
                list(range(len(self.points))))
            return ({GRID: index}, {GRID: dist},
                    {"grid_id": len(self.study.trials),
                     "search_space": {GRID: list(range(len(self.points)))}})
        point = space.point(rec.hyperparameters)
        if not point:
            return None, None, None
        dists = self._distributions(rec.definition)
        params = {self._param(rec.definition, k): v for k, v in point.items()}
        if len(self.names) > 1:
            params[DEFINITION] = rec.definition
        return params, {k: dists[k] for k in params}, {}


def _suggest(trial, name: str, dist) -> Any:
    kind = type(dist).__name__
    if kind == "CategoricalDistribution":
        return trial.suggest_categorical(name, dist.choices)
    if kind == "IntDistribution":
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, log=dist.log)
