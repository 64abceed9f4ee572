"""SageMaker training jobs: CreateTrainingJob and friends (training-contract.md §11–§14).

The provider checks the request and records the job; the engine runs it. A job is
InProgress/Starting from the moment it is created, queued or not, as on AWS.
"""

from __future__ import annotations

from kamado.engine import training
from kamado.engine.engine import Scope
from kamado.engine.joblog import MetricRule
from kamado.errors import ValidationError
from kamado.services.base import Provider, RequestContext
from kamado.services.sagemaker import lifecycle, trial_components
from kamado.services.sagemaker.listing import list_page

TYPE = training.TYPE
DEFAULT_MAX_RESULTS = 10
DEFAULT_MAX_RUNTIME = 86400
# The request members a job keeps and DescribeTrainingJob returns as they were sent.
_ECHOED = ("HyperParameters", "AlgorithmSpecification", "RoleArn", "InputDataConfig",
           "OutputDataConfig", "ResourceConfig", "VpcConfig", "StoppingCondition",
           "EnableNetworkIsolation", "EnableInterContainerTrafficEncryption",
           "EnableManagedSpotTraining", "CheckpointConfig", "DebugHookConfig",
           "DebugRuleConfigurations", "TensorBoardOutputConfig", "ExperimentConfig",
           "ProfilerConfig", "ProfilerRuleConfigurations", "Environment", "RetryStrategy",
           "RemoteDebugConfig", "InfraCheckConfig")


def _present(**fields) -> dict:
    return {k: v for k, v in fields.items() if v is not None}


def _missing(name: str, arn: str) -> ValidationError:
    # What AWS answers for DescribeTrainingJob of an unknown name.
    return ValidationError(f"Requested resource not found: Training job {name or arn} does not exist.",
                           code="ValidationException")


def _duplicate(name: str, arn: str) -> ValidationError:
    return ValidationError(f"Training job names must be unique within an AWS account and region, "
                           f"and a training job with this name already exists ({arn})")


