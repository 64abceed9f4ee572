"""SageMaker automatic model tuning: CreateHyperParameterTuningJob and friends.

The provider checks the request (ranges, strategy rules, each definition as the training job
it will become, warm start parents) and records the job InProgress; the engine's driver runs
the search (:mod:`kamado.engine.tuning`). Counters, the best job and the completion details
are read from the training jobs themselves, so what Describe says is what they say.
"""

from __future__ import annotations

from kamado.engine import tuning
from kamado.engine.engine import Scope
from kamado.errors import AwsError, ResourceInUse, ResourceNotFound, ValidationError
from kamado.services.base import Provider, RequestContext
from kamado.services.sagemaker import lifecycle, trial_components
from kamado.services.sagemaker.listing import list_page, offset_page, page
from kamado.tuning import progress
from kamado.tuning.plan import parse_request

TYPE = tuning.TYPE
_ECHOED = ("HyperParameterTuningJobConfig", "TrainingJobDefinition", "TrainingJobDefinitions",
           "WarmStartConfig")
_SORTS = {"Name": lambda c: c.name, "CreationTime": lambda c: c.creation_time,
          "Status": lambda c: c.status}


def _missing(name: str, arn: str) -> ResourceNotFound:
    return ResourceNotFound(f"Amazon SageMaker can't find a tuning job with name {name or arn}")


def _duplicate(name: str, arn: str) -> ResourceInUse:
    return ResourceInUse(f"Hyperparameter tuning job names must be unique within an AWS account "
                         f"and region, and a tuning job with this name already exists ({arn})")


def _present(**fields) -> dict:
    return {k: v for k, v in fields.items() if v is not None}


