"""A CreateHyperParameterTuningJob request read once: its training job definitions, each with
its objective and search space, the strategy and its limits — with SageMaker's rules checked
(the provider refuses what breaks them; the engine runs what passed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kamado.errors import ValidationError
from kamado.tuning.space import MAX_TRAINING_JOBS, Space, parse

# The static hyperparameters SageMaker reads Hyperband's MaxResource from when it is not given.
EPOCH_KEYS = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")
MAX_RESOURCE = 20000
MAX_PARENTS = 5


@dataclass(frozen=True)
class Definition:
    name: str | None  # DefinitionName; None for a single TrainingJobDefinition
    objective_name: str
    objective_type: str  # "Maximize" or "Minimize"
    space: Space
    static: dict
    request: dict  # the HyperParameterTrainingJobDefinition as sent

    @property
    def key(self) -> str:
        return self.name or "default"


@dataclass(frozen=True)
class Plan:
    strategy: str
    definitions: tuple[Definition, ...]
    max_jobs: int
    max_parallel: int
    max_runtime: int | None
    early_stopping: bool
    min_resource: int = 1
    max_resource: int | None = None
    target: float | None = None
    not_improving: int | None = None
    convergence: bool = False
    seed: int | None = None
    parents: tuple[str, ...] = field(default_factory=tuple)
    warm_start_type: str | None = None

    @property
    def maximize(self) -> bool:
        return self.definitions[0].objective_type == "Maximize"

    def spaces(self) -> dict[str, Space]:
        return {d.key: d.space for d in self.definitions}

    def definition(self, key: str | None) -> Definition:
        for d in self.definitions:
            if d.key == (key or "default"):
                return d
        return self.definitions[0]


def _definitions(request: dict, config: dict) -> list[Definition]:
    single, several = request.get("TrainingJobDefinition"), request.get("TrainingJobDefinitions")
    if bool(single) == bool(several):
        raise ValidationError("Exactly one of TrainingJobDefinition and TrainingJobDefinitions "
                              "must be specified.")
    shared_objective = config.get("HyperParameterTuningJobObjective")
    found = []
    for spec in ([single] if single else several):
        objective = spec.get("TuningObjective") or shared_objective
        if not objective:
            raise ValidationError("A tuning job needs an objective: "
                                  "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective "
                                  "or each definition's TuningObjective.")
        static = dict(spec.get("StaticHyperParameters") or {})
        ranges = spec.get("HyperParameterRanges") or (config.get("ParameterRanges")
                                                       if single else None)
        name = spec.get("DefinitionName")
        if several and not name:
            raise ValidationError("Each of TrainingJobDefinitions needs a DefinitionName.")
        found.append(Definition(name if several else None, objective["MetricName"],
                                objective["Type"], parse(ranges, static), static, spec))
    names = [d.name for d in found]
    if several and len(set(names)) != len(names):
        raise ValidationError("The DefinitionName of each training job definition must be "
                              "unique.")
    if len({d.objective_type for d in found}) > 1:
        raise ValidationError("Every training job definition's objective must have the same "
                              "Type (Maximize or Minimize).")
    return found


def parse_request(request: dict) -> Plan:
    config = request["HyperParameterTuningJobConfig"]
    if request.get("Autotune"):
        raise ValidationError("Autotune is not supported by kamado; give the strategy and "
                              "ranges explicitly.")
    strategy = config["Strategy"]
    definitions = _definitions(request, config)
    limits = config["ResourceLimits"]
    early = (config.get("TrainingJobEarlyStoppingType") or "Off") == "Auto"
    max_jobs = limits.get("MaxNumberOfTrainingJobs")
    parallel = limits["MaxParallelTrainingJobs"]

    hyperband = (config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig")
    if config.get("StrategyConfig") and strategy != "Hyperband":
        raise ValidationError("StrategyConfig is only valid with the Hyperband strategy.")
    min_resource, max_resource = 1, None
    if strategy == "Hyperband":
        if early:
            raise ValidationError("TrainingJobEarlyStoppingType must be Off with the Hyperband "
                                  "strategy; Hyperband stops training jobs itself.")
        hyperband = hyperband or {}
        min_resource = hyperband.get("MinResource") or 1
        max_resource = hyperband.get("MaxResource")
        if max_resource is None:
            for d in definitions:
                for key in EPOCH_KEYS:
                    if key in d.static:
                        try:
                            max_resource = int(float(d.static[key]))
                        except ValueError:
                            continue
                        break
        if max_resource is None:
            raise ValidationError("Hyperband needs HyperbandStrategyConfig.MaxResource, or one "
                                  f"of {', '.join(EPOCH_KEYS)} in StaticHyperParameters to "
                                  "infer it from.")
        if not 1 <= min_resource <= max_resource <= MAX_RESOURCE:
            raise ValidationError(f"Hyperband needs 1 <= MinResource ({min_resource}) <= "
                                  f"MaxResource ({max_resource}) <= {MAX_RESOURCE}.")

    if strategy == "Grid":
        for d in definitions:
            numeric = [r.name for r in d.space.ranges if r.kind != "Categorical"]
            if numeric:
                raise ValidationError("The Grid strategy supports only categorical ranges; "
                                      f"{', '.join(numeric)} are not.")
            if not d.space.ranges:
                raise ValidationError("The Grid strategy needs at least one categorical range.")
        size = sum(d.space.grid_size() for d in definitions)
        if size > MAX_TRAINING_JOBS:
            raise ValidationError(f"The grid has {size} combinations; a tuning job runs at most "
                                  f"{MAX_TRAINING_JOBS} training jobs.")
        if max_jobs is not None and max_jobs != size:
            raise ValidationError(f"For the Grid strategy, MaxNumberOfTrainingJobs must be "
                                  f"omitted or equal the number of combinations ({size}); it "
                                  f"is {max_jobs}.")
        max_jobs = size
    elif max_jobs is None:
        raise ValidationError(f"ResourceLimits.MaxNumberOfTrainingJobs is required for the "
                              f"{strategy} strategy.")
    elif max_jobs > MAX_TRAINING_JOBS:
        raise ValidationError(f"MaxNumberOfTrainingJobs is {max_jobs}; a tuning job runs at most "
                              f"{MAX_TRAINING_JOBS} training jobs.")
    if parallel > max_jobs:
        raise ValidationError(f"MaxParallelTrainingJobs ({parallel}) must not exceed "
                              f"MaxNumberOfTrainingJobs ({max_jobs}).")

    criteria = config.get("TuningJobCompletionCriteria") or {}
    warm = request.get("WarmStartConfig") or {}
    parents = tuple(p["HyperParameterTuningJobName"]
                    for p in warm.get("ParentHyperParameterTuningJobs") or [])
    if len(parents) > MAX_PARENTS:
        raise ValidationError(f"A warm start names at most {MAX_PARENTS} parent tuning jobs.")
    if warm and strategy == "Grid":
        raise ValidationError("Warm start is not supported with the Grid strategy.")
    return Plan(
        strategy=strategy, definitions=tuple(definitions), max_jobs=max_jobs,
        max_parallel=parallel, max_runtime=limits.get("MaxRuntimeInSeconds"),
        early_stopping=early, min_resource=min_resource, max_resource=max_resource,
        target=criteria.get("TargetObjectiveMetricValue"),
        not_improving=(criteria.get("BestObjectiveNotImproving") or {}).get(
            "MaxNumberOfTrainingJobsNotImproving"),
        convergence=(criteria.get("ConvergenceDetected") or {}).get(
            "CompleteOnConvergence") == "Enabled",
        seed=config.get("RandomSeed"), parents=parents,
        warm_start_type=warm.get("WarmStartType"))