class TrainingJobs(Provider):
    service = "sagemaker"

    def __init__(self, platform) -> None:
        super().__init__(platform)
        self.resources = platform.resources
        self.engine = platform.engine
        self.resources.register(TYPE, label="Training job", on_duplicate=_duplicate,
                                on_missing=_missing)
        self.engine.on_finish(self._record_in_experiments)
        self.engine.tuning.attach(self)  # a tuning job records and stops its jobs here

    # --- create -----------------------------------------------------------------------------------
    def create_training_job(self, request: dict, ctx: RequestContext) -> dict:
        return {"TrainingJobArn": self.record(ctx, request)}

    def record(self, ctx, request: dict, *, extra: dict | None = None) -> str:
        """Check a CreateTrainingJob request, record the job and queue it; its ARN. A tuning
        job records its training jobs here too, with ``extra`` (``TuningJobArn``…) in data."""
        if not isinstance(ctx, RequestContext):  # the engine's Scope
            ctx = RequestContext(ctx.account_id, ctx.region)
        name = request["TrainingJobName"]
        arn = ctx.arn("sagemaker", f"training-job/{name.lower()}")
        data = self.prepare(ctx, request)
        data.update(extra or {})
        training.add_transition(data, "Starting", "Starting the training job")
        with self.resources.transaction():
            self.resources.create(ctx, TYPE, name, arn, data, status="InProgress",
                                  tags=request.get("Tags") or None)
            # Every job is a trial component, filed as its ExperimentConfig or tuning job says.
            trial_components.record_training_job(self.resources, ctx, name, arn, data)
        self.engine.submit_training(Scope(ctx.account_id, ctx.region), name, arn)
        return arn

    def prepare(self, ctx, request: dict) -> dict:
        """The job's stored document from its request, or the ValidationException AWS answers."""
        name = request["TrainingJobName"]
        spec = dict(request["AlgorithmSpecification"])
        image_uri = spec.get("TrainingImage") or spec.get("AlgorithmName")
        if bool(spec.get("TrainingImage")) == bool(spec.get("AlgorithmName")):
            raise ValidationError("Exactly one of AlgorithmSpecification.TrainingImage and "
                                  "AlgorithmSpecification.AlgorithmName must be specified.")
        hyperparameters = request.get("HyperParameters") or {}
        image = self.engine.images.resolve_training(image_uri, ctx.region, hyperparameters)
        spec["MetricDefinitions"] = self.metric_definitions(image, spec, hyperparameters)
        self._check_channels(request, spec)
        stopping = dict(request.get("StoppingCondition") or {})
        stopping.setdefault("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME)
        if request.get("EnableManagedSpotTraining"):
            wait = stopping.get("MaxWaitTimeInSeconds")
            if wait is None or wait < stopping["MaxRuntimeInSeconds"]:
                raise ValidationError("MaxWaitTimeInSeconds is required for managed spot "
                                      "training and must not be less than MaxRuntimeInSeconds.")
        checkpoint = request.get("CheckpointConfig")
        if checkpoint and not checkpoint.get("LocalPath"):
            checkpoint = {**checkpoint, "LocalPath": "/opt/ml/checkpoints/"}
        output = dict(request["OutputDataConfig"])
        output.setdefault("CompressionType", "GZIP")
        output.setdefault("KmsKeyId", "")  # AWS answers "" when none was given; SDK 2.x reads it

        data = {k: request[k] for k in _ECHOED if k in request}
        data.update(TrainingJobName=name, AlgorithmSpecification=spec,
                    StoppingCondition=stopping, OutputDataConfig=output)
        if checkpoint:
            data["CheckpointConfig"] = checkpoint
        data.setdefault("EnableNetworkIsolation", False)
        data.setdefault("EnableInterContainerTrafficEncryption", False)
        data.setdefault("EnableManagedSpotTraining", False)
        return data

    @staticmethod
    def metric_definitions(image, spec: dict, hyperparameters: dict) -> list[dict]:
        """The user's definitions, after the ones SageMaker fills in for a built-in algorithm
        (a user's definition of the same name replaces the built-in one)."""
        script_mode = "sagemaker_program" in hyperparameters
        builtin = [] if script_mode else image.metric_definitions(hyperparameters)
        user = spec.get("MetricDefinitions") or []
        names = {d["Name"] for d in user}
        merged = [d for d in builtin if d["Name"] not in names] + list(user)
        try:
            MetricRule.compile_all(merged)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if len(merged) > 40:
            raise ValidationError("A training job has at most 40 metric definitions, "
                                  f"built-in ones included; this one has {len(merged)}.")
        return merged

    @staticmethod
    def _check_channels(request: dict, spec: dict) -> None:
        seen = set()
        for channel in request.get("InputDataConfig") or []:
            name = channel["ChannelName"]
            if name in seen:
                raise ValidationError(f"Channel names must be unique; {name} appears twice "
                                      "in InputDataConfig.")
            seen.add(name)
            mode = channel.get("InputMode") or spec.get("TrainingInputMode")
            s3 = (channel.get("DataSource") or {}).get("S3DataSource") or {}
            if mode == "FastFile" and s3.get("S3DataType", "S3Prefix") != "S3Prefix":
                raise ValidationError(f"Channel {name}: FastFile input mode supports only "
                                      "S3DataType S3Prefix.")
            if s3.get("S3DataType") == "AugmentedManifestFile" and mode != "Pipe":
                raise ValidationError(f"Channel {name}: AugmentedManifestFile needs Pipe input "
                                      "mode.")

    # --- experiments ------------------------------------------------------------------------------
    def _record_in_experiments(self, run) -> None:
        job = self.resources.get(run.scope, TYPE, run.name, missing_ok=True)
        if job is not None:
            trial_components.finish(self.resources, self.engine.metrics, run.scope, job)

    # --- read -------------------------------------------------------------------------------------
    def describe_training_job(self, request: dict, ctx: RequestContext) -> dict:
        job = self.resources.get(ctx, TYPE, request["TrainingJobName"])
        d = job.data
        start, end = d.get("TrainingStartTime"), d.get("TrainingEndTime")
        seconds = None
        if start is not None and end is not None:
            seconds = max(1, int(round((end - start).total_seconds())))
        final = [{"MetricName": p.name, "Value": p.value,
                  "Timestamp": _from_ms(p.timestamp)}
                 for p in sorted(self.engine.metrics.last(job.arn).values(),
                                 key=lambda p: p.name)][:40]
        out = {k: d[k] for k in _ECHOED if k in d}
        out.update(_present(
            TrainingJobName=job.name, TrainingJobArn=job.arn, TrainingJobStatus=job.status,
            SecondaryStatus=d.get("SecondaryStatus"), FailureReason=d.get("FailureReason"),
            TuningJobArn=d.get("TuningJobArn"), ModelArtifacts=d.get("ModelArtifacts"),
            CreationTime=job.creation_time, TrainingStartTime=start, TrainingEndTime=end,
            LastModifiedTime=job.last_modified_time,
            SecondaryStatusTransitions=d.get("SecondaryStatusTransitions") or [],
            FinalMetricDataList=final or None, TrainingTimeInSeconds=seconds,
            BillableTimeInSeconds=seconds))
        return out

    def list_training_jobs(self, request: dict, ctx: RequestContext) -> dict:
        items, token = list_page(self.resources, ctx, TYPE, request,
                                 status_equals=request.get("StatusEquals"))
        return _present(TrainingJobSummaries=[_present(
            TrainingJobName=j.name, TrainingJobArn=j.arn, CreationTime=j.creation_time,
            TrainingEndTime=j.data.get("TrainingEndTime"), LastModifiedTime=j.last_modified_time,
            TrainingJobStatus=j.status, SecondaryStatus=j.data.get("SecondaryStatus"))
            for j in items], NextToken=token)

    # --- stop / delete ----------------------------------------------------------------------------
    def stop_training_job(self, request: dict, ctx: RequestContext) -> dict:
        self.stop(ctx, request["TrainingJobName"])
        return {}

    def stop(self, ctx, name: str) -> None:
        """Stop a job that is in progress (a tuning job stops its training jobs here too)."""
        job = lifecycle.begin_stop(self.resources, ctx, TYPE, name, "training job",
                                   lambda d: training.add_transition(d, "Stopping"))
        if job is None:
            return
        where = self.engine.stop(job.arn)
        if where == "queued":
            self.engine.end_queued(Scope(ctx.account_id, ctx.region), name)

    def delete_training_job(self, request: dict, ctx: RequestContext) -> dict:
        name = request["TrainingJobName"]
        job = lifecycle.delete_ended(self.resources, ctx, TYPE, name, "training job")
        trial_components.forget_training_job(self.resources, self.engine.metrics, ctx, job)
        self.engine.metrics.delete(job.arn)
        self.engine.remove_job_dir(Scope(ctx.account_id, ctx.region), TYPE, name)
        return {}


def _from_ms(ms: int):
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
