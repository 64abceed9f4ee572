"""SageMaker Experiments: experiments, trials, trial components and their associations.

The rules are AWS's: names are unique per account and region and not case-sensitive; a trial
needs an existing experiment; an experiment with trials, a trial with associated trial
components, and a trial component still associated with a trial cannot be deleted. A
duplicate name is a ``ValidationException`` whose message contains "already exists", which
is what the SageMaker Python SDK looks for to load instead of create.
"""

from __future__ import annotations

from typing import Any

from kamado.errors import ResourceNotFound, ValidationError
from kamado.services.base import Provider, RequestContext
from kamado.store.resources import Resource

EXPERIMENT, TRIAL, COMPONENT = "Experiment", "Trial", "TrialComponent"
# Association types: experiment -> trial, trial -> trial component.
EXPERIMENT_TRIAL = "ExperimentTrial"
TRIAL_COMPONENT = "TrialTrialComponent"

_ARN_PREFIX = {EXPERIMENT: "experiment", TRIAL: "experiment-trial",
               COMPONENT: "experiment-trial-component"}
DEFAULT_MAX_RESULTS = 10


def resource_arn(ctx: RequestContext, type: str, name: str) -> str:
    return ctx.arn("sagemaker", f"{_ARN_PREFIX[type]}/{name.lower()}")


def _present(**fields: Any) -> dict:
    """Only the members that have a value: AWS leaves unset members out of a response."""
    return {k: v for k, v in fields.items() if v is not None}


class Experiments(Provider):
    service = "sagemaker"

    def __init__(self, platform) -> None:
        super().__init__(platform)
        self.resources = platform.resources
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
        d = tc.data
        return _present(
            TrialComponentName=tc.name, TrialComponentArn=tc.arn,
            DisplayName=d.get("DisplayName") or tc.name, Source=d.get("Source"),
            Status=d.get("Status"), StartTime=d.get("StartTime"), EndTime=d.get("EndTime"),
            CreationTime=tc.creation_time, LastModifiedTime=tc.last_modified_time,
            Parameters=d.get("Parameters"), InputArtifacts=d.get("InputArtifacts"),
            OutputArtifacts=d.get("OutputArtifacts"),
            MetadataProperties=d.get("MetadataProperties"), Metrics=d.get("Metrics") or [],
            LineageGroupArn=d.get("LineageGroupArn"))

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
        return self._page("TrialComponentSummaries", [self._summary(tc) for tc in items], token)

    @staticmethod
    def _summary(tc: Resource) -> dict:
        d = tc.data
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