class TuningJobs(Provider):
    service = "sagemaker"

    def __init__(self, platform) -> None:
        super().__init__(platform)
        self.resources = platform.resources
        self.engine = platform.engine
        self.resources.register(TYPE, label="Hyperparameter tuning job",
                                on_duplicate=_duplicate, on_missing=_missing)

    # --- create ---------------------------------------------------------------------------------
    def create_hyper_parameter_tuning_job(self, request: dict, ctx: RequestContext) -> dict:
        name = request["HyperParameterTuningJobName"]
        arn = ctx.arn("sagemaker", f"hyper-parameter-tuning-job/{name.lower()}")
        plan = parse_request(request)
        for d in plan.definitions:
            self._check_definition(ctx, d)
        parents = self._check_parents(ctx, request, plan)
        data = {k: request[k] for k in _ECHOED if k in request}
        config = data["HyperParameterTuningJobConfig"] = dict(request["HyperParameterTuningJobConfig"])
        config.setdefault("TrainingJobEarlyStoppingType", "Off")
        data["_Seed"] = tuning.seed_for(config)
        data["_Priors"] = parents
        with self.resources.transaction():
            self.resources.create(ctx, TYPE, name, arn, data, status="InProgress",
                                  tags=request.get("Tags") or None)
            # As on AWS: the experiment <name>-aws-tuning-job tracks the search's training jobs.
            trial_components.tuning_experiment(self.resources, ctx, name, arn)
        self.engine.tuning.submit(Scope(ctx.account_id, ctx.region), name, arn)
        return {"HyperParameterTuningJobArn": arn}

    def _check_definition(self, ctx, d) -> None:
        """A definition is checked as the training jobs it becomes, and its objective must be
        one of their metrics."""
        training = self.engine.tuning.training
        spec = d.request["AlgorithmSpecification"]
        uri = spec.get("TrainingImage") or spec.get("AlgorithmName")
        if not uri:
            raise ValidationError("Each training job definition's AlgorithmSpecification needs "
                                  "a TrainingImage or an AlgorithmName.")
        image = self.engine.images.resolve_training(
            uri, ctx.region, d.request.get("StaticHyperParameters"))
        probe = tuning.child_request(d, "tuning-check", {})
        data = training.prepare(ctx, probe)
        metrics = [m["Name"] for m in data["AlgorithmSpecification"]["MetricDefinitions"]]
        if image.kind == "algorithm":  # a built-in algorithm's objective is one it can emit
            known = {m["Name"] for m in image.metric_definitions(None)}
            known |= {m["Name"] for m in spec.get("MetricDefinitions") or []}
            metrics = [m for m in metrics if m in known]
        if d.objective_name not in metrics:
            where = f"definition {d.name}: " if d.name else ""
            raise ValidationError(f"{where}The objective metric {d.objective_name} is not one of "
                                  f"the training jobs' metrics ({', '.join(metrics) or 'none'}); "
                                  "add it to AlgorithmSpecification.MetricDefinitions.")

    def _check_parents(self, ctx, request: dict, plan) -> list[str]:
        names = list(plan.parents)
        for parent_name in names:
            parent = self.resources.get(ctx, TYPE, parent_name, missing_ok=True)
            if parent is None:
                raise ValidationError(f"The parent tuning job {parent_name} of the warm start "
                                      "does not exist.")
            if parent.status not in tuning.TERMINAL:
                raise ValidationError(f"The parent tuning job {parent_name} is "
                                      f"{parent.status}; a warm start needs parents that have "
                                      "ended.")
            if plan.warm_start_type == "IdenticalDataAndAlgorithm":
                self._check_identical(parent, plan)
        return names

    @staticmethod
    def _check_identical(parent, plan) -> None:
        theirs = parse_request(parent.data)
        for mine, old in zip(plan.definitions, theirs.definitions):
            same = (mine.request["AlgorithmSpecification"].get("TrainingImage")
                    == old.request["AlgorithmSpecification"].get("TrainingImage")
                    and mine.request.get("InputDataConfig") == old.request.get("InputDataConfig")
                    and mine.static == old.static
                    and [(r.name, r.kind) for r in mine.space.ranges]
                    == [(r.name, r.kind) for r in old.space.ranges])
            if not same or len(plan.definitions) != len(theirs.definitions):
                raise ValidationError(
                    f"IdenticalDataAndAlgorithm warm start needs the parent {parent.name} to use "
                    "the same image, input data, static hyperparameters and tunable "
                    "hyperparameters; use TransferLearning otherwise.")

    # --- read -----------------------------------------------------------------------------------
    def _children(self, ctx, job):
        return tuning.children(self.platform, self.engine.metrics, ctx, job)

    def describe_hyper_parameter_tuning_job(self, request: dict, ctx: RequestContext) -> dict:
        job = self.resources.get(ctx, TYPE, request["HyperParameterTuningJobName"])
        d = job.data
        kids = self._children(ctx, job)
        status, objective = progress.counters(kids)
        plan = parse_request(d)
        values = progress.objectives(kids)
        details = dict(d.get("TuningJobCompletionDetails") or {
            "NumberOfTrainingJobsObjectiveNotImproving": progress.not_improving(values,
                                                                                plan.maximize)})
        out = {k: d[k] for k in _ECHOED if k in d}
        self._as_described(ctx, plan, out)
        best = progress.best(kids)
        overall = None
        if d.get("_Priors"):
            family = list(kids)
            for parent_name in d["_Priors"]:
                parent = self.resources.get(ctx, TYPE, parent_name, missing_ok=True)
                if parent is not None:
                    family += self._children(ctx, parent)
            overall = progress.best(family)
        out.update(_present(
            HyperParameterTuningJobName=job.name, HyperParameterTuningJobArn=job.arn,
            HyperParameterTuningJobStatus=job.status, CreationTime=job.creation_time,
            HyperParameterTuningEndTime=d.get("HyperParameterTuningEndTime"),
            LastModifiedTime=job.last_modified_time, TrainingJobStatusCounters=status,
            ObjectiveStatusCounters=objective,
            BestTrainingJob=progress.summary(best, job.name) if best else None,
            OverallBestTrainingJob=(progress.summary(overall, self._tuning_name(overall))
                                    if overall else None),
            FailureReason=d.get("FailureReason"), TuningJobCompletionDetails=details,
            ConsumedResources={"RuntimeInSeconds": tuning.runtime_seconds(job)}))
        return out

    def _as_described(self, ctx, plan, out: dict) -> None:
        """What SageMaker adds to the definitions it echoes, and SDK 2.x's
        ``HyperparameterTuner.attach`` reads: ``_tuning_objective_metric`` among the static
        hyperparameters, the metric definitions the training jobs get (a built-in
        algorithm's own included), and a ResourceConfig when the request gave a single-instance
        HyperParameterTuningResourceConfig (as SDK 2.x sends it)."""
        single = "TrainingJobDefinition" in out
        key = "TrainingJobDefinition" if single else "TrainingJobDefinitions"
        specs = [out[key]] if single else list(out.get(key) or [])
        if not specs:
            return
        described = []
        for spec, d in zip(specs, plan.definitions):
            static = {**(spec.get("StaticHyperParameters") or {})}
            static.setdefault("_tuning_objective_metric", d.objective_name)
            algorithm = dict(spec["AlgorithmSpecification"])
            try:
                image = self.engine.images.resolve_training(
                    algorithm.get("TrainingImage") or algorithm.get("AlgorithmName"), ctx.region,
                    static)
                algorithm["MetricDefinitions"] = self.engine.tuning.training.metric_definitions(
                    image, algorithm, static)
            except AwsError:  # the image went away since: the definitions as given
                algorithm.setdefault("MetricDefinitions", [])
            extra = {}
            hpo = spec.get("HyperParameterTuningResourceConfig") or {}
            if "ResourceConfig" not in spec and "InstanceType" in hpo:
                extra["ResourceConfig"] = {
                    k: hpo[k] for k in ("InstanceType", "InstanceCount", "VolumeSizeInGB",
                                        "VolumeKmsKeyId") if k in hpo}
            described.append({**spec, "StaticHyperParameters": static,
                              "AlgorithmSpecification": algorithm, **extra})
        out[key] = described[0] if single else described

    @staticmethod
    def _tuning_name(child) -> str:
        return child.name.rsplit("-", 2)[0]

    def list_hyper_parameter_tuning_jobs(self, request: dict, ctx: RequestContext) -> dict:
        items, token = list_page(self.resources, ctx, TYPE, request,
                                 status_equals=request.get("StatusEquals"))

        def summary(job):
            status, objective = progress.counters(self._children(ctx, job))
            config = job.data["HyperParameterTuningJobConfig"]
            return _present(
                HyperParameterTuningJobName=job.name, HyperParameterTuningJobArn=job.arn,
                HyperParameterTuningJobStatus=job.status, Strategy=config["Strategy"],
                CreationTime=job.creation_time,
                HyperParameterTuningEndTime=job.data.get("HyperParameterTuningEndTime"),
                LastModifiedTime=job.last_modified_time, TrainingJobStatusCounters=status,
                ObjectiveStatusCounters=objective, ResourceLimits=config["ResourceLimits"])
        return page("HyperParameterTuningJobSummaries", items, token, summary)

    def list_training_jobs_for_hyper_parameter_tuning_job(self, request: dict,
                                                          ctx: RequestContext) -> dict:
        job = self.resources.get(ctx, TYPE, request["HyperParameterTuningJobName"])
        kids = self._children(ctx, job)
        if request.get("StatusEquals"):
            kids = [c for c in kids if c.status == request["StatusEquals"]]
        sort_by = request.get("SortBy") or "Name"
        descending = (request.get("SortOrder") or "Ascending") == "Descending"
        if sort_by == "FinalObjectiveMetricValue":
            # As AWS documents: jobs that returned no objective value are not listed.
            kids = sorted((c for c in kids if c.objective is not None),
                          key=lambda c: c.objective, reverse=descending)
        else:
            kids = sorted(kids, key=_SORTS[sort_by], reverse=descending)
        chunk, token, _ = offset_page(f"tuning-children:{job.arn}:{sort_by}:{descending}", kids,
                                      request, request.get("MaxResults") or 10)
        out = {"TrainingJobSummaries": [progress.summary(c, job.name) for c in chunk]}
        if token:
            out["NextToken"] = token
        return out

    # --- stop / delete --------------------------------------------------------------------------
    def stop_hyper_parameter_tuning_job(self, request: dict, ctx: RequestContext) -> dict:
        job = lifecycle.begin_stop(self.resources, ctx, TYPE,
                                   request["HyperParameterTuningJobName"], "tuning job")
        if job is not None:
            self.engine.tuning.wake(job.arn)
        return {}

    def delete_hyper_parameter_tuning_job(self, request: dict, ctx: RequestContext) -> dict:
        lifecycle.delete_ended(self.resources, ctx, TYPE, request["HyperParameterTuningJobName"],
                               "tuning job")
        return {}
