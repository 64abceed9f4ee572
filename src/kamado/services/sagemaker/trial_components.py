"""The trial components SageMaker makes for jobs, and where it files them.

Every training job gets the trial component ``<job>-aws-training-job`` when it is created,
whether or not the request has an ExperimentConfig (AWS calls those "unassigned runs"):
Source the job (``SageMakerTrainingJob``), Parameters its hyperparameters (as sent, text) and
``SageMaker.InstanceType`` / ``InstanceCount`` / ``VolumeSizeInGB``, InputArtifacts its
channels' S3 URIs and ``SageMaker.ImageUri``. Status, StartTime, EndTime, the
``SageMaker.ModelArtifact`` output and Metrics follow the job (the experiments provider reads
them from the job when asked; :func:`finish` also writes them into the component when the job
ends, so a component outlives nothing it cannot show).

Where it is filed:

* ``ExperimentConfig.TrialName``: associated with that trial (which must exist, and belong to
  ``ExperimentName`` when both are given).
* ``ExperimentConfig.ExperimentName`` without a trial: "If not specified, a new trial is
  created" (AWS's ExperimentConfig) — kamado names it ``<job>-aws-trial``.
* a training job of a hyperparameter tuning job: AWS's tuning jobs "automatically create
  experiments to track all the training jobs launched during a hyperparameter search"; the
  experiment is ``<tuning job>-aws-tuning-job`` (created with the tuning job, Source the tuning
  job) and each training job's component goes into a trial of its own, ``<job>-aws-trial``.
  AWS documents the experiment and its name; the trial names are kamado's choice.
* otherwise nowhere (it is still listed, searchable and found by its SourceArn).

DeleteTrainingJob: "all of the metadata for the training job is lost" and the name may be
reused, so the job's component goes too (with its associations and the metrics logged to it),
and so does the trial kamado made for it when nothing else is left in it. The tuning
experiment stays when its tuning job is deleted, as AWS leaves a tuning job's training jobs.
"""

from __future__ import annotations

from kamado.errors import ResourceNotFound, ValidationError
from kamado.services.base import RequestContext
from kamado.services.sagemaker import experiments as exp
from kamado.services.sagemaker import lineage
from kamado.store.types import now

JOB_SUFFIX = "-aws-training-job"
TRIAL_SUFFIX = "-aws-trial"
TUNING_SUFFIX = "-aws-tuning-job"
TUNING_SOURCE = "SageMakerHyperParameterTuningJob"


def component_name(job_name: str) -> str:
    return f"{job_name}{JOB_SUFFIX}"


def _get_or_create(resources, ctx, type: str, name: str, data: dict):
    found = resources.get(ctx, type, name, missing_ok=True)
    if found is not None:
        return found
    return resources.create(ctx, type, name, exp.resource_arn(ctx, type, name), data)


def tuning_experiment(resources, ctx, tuning_name: str, tuning_arn: str):
    """The experiment ``<tuning job>-aws-tuning-job`` (made once; a tuning job of a reused
    name finds the one it left)."""
    return _get_or_create(resources, ctx, exp.EXPERIMENT, f"{tuning_name}{TUNING_SUFFIX}", {
        "DisplayName": f"{tuning_name}{TUNING_SUFFIX}",
        "Source": {"SourceArn": tuning_arn, "SourceType": TUNING_SOURCE}})


def _job_trial(resources, ctx, experiment, job_name: str, job_arn: str):
    name = f"{job_name}{TRIAL_SUFFIX}"
    trial = resources.get(ctx, exp.TRIAL, name, missing_ok=True)
    if trial is None:
        trial = resources.create(ctx, exp.TRIAL, name, exp.resource_arn(ctx, exp.TRIAL, name), {
            "DisplayName": name, "ExperimentName": experiment.name,
            "Source": {"SourceArn": job_arn, "SourceType": exp.TRAINING_SOURCE}})
        resources.associate(exp.EXPERIMENT_TRIAL, experiment.arn, trial.arn)
    return trial


def _trial_for(resources, ctx, name: str, arn: str, data: dict):
    """The trial a training job's component joins (creating what AWS creates), or None."""
    config = data.get("ExperimentConfig") or {}
    if config.get("TrialName"):
        trial = resources.get(ctx, exp.TRIAL, config["TrialName"])
        wanted = config.get("ExperimentName")
        if wanted:
            experiment = resources.get(ctx, exp.EXPERIMENT, wanted)
            if trial.data.get("ExperimentName", "").lower() != experiment.name.lower():
                raise ValidationError(
                    f"Trial {trial.name} belongs to experiment {trial.data.get('ExperimentName')}"
                    f", not to {experiment.name} (ExperimentConfig).")
        return trial
    if config.get("ExperimentName"):
        experiment = resources.get(ctx, exp.EXPERIMENT, config["ExperimentName"])
        return _job_trial(resources, ctx, experiment, name, arn)
    if data.get("TuningJobArn"):
        tuning = resources.get_by_arn(ctx, data["TuningJobArn"], missing_ok=True)
        if tuning is None:
            return None
        experiment = tuning_experiment(resources, ctx, tuning.name, tuning.arn)
        return _job_trial(resources, ctx, experiment, name, arn)
    return None


