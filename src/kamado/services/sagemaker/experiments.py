"""SageMaker Experiments: experiments, trials, trial components and their associations.

The rules are AWS's: names are unique per account and region and not case-sensitive; a trial
needs an existing experiment; an experiment with trials, a trial with associated trial
components, and a trial component still associated with a trial cannot be deleted. A
duplicate name is a ``ValidationException`` whose message contains "already exists", which
is what the SageMaker Python SDK looks for to load instead of create.

A trial component made for a job (``<job>-aws-training-job``, see
:mod:`kamado.services.sagemaker.trial_components`) shows its job as it is now: Status,
StartTime, EndTime and the model artifact are read from the job at Describe/List/Search time,
and ``Metrics`` summarise the job's metric series together with anything logged to the
component through SageMaker Metrics' ``BatchPutMetrics`` (``metric_points`` keyed by the
component's ARN); Search (:mod:`kamado.services.sagemaker.search`) renders components
through DescribeTrialComponent, so it shows the same. Lineage artifacts and associations (what
``Run.log_confusion_matrix`` and friends create) come from
:class:`kamado.services.sagemaker.lineage.Lineage`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kamado.errors import ResourceNotFound, ValidationError
from kamado.services.base import Provider, RequestContext
from kamado.services.sagemaker.lineage import Lineage
from kamado.store.metrics import MetricStore
from kamado.store.resources import Resource

EXPERIMENT, TRIAL, COMPONENT = "Experiment", "Trial", "TrialComponent"
# Association types: experiment -> trial, trial -> trial component.
EXPERIMENT_TRIAL = "ExperimentTrial"
TRIAL_COMPONENT = "TrialTrialComponent"

_ARN_PREFIX = {EXPERIMENT: "experiment", TRIAL: "experiment-trial",
               COMPONENT: "experiment-trial-component"}
DEFAULT_MAX_RESULTS = 10
TRAINING_JOB = "TrainingJob"  # kamado.engine.training.TYPE
TRAINING_SOURCE = "SageMakerTrainingJob"  # a trial component's SourceType for a training job


def resource_arn(ctx: RequestContext, type: str, name: str) -> str:
    return ctx.arn("sagemaker", f"{_ARN_PREFIX[type]}/{name.lower()}")


def _present(**fields: Any) -> dict:
    """Only the members that have a value: AWS leaves unset members out of a response."""
    return {k: v for k, v in fields.items() if v is not None}


def _from_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)


def job_view(job: Resource) -> dict:
    """What a training job's trial component shows of the job now: its status (with the
    message SageMaker writes), start and end times and the model it produced."""
    d = job.data
    reason = d.get("FailureReason")
    status = {"PrimaryStatus": job.status,
              "Message": f"Status: {job.status}, exit message: null, failure reason: "
                         f"{reason if reason else 'null'}"}
    view: dict = {"Status": status, "StartTime": d.get("TrainingStartTime") or job.creation_time}
    if d.get("TrainingEndTime"):
        view["EndTime"] = d["TrainingEndTime"]
    model = (d.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
    if model:
        view["OutputArtifacts"] = {"SageMaker.ModelArtifact": {"Value": model}}
    return view


def metric_summaries(found: dict, sources: list[str]) -> list[dict]:
    """TrialComponentMetricSummary entries for ``sources`` from MetricStore.summaries()."""
    out = []
    for (source, name), m in sorted(found.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if source in sources:
            out.append({"MetricName": name, "SourceArn": source,
                        "TimeStamp": _from_ms(m.last_timestamp), "Max": m.max, "Min": m.min,
                        "Last": m.last, "Count": m.count, "Avg": m.avg, "StdDev": m.std_dev})
    return out


class Experiments(Lineage, Provider):
    service = "sagemaker"

    def __init__(self, platform) -> None:
        super().__init__(platform)
        self.resources = platform.resources
        self.metrics = MetricStore(platform.db)
        self.resources.register(EXPERIMENT, label="Experiment")
        self.resources.register(TRIAL, label="Trial")
        self.resources.register(COMPONENT, label="Trial component")

    # --- shared ---------------------------------------------------------------------------
    def _create(self, ctx: RequestContext, type: str, name: str, data: dict,
                request: dict, status: str | None = None) -> str:
        arn = resource_arn(ctx, type, name)
        data = {k: v for k, v in data.items() if v is not None}
        self.resources.create(ctx, type, name, arn, data, status=status,
                              tags=request.get("Tags") or None)
        return arn

    def _list(self, ctx: RequestContext, type: str, request: dict, **filters):
        return self.resources.list(
            ctx, type, created_after=request.get("CreatedAfter"),
            created_before=request.get("CreatedBefore"),
            sort_by=request.get("SortBy") or "CreationTime",
            sort_order=request.get("SortOrder") or "Descending",
            max_results=request.get("MaxResults") or DEFAULT_MAX_RESULTS,
            next_token=request.get("NextToken") or None, **filters)

    @staticmethod
    def _page(key: str, items: list[dict], token: str | None) -> dict:
        return _present(**{key: items, "NextToken": token})

    # --- experiments ----------------------------------------------------------------------
    def create_experiment(self, request: dict, ctx: RequestContext) -> dict:
        name = request["ExperimentName"]
        arn = self._create(ctx, EXPERIMENT, name, {
            "DisplayName": request.get("DisplayName"),
            "Description": request.get("Description")}, request)
        return {"ExperimentArn": arn}

    def describe_experiment(self, request: dict, ctx: RequestContext) -> dict:
        exp = self.resources.get(ctx, EXPERIMENT, request["ExperimentName"])
        return _present(
            ExperimentName=exp.name, ExperimentArn=exp.arn,
            DisplayName=exp.data.get("DisplayName") or exp.name, Source=exp.data.get("Source"),
            Description=exp.data.get("Description"), CreationTime=exp.creation_time,
            LastModifiedTime=exp.last_modified_time)

    def list_experiments(self, request: dict, ctx: RequestContext) -> dict:
        items, token = self._list(ctx, EXPERIMENT, request)
        return self._page("ExperimentSummaries", [_present(
            ExperimentArn=e.arn, ExperimentName=e.name,
            DisplayName=e.data.get("DisplayName") or e.name,
            ExperimentSource=e.data.get("Source"), CreationTime=e.creation_time,
            LastModifiedTime=e.last_modified_time) for e in items], token)

    def update_experiment(self, request: dict, ctx: RequestContext) -> dict:
        changes = {k: request[k] for k in ("DisplayName", "Description") if k in request}
        exp = self.resources.update(ctx, EXPERIMENT, request["ExperimentName"], changes)
        return {"ExperimentArn": exp.arn}

    def delete_experiment(self, request: dict, ctx: RequestContext) -> dict:
        with self.resources.transaction():
            # Locked, so that a trial being created at the same moment waits for us.
            exp = self.resources.get(ctx, EXPERIMENT, request["ExperimentName"], for_update=True)
            if self.resources.has_links(EXPERIMENT_TRIAL, source=exp.arn):
                raise ValidationError(
                    f"Experiment {exp.name} still has trials; delete its trials before "
                    "deleting the experiment (ListTrials with ExperimentName lists them).")
            self.resources.delete(ctx, EXPERIMENT, exp.name)
        return {"ExperimentArn": exp.arn}

    # --- trials ---------------------------------------------------------------------------
    def create_trial(self, request: dict, ctx: RequestContext) -> dict:
        name = request["TrialName"]
        with self.resources.transaction():
            exp = self.resources.get(ctx, EXPERIMENT, request["ExperimentName"], for_update=True)
            arn = self._create(ctx, TRIAL, name, {
                "DisplayName": request.get("DisplayName"), "ExperimentName": exp.name,
                "MetadataProperties": request.get("MetadataProperties")}, request)
            self.resources.associate(EXPERIMENT_TRIAL, exp.arn, arn)
        return {"TrialArn": arn}

    def describe_trial(self, request: dict, ctx: RequestContext) -> dict:
        trial = self.resources.get(ctx, TRIAL, request["TrialName"])
        return _present(
            TrialName=trial.name, TrialArn=trial.arn,
            DisplayName=trial.data.get("DisplayName") or trial.name,
            ExperimentName=trial.data.get("ExperimentName"), Source=trial.data.get("Source"),
            CreationTime=trial.creation_time, LastModifiedTime=trial.last_modified_time,
            MetadataProperties=trial.data.get("MetadataProperties"))

    def list_trials(self, request: dict, ctx: RequestContext) -> dict:
        arns = []
        if request.get("ExperimentName"):
            exp = self.resources.get(ctx, EXPERIMENT, request["ExperimentName"])
            arns.append(self.resources.linked(EXPERIMENT_TRIAL, source=exp.arn))
        if request.get("TrialComponentName"):
            tc = self.resources.get(ctx, COMPONENT, request["TrialComponentName"])
            arns.append(self.resources.linked(TRIAL_COMPONENT, destination=tc.arn))
        items, token = self._list(ctx, TRIAL, request, arns=arns)
        return self._page("TrialSummaries", [_present(
            TrialArn=t.arn, TrialName=t.name, DisplayName=t.data.get("DisplayName") or t.name,
            TrialSource=t.data.get("Source"), CreationTime=t.creation_time,
            LastModifiedTime=t.last_modified_time) for t in items], token)

    def update_trial(self, request: dict, ctx: RequestContext) -> dict:
        changes = {k: request[k] for k in ("DisplayName",) if k in request}
        trial = self.resources.update(ctx, TRIAL, request["TrialName"], changes)
        return {"TrialArn": trial.arn}

    def delete_trial(self, request: dict, ctx: RequestContext) -> dict:
        with self.resources.transaction():
            trial = self.resources.get(ctx, TRIAL, request["TrialName"], for_update=True)
            if self.resources.has_links(TRIAL_COMPONENT, source=trial.arn):
                raise ValidationError(
                    f"Trial {trial.name} still has trial components associated with it; "
                    "disassociate them (DisassociateTrialComponent) before deleting the trial.")
            self.resources.delete(ctx, TRIAL, trial.name)
        return {"TrialArn": trial.arn}

    # --- trial components -----------------------------------------------------------------
    def create_trial_component(self, request: dict, ctx: RequestContext) -> dict:
        status = request.get("Status")
        arn = self._create(ctx, COMPONENT, request["TrialComponentName"], {
            key: request.get(key) for key in (
                "DisplayName", "Status", "StartTime", "EndTime", "Parameters",
                "InputArtifacts", "OutputArtifacts", "MetadataProperties")},
            request, status=(status or {}).get("PrimaryStatus"))
        return {"TrialComponentArn": arn}

    def describe_trial_component(self, request: dict, ctx: RequestContext) -> dict:
        tc = self.resources.get(ctx, COMPONENT, request["TrialComponentName"])
        return self._components(ctx, [tc])[0]

    # --- what a trial component shows: its own document, its job now, its metrics -------------
    def _jobs_of(self, ctx, tcs: list[Resource]) -> dict[str, Resource]:
        """The training jobs that are the sources of ``tcs``, by ARN (deleted ones absent)."""
        arns = [s["SourceArn"] for s in (tc.data.get("Source") or {} for tc in tcs)
                if s.get("SourceType") == TRAINING_SOURCE and s.get("SourceArn")]
        if not arns:
            return {}
        jobs, _ = self.resources.list(ctx, TRAINING_JOB, arns=[arns], sort_by="CreationTime")
        return {j.arn: j for j in jobs}

    @staticmethod
    def _live(tc: Resource, jobs: dict[str, Resource]) -> dict:
        """The component's document with its source job's present state laid over it."""
        d = dict(tc.data)
        job = jobs.get((d.get("Source") or {}).get("SourceArn", ""))
        if job is not None:
            view = job_view(job)
            outputs = {**(d.get("OutputArtifacts") or {}), **view.pop("OutputArtifacts", {})}
            d.update(view)
            if outputs:
                d["OutputArtifacts"] = outputs
        return d

    def _metric_sources(self, tc: Resource) -> list[str]:
        """Whose series a component's Metrics summarise: its own (BatchPutMetrics) and its
        training job's (the job's metric definitions)."""
        source = tc.data.get("Source") or {}
        if source.get("SourceType") == TRAINING_SOURCE and source.get("SourceArn"):
            return [tc.arn, source["SourceArn"]]
        return [tc.arn]

    def _components(self, ctx, tcs: list[Resource]) -> list[dict]:
        """DescribeTrialComponent answers for ``tcs`` (one query for all their metrics)."""
        jobs = self._jobs_of(ctx, tcs)
        found = self.metrics.summaries(a for tc in tcs for a in self._metric_sources(tc))
        out = []
        for tc in tcs:
            d = self._live(tc, jobs)
            metrics = metric_summaries(found, self._metric_sources(tc))
            if not metrics:  # the job and its series are gone: what was summarised last
                metrics = d.get("Metrics") or []
            out.append(_present(
                TrialComponentName=tc.name, TrialComponentArn=tc.arn,
                DisplayName=d.get("DisplayName") or tc.name, Source=d.get("Source"),
                Status=d.get("Status"), StartTime=d.get("StartTime"), EndTime=d.get("EndTime"),
                CreationTime=tc.creation_time, LastModifiedTime=tc.last_modified_time,
                Parameters=d.get("Parameters"), InputArtifacts=d.get("InputArtifacts"),
                OutputArtifacts=d.get("OutputArtifacts"),
                MetadataProperties=d.get("MetadataProperties"), Metrics=metrics,
                LineageGroupArn=d.get("LineageGroupArn"),
                Sources=[d["Source"]] if d.get("Source") else None))
        return out

    def list_trial_components(self, request: dict, ctx: RequestContext) -> dict:
        given = [k for k in ("ExperimentName", "TrialName", "SourceArn") if request.get(k)]
        if len(given) > 1:
            raise ValidationError(f"Specify at most one of ExperimentName, TrialName and "
                                  f"SourceArn; got {' and '.join(given)}.")
        arns, where = [], None
        if request.get("ExperimentName"):
            exp = self.resources.get(ctx, EXPERIMENT, request["ExperimentName"])
            trials = self.resources.linked(EXPERIMENT_TRIAL, source=exp.arn)
            arns.append(self.resources.linked(TRIAL_COMPONENT, source=trials))
        elif request.get("TrialName"):
            trial = self.resources.get(ctx, TRIAL, request["TrialName"])
            arns.append(self.resources.linked(TRIAL_COMPONENT, source=trial.arn))
        elif request.get("SourceArn"):
            where = {"Source.SourceArn": request["SourceArn"]}
        items, token = self._list(ctx, COMPONENT, request, arns=arns, where=where)
        jobs = self._jobs_of(ctx, items)
        return self._page("TrialComponentSummaries",
                          [self._summary(tc, self._live(tc, jobs)) for tc in items], token)

    @staticmethod
    def _summary(tc: Resource, d: dict) -> dict:
        return _present(
            TrialComponentName=tc.name, TrialComponentArn=tc.arn,
            DisplayName=d.get("DisplayName") or tc.name, TrialComponentSource=d.get("Source"),
            Status=d.get("Status"), StartTime=d.get("StartTime"), EndTime=d.get("EndTime"),
            CreationTime=tc.creation_time, LastModifiedTime=tc.last_modified_time)

    def update_trial_component(self, request: dict, ctx: RequestContext) -> dict:
        for member in ("Parameters", "InputArtifacts", "OutputArtifacts"):
            both = set(request.get(member) or {}) & set(request.get(f"{member}ToRemove") or [])
            if both:
                raise ValidationError(f"{member} and {member}ToRemove both name "
                                      f"{', '.join(sorted(both))}.")

        def apply(data: dict) -> dict:
            for key in ("DisplayName", "Status", "StartTime", "EndTime"):
                if key in request:
                    data[key] = request[key]
            for member in ("Parameters", "InputArtifacts", "OutputArtifacts"):
                merged = {**(data.get(member) or {}), **(request.get(member) or {})}
                for key in request.get(f"{member}ToRemove") or []:
                    merged.pop(key, None)
                if merged:
                    data[member] = merged
                else:
                    data.pop(member, None)
            return data

        status = request.get("Status", {}).get("PrimaryStatus") if "Status" in request else None
        kwargs = {"status": status} if status is not None else {}
        tc = self.resources.update(ctx, COMPONENT, request["TrialComponentName"], apply, **kwargs)
        return {"TrialComponentArn": tc.arn}

    def delete_trial_component(self, request: dict, ctx: RequestContext) -> dict:
        with self.resources.transaction():
            tc = self.resources.get(ctx, COMPONENT, request["TrialComponentName"], for_update=True)
            if self.resources.has_links(TRIAL_COMPONENT, destination=tc.arn):
                raise ValidationError(
                    f"Trial component {tc.name} is still associated with a trial; "
                    "disassociate it from every trial before deleting it.")
            self.resources.delete(ctx, COMPONENT, tc.name)
        self.metrics.delete(tc.arn)  # what BatchPutMetrics logged to it goes with it
        return {"TrialComponentArn": tc.arn}

    # --- associations ---------------------------------------------------------------------
    def _pair(self, request: dict, ctx: RequestContext) -> tuple[Resource, Resource]:
        # Both rows locked: a concurrent delete of either waits until the link is settled.
        tc = self.resources.get(ctx, COMPONENT, request["TrialComponentName"], for_update=True)
        trial = self.resources.get(ctx, TRIAL, request["TrialName"], for_update=True)
        return tc, trial

    def associate_trial_component(self, request: dict, ctx: RequestContext) -> dict:
        with self.resources.transaction():
            tc, trial = self._pair(request, ctx)
            self.resources.associate(TRIAL_COMPONENT, trial.arn, tc.arn)
        return {"TrialComponentArn": tc.arn, "TrialArn": trial.arn}

    def disassociate_trial_component(self, request: dict, ctx: RequestContext) -> dict:
        with self.resources.transaction():
            tc, trial = self._pair(request, ctx)
            if not self.resources.disassociate(TRIAL_COMPONENT, trial.arn, tc.arn):
                raise ResourceNotFound(
                    f"Trial component {tc.name} is not associated with trial {trial.name}.")
        return {"TrialComponentArn": tc.arn, "TrialArn": trial.arn}