def record_training_job(resources, ctx, name: str, arn: str, data: dict) -> str:
    """Make a new training job's trial component and file it (inside the transaction that
    records the job); the component's ARN."""
    trial = _trial_for(resources, ctx, name, arn, data)
    component = component_name(name)
    tc_arn = exp.resource_arn(ctx, exp.COMPONENT, component)
    if resources.get(ctx, exp.COMPONENT, component, missing_ok=True) is not None:
        raise ValidationError(
            f"The trial component {component} that SageMaker makes for training job {name} "
            "already exists; delete it (DeleteTrialComponent) or name the job differently.")
    config = data.get("ExperimentConfig") or {}
    spec = data["AlgorithmSpecification"]
    resources_config = data.get("ResourceConfig") or {}
    parameters = {k: {"StringValue": str(v)} for k, v in (data.get("HyperParameters") or {}).items()}
    if resources_config.get("InstanceType"):
        parameters["SageMaker.InstanceType"] = {"StringValue": resources_config["InstanceType"]}
    for key in ("InstanceCount", "VolumeSizeInGB"):
        if resources_config.get(key) is not None:
            parameters[f"SageMaker.{key}"] = {"NumberValue": float(resources_config[key])}
    inputs = {}
    for channel in data.get("InputDataConfig") or []:
        source = channel.get("DataSource") or {}
        uri = ((source.get("S3DataSource") or {}).get("S3Uri")
               or (source.get("FileSystemDataSource") or {}).get("DirectoryPath") or "")
        inputs[channel["ChannelName"]] = _present(Value=uri, MediaType=channel.get("ContentType"))
    inputs["SageMaker.ImageUri"] = {"Value": spec.get("TrainingImage") or spec.get("AlgorithmName")}
    resources.create(ctx, exp.COMPONENT, component, tc_arn, {
        "DisplayName": config.get("TrialComponentDisplayName") or component,
        "Source": {"SourceArn": arn, "SourceType": exp.TRAINING_SOURCE},
        "Status": {"PrimaryStatus": "InProgress"}, "StartTime": now(),
        "Parameters": parameters, "InputArtifacts": inputs}, status="InProgress")
    if trial is not None:
        resources.associate(exp.TRIAL_COMPONENT, trial.arn, tc_arn)
    # Lineage: the channels' data and the image ContributedTo the component.
    lineage.record_training_inputs(resources, ctx, tc_arn, data)
    return tc_arn


def finish(resources, metrics, scope, job) -> None:
    """Write a job's end into its component: status, times, model, metric summaries."""
    summaries = exp.metric_summaries(metrics.summaries([job.arn]), [job.arn])

    def change(data):
        view = exp.job_view(job)
        outputs = {**(data.get("OutputArtifacts") or {}), **view.pop("OutputArtifacts", {})}
        data.update(view)
        if outputs:
            data["OutputArtifacts"] = outputs
        if summaries:
            data["Metrics"] = summaries
        return data
    try:
        tc = resources.update(scope, exp.COMPONENT, component_name(job.name), change,
                              status=job.status)
    except ResourceNotFound:
        return  # the user deleted the component meanwhile
    # Lineage: the component Produced the model artifact.
    lineage.record_training_output(resources, RequestContext(scope.account_id, scope.region),
                                   tc.arn, job)


def forget_training_job(resources, metrics, ctx, job) -> None:
    """DeleteTrainingJob: the job's component, what was logged to it, and the trial kamado
    made for the job when the component was all it held."""
    tc = resources.get(ctx, exp.COMPONENT, component_name(job.name), missing_ok=True)
    if tc is None or (tc.data.get("Source") or {}).get("SourceArn") != job.arn:
        return
    trials = [link.source_arn for link in resources.links(exp.TRIAL_COMPONENT,
                                                          destination=tc.arn)]
    resources.delete(ctx, exp.COMPONENT, tc.name)  # and its associations
    metrics.delete(tc.arn)
    for trial_arn in trials:
        trial = resources.get_by_arn(ctx, trial_arn, type=exp.TRIAL, missing_ok=True)
        if (trial is not None and (trial.data.get("Source") or {}).get("SourceArn") == job.arn
                and not resources.has_links(exp.TRIAL_COMPONENT, source=trial.arn)):
            resources.delete(ctx, exp.TRIAL, trial.name)


def _present(**fields) -> dict:
    return {k: v for k, v in fields.items() if v is not None}
