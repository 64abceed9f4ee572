"""ML lineage: artifacts, actions and contexts, the associations between lineage entities
(those three and trial components), QueryLineage, and the entities SageMaker records by itself.

The SageMaker Python SDK's ``Run.log_confusion_matrix``, ``log_roc_curve`` and
``log_precision_recall`` upload a JSON file to S3, then ``CreateArtifact`` (ArtifactType the
chart's type, Source the S3 URI and its ETag) and ``AddAssociation`` from the run's trial
component to the artifact (``Produced``; ``ContributedTo`` the other way for an input).
Served here: Create/Describe/List/Update/DeleteArtifact, -Action and -Context,
Add/List/DeleteAssociation and QueryLineage.

An association is a row of the ``associations`` table (type ``Lineage``, AWS's AssociationType
in its data). AddAssociation refuses an edge that would close a cycle: lineage is a DAG, and
QueryLineage's Ascendants/Descendants only mean something on one.

What SageMaker records by itself (the module functions below, called by the providers):

* a training job (:mod:`~kamado.services.sagemaker.trial_components`): an artifact per input
  channel (ArtifactType ``DataSet``, SourceUri its S3 URI) and one for the training image
  (``Image``), each ``ContributedTo`` the job's trial component; when the job ends with a
  model, the component ``Produced`` the model artifact (``Model``, its model.tar.gz).
* a model package (:mod:`~kamado.services.sagemaker.registry`): an artifact (ArtifactType
  ``ModelPackage``, SourceUri the package ARN) that each container's model data and image
  ``ContributedTo``; an action (ActionType ``Approval``) for its creation and approval, which
  the package ``ContributedTo``; a version is ``AssociatedWith`` its group's context
  (``ModelGroup``).
* an endpoint (:mod:`~kamado.services.sagemaker.endpoints`): a context ``<endpoint>-<hash>``
  (ContextType ``Endpoint``, SourceUri the endpoint ARN) and, per endpoint configuration it
  runs, an action (ActionType ``ModelDeployment``) ``AssociatedWith`` the endpoint context; the
  model data and image artifacts of every variant's model, and the model package a container
  was made from (and its approval action), ``ContributedTo`` the action.

Artifacts SageMaker makes are found again by SourceUri ("there can be only one artifact with a
unique SourceUri"), so the model a training job produced is the very artifact the endpoint's
deployment action consumes, and QueryLineage from an endpoint reaches the training data.

:class:`Lineage` is a mixin of the experiments provider (one provider answers for the
experiment entities and the edges between them); it can become a provider of its own by
registering it in :mod:`kamado.services.registry` and dropping it from ``Experiments``' bases.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import deque

from kamado.errors import AwsError, ResourceNotFound, ValidationError
from kamado.services.base import RequestContext
from kamado.services.sagemaker.listing import offset_page
from kamado.store.types import utc

ARTIFACT, ACTION, CONTEXT = "Artifact", "Action", "Context"
COMPONENT = "TrialComponent"  # experiments.COMPONENT (not imported: experiments imports us)
LINEAGE = "Lineage"  # association type in the store; AWS's AssociationType lives in its data
_ENTITIES = {ARTIFACT, ACTION, CONTEXT, COMPONENT}
ASSOCIATION_TYPES = ("ContributedTo", "AssociatedWith", "DerivedFrom", "Produced", "SameAs")
ACTION_STATUSES = ("Unknown", "InProgress", "Completed", "Failed", "Stopping", "Stopped")
DIRECTIONS = ("Both", "Ascendants", "Descendants")
DEFAULT_MAX_RESULTS = 10
DEFAULT_QUERY_DEPTH = 10
MAX_PROPERTIES = 30
# A trial component's vertex Type, from its Source's SourceType (AWS's LineageSourceEnum).
_JOB_TYPES = {"SageMakerTrainingJob": "TrainingJob", "SageMakerProcessingJob": "ProcessingJob",
              "SageMakerTransformJob": "TransformJob"}


def _present(**fields) -> dict:
    return {k: v for k, v in fields.items() if v is not None}


def _artifact_missing(name: str, arn: str) -> ResourceNotFound:
    return ResourceNotFound(f"Artifact {arn or name} does not exist.")


def _action_missing(name: str, arn: str) -> ResourceNotFound:
    return ResourceNotFound(f"Action {arn or name} does not exist.")


def _context_missing(name: str, arn: str) -> ResourceNotFound:
    return ResourceNotFound(f"Context {arn or name} does not exist.")


def _by(ctx) -> dict:
    """CreatedBy / LastModifiedBy: every kamado request is signed with the account's root key."""
    return {"IamIdentity": {"Arn": f"arn:aws:iam::{ctx.account_id}:root",
                            "PrincipalId": ctx.account_id}}


def _name_of(ref: str, kind: str) -> str:
    """A name from a name or an ARN (``arn:...:action/<name>``)."""
    marker = f":{kind}/"
    return ref.split(marker, 1)[1] if marker in ref else ref


def _check_properties(properties: dict | None, remove: list | None = None,
                      existing: dict | None = None) -> dict:
    merged = dict(existing or {})
    properties = properties or {}
    both = set(properties) & set(remove or [])
    if both:
        raise ValidationError(f"Properties {sorted(both)} are both set and removed.")
    merged.update(properties)
    for key in remove or []:
        merged.pop(key, None)
    if len(merged) > MAX_PROPERTIES:
        raise ValidationError(f"An entity has at most {MAX_PROPERTIES} properties.")
    return merged


def _check_source(source: dict) -> dict:
    if not (source or {}).get("SourceUri"):
        raise ValidationError("Source.SourceUri is required.")
    return source


def vertex_type(entity) -> str | None:
    """What QueryLineage shows as a vertex's Type."""
    d = entity.data
    if entity.type == ARTIFACT:
        return d.get("ArtifactType")
    if entity.type == ACTION:
        return d.get("ActionType")
    if entity.type == CONTEXT:
        return d.get("ContextType")
    source = (d.get("Source") or {}).get("SourceType")
    return _JOB_TYPES.get(source, source)


# --- what SageMaker records by itself ---------------------------------------------------------

def link(resources, source_arn: str, destination_arn: str, association_type: str) -> bool:
    """An association SageMaker makes (no cycle check: its edges always point downstream)."""
    return resources.associate(LINEAGE, source_arn, destination_arn,
                               {"AssociationType": association_type})


def source_artifact(resources, ctx, uri: str, artifact_type: str):
    """The artifact whose SourceUri is ``uri``, made if there is none ("there can be only one
    artifact with a unique SourceUri")."""
    found, _ = resources.list(ctx, ARTIFACT, sort_by="CreationTime", sort_order="Ascending",
                              max_results=1, where={"Source.SourceUri": uri})
    if found:
        return found[0]
    artifact_id = uuid.uuid4().hex
    data = {"Source": {"SourceUri": uri}, "ArtifactType": artifact_type,
            "CreatedBy": _by(ctx), "LastModifiedBy": _by(ctx)}
    return resources.create(ctx, ARTIFACT, artifact_id,
                            ctx.arn("sagemaker", f"artifact/{artifact_id}"), data)


def named_entity(resources, ctx, type: str, name: str, data: dict):
    """The action or context ``name``, made with ``data`` if it does not exist."""
    found = resources.get(ctx, type, name, missing_ok=True)
    if found is not None:
        return found
    kind = "action" if type == ACTION else "context"
    return resources.create(ctx, type, name, ctx.arn("sagemaker", f"{kind}/{name.lower()}"),
                            {**data, "CreatedBy": _by(ctx), "LastModifiedBy": _by(ctx)})


def _short_hash(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:10]


def record_training_inputs(resources, ctx, tc_arn: str, data: dict) -> None:
    """A new training job: its channels' data and its image ContributedTo its component."""
    for channel in data.get("InputDataConfig") or []:
        source = channel.get("DataSource") or {}
        uri = ((source.get("S3DataSource") or {}).get("S3Uri")
               or (source.get("FileSystemDataSource") or {}).get("DirectoryPath"))
        if uri:
            artifact = source_artifact(resources, ctx, uri, "DataSet")
            link(resources, artifact.arn, tc_arn, "ContributedTo")
    spec = data.get("AlgorithmSpecification") or {}
    if spec.get("TrainingImage"):
        image = source_artifact(resources, ctx, spec["TrainingImage"], "Image")
        link(resources, image.arn, tc_arn, "ContributedTo")


def record_training_output(resources, ctx, tc_arn: str, job) -> None:
    """A finished training job: its component Produced the model artifact."""
    model = (job.data.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
    if model:
        artifact = source_artifact(resources, ctx, model, "Model")
        link(resources, tc_arn, artifact.arn, "Produced")


def approval_action_name(package_arn: str) -> str:
    base = package_arn.split(":model-package/", 1)[1].replace("/", "-")
    return f"{base[:80]}-{_short_hash(package_arn)}-approval"


def record_model_package(resources, ctx, package_arn: str, data: dict,
                         group=None) -> None:
    """A new model package, as AWS lists it ("Tracking Entities for Model Packages"): an
    artifact for the package; its containers' model data and images ContributedTo it; an action
    for the version's creation and approval that the package ContributedTo; for a version, a
    context for its group that the package is AssociatedWith."""
    package = source_artifact(resources, ctx, package_arn, "ModelPackage")
    for container in (data.get("InferenceSpecification") or {}).get("Containers") or []:
        if container.get("ModelDataUrl"):
            model = source_artifact(resources, ctx, container["ModelDataUrl"], "Model")
            link(resources, model.arn, package.arn, "ContributedTo")
        if container.get("Image"):
            image = source_artifact(resources, ctx, container["Image"], "Image")
            link(resources, image.arn, package.arn, "ContributedTo")
    approval = named_entity(resources, ctx, ACTION, approval_action_name(package_arn), {
        "Source": {"SourceUri": package_arn, "SourceType": "ModelPackage"},
        "ActionType": "Approval", "Status": "Completed",
        "Properties": _present(ModelApprovalStatus=data.get("ModelApprovalStatus")
                               or ("PendingManualApproval" if group is not None else None))})
    link(resources, package.arn, approval.arn, "ContributedTo")
    if group is not None:
        group_context = named_entity(
            resources, ctx, CONTEXT, f"{group.name[:80]}-{_short_hash(group.arn)}", {
                "Source": {"SourceUri": group.arn, "SourceType": "ModelPackageGroup"},
                # Properties present, if empty: the SDK's ModelPackageGroup context reads
                # properties.get("PipelineExecutionArn") (set when a pipeline made the group).
                "ContextType": "ModelGroup", "Properties": {}})
        link(resources, package.arn, group_context.arn, "AssociatedWith")


def record_approval(resources, ctx, package_arn: str, status: str) -> None:
    """UpdateModelPackage changed the approval: the approval action says so."""
    action = resources.get(ctx, ACTION, approval_action_name(package_arn), missing_ok=True)
    if action is not None:
        resources.update(ctx, ACTION, action.name, {
            "Properties": {**(action.data.get("Properties") or {}),
                           "ModelApprovalStatus": status},
            "LastModifiedBy": _by(ctx)})


def endpoint_context_name(endpoint_name: str, endpoint_arn: str) -> str:
    return f"{endpoint_name}-{_short_hash(endpoint_arn)}"


def record_endpoint(resources, ctx, endpoint_name: str, endpoint_arn: str,
                    config: dict) -> None:
    """An endpoint running ``config``: its context, the deployment action and what it
    deployed (each variant's model data, image and model package)."""
    from kamado.services.sagemaker import registry  # registry imports this module

    context = named_entity(resources, ctx, CONTEXT,
                           endpoint_context_name(endpoint_name, endpoint_arn), {
                               "Source": {"SourceUri": endpoint_arn,
                                          "SourceType": "ARN"},
                               "ContextType": "Endpoint"})
    config_name = config.get("EndpointConfigName") or ""
    config_arn = ctx.arn("sagemaker", f"endpoint-config/{config_name.lower()}")
    action = named_entity(
        resources, ctx, ACTION,
        f"{endpoint_name[:60]}-{_short_hash(endpoint_arn, config_arn)}-deployment", {
            "Source": {"SourceUri": config_arn, "SourceType": "ARN"},
            "ActionType": "ModelDeployment", "Status": "Completed",
            "Properties": {"EndpointConfigName": config_name}})
    link(resources, action.arn, context.arn, "AssociatedWith")
    variants = list(config.get("ProductionVariants") or []) + list(
        config.get("ShadowProductionVariants") or [])
    for variant in variants:
        model = resources.get(ctx, "Model", variant.get("ModelName") or "", missing_ok=True)
        if model is None:
            continue
        d = model.data
        containers = d.get("Containers") or ([d["PrimaryContainer"]]
                                             if d.get("PrimaryContainer") else [])
        for container in containers:
            if container.get("ModelDataUrl"):
                artifact = source_artifact(resources, ctx, container["ModelDataUrl"], "Model")
                link(resources, artifact.arn, action.arn, "ContributedTo")
            if container.get("Image"):
                image = source_artifact(resources, ctx, container["Image"], "Image")
                link(resources, image.arn, action.arn, "ContributedTo")
            ref = (container.get("_Given") or {}).get("ModelPackageName")
            if ref:
                try:
                    package = registry.get_package(resources, ctx, ref)
                except AwsError:  # deleted since the model was made: nothing to link
                    continue
                found, _ = resources.list(ctx, ARTIFACT, max_results=1,
                                          where={"Source.SourceUri": package.arn})
                if found:
                    link(resources, found[0].arn, action.arn, "ContributedTo")
                # Not in AWS's list, but what the SDK's ModelPackageApprovalAction.endpoints()
                # looks for: the deployment follows from the approval.
                approval = resources.get(ctx, ACTION, approval_action_name(package.arn),
                                         missing_ok=True)
                if approval is not None:
                    link(resources, approval.arn, action.arn, "ContributedTo")


class Lineage:
    """Artifacts, actions, contexts, associations and QueryLineage."""

    def __init__(self, platform) -> None:
        super().__init__(platform)
        platform.resources.register(ARTIFACT, label="Artifact", on_missing=_artifact_missing)
        platform.resources.register(ACTION, label="Action", on_missing=_action_missing)
        platform.resources.register(CONTEXT, label="Context", on_missing=_context_missing)

    # --- artifacts ------------------------------------------------------------------------------
    def create_artifact(self, request: dict, ctx: RequestContext) -> dict:
        # Artifacts are not unique by source: each CreateArtifact makes a new one, as the SDK
        # expects when a run logs a chart of the same title again.
        artifact_id = uuid.uuid4().hex
        arn = ctx.arn("sagemaker", f"artifact/{artifact_id}")
        data = _present(ArtifactName=request.get("ArtifactName"),
                        Source=_check_source(request["Source"]),
                        ArtifactType=request["ArtifactType"],
                        Properties=_check_properties(request.get("Properties")) or None,
                        MetadataProperties=request.get("MetadataProperties"),
                        CreatedBy=_by(ctx), LastModifiedBy=_by(ctx))
        self.platform.resources.create(ctx, ARTIFACT, artifact_id, arn, data,
                                       tags=request.get("Tags") or None)
        return {"ArtifactArn": arn}

    def _artifact(self, ctx, arn: str):
        return self.platform.resources.get_by_arn(ctx, arn, type=ARTIFACT)

    def describe_artifact(self, request: dict, ctx: RequestContext) -> dict:
        a = self._artifact(ctx, request["ArtifactArn"])
        return _present(ArtifactArn=a.arn, CreationTime=a.creation_time,
                        LastModifiedTime=a.last_modified_time, **a.data)

    def update_artifact(self, request: dict, ctx: RequestContext) -> dict:
        resources = self.platform.resources
        with resources.transaction():
            a = resources.get_by_arn(ctx, request["ArtifactArn"], type=ARTIFACT,
                                     for_update=True)
            properties = _check_properties(request.get("Properties"),
                                           request.get("PropertiesToRemove"),
                                           a.data.get("Properties"))
            resources.update(ctx, ARTIFACT, a.name, {
                "ArtifactName": request.get("ArtifactName") or a.data.get("ArtifactName"),
                "Properties": properties or None, "LastModifiedBy": _by(ctx)})
        return {"ArtifactArn": a.arn}

    def list_artifacts(self, request: dict, ctx: RequestContext) -> dict:
        uri, kind = request.get("SourceUri"), request.get("ArtifactType")

        def wanted(a) -> bool:
            return ((uri is None or (a.data.get("Source") or {}).get("SourceUri") == uri)
                    and (kind is None or a.data.get("ArtifactType") == kind))
        items, token = self.platform.resources.list(
            ctx, ARTIFACT, created_after=request.get("CreatedAfter"),
            created_before=request.get("CreatedBefore"), sort_by="CreationTime",
            sort_order=request.get("SortOrder") or "Descending",
            max_results=request.get("MaxResults") or DEFAULT_MAX_RESULTS,
            next_token=request.get("NextToken") or None,
            where=wanted if uri is not None or kind is not None else None)
        return _present(ArtifactSummaries=[_present(
            ArtifactArn=a.arn, ArtifactName=a.data.get("ArtifactName"),
            Source=a.data.get("Source"), ArtifactType=a.data.get("ArtifactType"),
            CreationTime=a.creation_time, LastModifiedTime=a.last_modified_time)
            for a in items], NextToken=token)

    def delete_artifact(self, request: dict, ctx: RequestContext) -> dict:
        resources = self.platform.resources
        if request.get("ArtifactArn"):
            a = self._artifact(ctx, request["ArtifactArn"])
        elif (request.get("Source") or {}).get("SourceUri"):
            uri = request["Source"]["SourceUri"]
            found, _ = resources.list(ctx, ARTIFACT, sort_by="CreationTime", max_results=1,
                                      where=lambda r: (r.data.get("Source") or {}).get(
                                          "SourceUri") == uri)
            if not found:
                raise ResourceNotFound(f"No artifact has the source {uri}.")
            a = found[0]
        else:
            raise ValidationError("Specify the ArtifactArn or the Source of the artifact to "
                                  "delete.")
        resources.delete(ctx, ARTIFACT, a.name)  # its associations go with it
        return {"ArtifactArn": a.arn}

    # --- actions and contexts -------------------------------------------------------------------
    def _create_named(self, ctx, type: str, kind: str, request: dict, data: dict) -> str:
        name = request[f"{type}Name"]
        arn = ctx.arn("sagemaker", f"{kind}/{name.lower()}")
        data = _present(Source=_check_source(request["Source"]),
                        Description=request.get("Description"),
                        Properties=_check_properties(request.get("Properties")) or None,
                        CreatedBy=_by(ctx), LastModifiedBy=_by(ctx), **data)
        self.platform.resources.create(
            ctx, type, name, arn, data, tags=request.get("Tags") or None,
            on_duplicate=lambda n, a: ValidationError(
                f"{type} with name {n} already exists ({a})."))
        return arn

    def _named(self, ctx, type: str, kind: str, ref: str, *, for_update: bool = False):
        return self.platform.resources.get(ctx, type, _name_of(ref, kind),
                                           for_update=for_update)

    def _describe_named(self, entity, type: str) -> dict:
        d = dict(entity.data)
        return _present(**{f"{type}Name": entity.name, f"{type}Arn": entity.arn},
                        CreationTime=entity.creation_time,
                        LastModifiedTime=entity.last_modified_time, **d)

    def _update_named(self, ctx, type: str, kind: str, request: dict, extra: dict) -> str:
        resources = self.platform.resources
        with resources.transaction():
            entity = self._named(ctx, type, kind, request[f"{type}Name"], for_update=True)
            properties = _check_properties(request.get("Properties"),
                                           request.get("PropertiesToRemove"),
                                           entity.data.get("Properties"))
            changes = {"Properties": properties or None, "LastModifiedBy": _by(ctx), **extra}
            if request.get("Description") is not None:
                changes["Description"] = request["Description"]
            resources.update(ctx, type, entity.name, changes)
        return entity.arn

    def _list_named(self, ctx, type: str, request: dict, kind_key: str) -> tuple:
        uri, kind = request.get("SourceUri"), request.get(kind_key)
        where = {}
        if uri is not None:
            where["Source.SourceUri"] = uri
        if kind is not None:
            where[kind_key] = kind
        return self.platform.resources.list(
            ctx, type, created_after=request.get("CreatedAfter"),
            created_before=request.get("CreatedBefore"),
            sort_by=request.get("SortBy") or "CreationTime",
            sort_order=request.get("SortOrder") or "Descending",
            max_results=request.get("MaxResults") or DEFAULT_MAX_RESULTS,
            next_token=request.get("NextToken") or None, where=where or None)

    def create_action(self, request: dict, ctx: RequestContext) -> dict:
        status = request.get("Status")
        if status is not None and status not in ACTION_STATUSES:
            raise ValidationError(f"Status must be one of {', '.join(ACTION_STATUSES)}.")
        return {"ActionArn": self._create_named(ctx, ACTION, "action", request, _present(
            ActionType=request["ActionType"], Status=status,
            MetadataProperties=request.get("MetadataProperties")))}

    def describe_action(self, request: dict, ctx: RequestContext) -> dict:
        return self._describe_named(self._named(ctx, ACTION, "action", request["ActionName"]),
                                    ACTION)

    def list_actions(self, request: dict, ctx: RequestContext) -> dict:
        items, token = self._list_named(ctx, ACTION, request, "ActionType")
        return _present(ActionSummaries=[_present(
            ActionArn=a.arn, ActionName=a.name, Source=a.data.get("Source"),
            ActionType=a.data.get("ActionType"), Status=a.data.get("Status"),
            CreationTime=a.creation_time, LastModifiedTime=a.last_modified_time)
            for a in items], NextToken=token)

    def update_action(self, request: dict, ctx: RequestContext) -> dict:
        status = request.get("Status")
        if status is not None and status not in ACTION_STATUSES:
            raise ValidationError(f"Status must be one of {', '.join(ACTION_STATUSES)}.")
        return {"ActionArn": self._update_named(ctx, ACTION, "action", request,
                                                _present(Status=status))}

    def delete_action(self, request: dict, ctx: RequestContext) -> dict:
        entity = self._named(ctx, ACTION, "action", request["ActionName"])
        self.platform.resources.delete(ctx, ACTION, entity.name)  # and its associations
        return {"ActionArn": entity.arn}

    def create_context(self, request: dict, ctx: RequestContext) -> dict:
        return {"ContextArn": self._create_named(ctx, CONTEXT, "context", request, {
            "ContextType": request["ContextType"]})}

    def describe_context(self, request: dict, ctx: RequestContext) -> dict:
        return self._describe_named(
            self._named(ctx, CONTEXT, "context", request["ContextName"]), CONTEXT)

    def list_contexts(self, request: dict, ctx: RequestContext) -> dict:
        items, token = self._list_named(ctx, CONTEXT, request, "ContextType")
        return _present(ContextSummaries=[_present(
            ContextArn=c.arn, ContextName=c.name, Source=c.data.get("Source"),
            ContextType=c.data.get("ContextType"), CreationTime=c.creation_time,
            LastModifiedTime=c.last_modified_time) for c in items], NextToken=token)

    def update_context(self, request: dict, ctx: RequestContext) -> dict:
        return {"ContextArn": self._update_named(ctx, CONTEXT, "context", request, {})}

    def delete_context(self, request: dict, ctx: RequestContext) -> dict:
        entity = self._named(ctx, CONTEXT, "context", request["ContextName"])
        self.platform.resources.delete(ctx, CONTEXT, entity.name)  # and its associations
        return {"ContextArn": entity.arn}

    # --- associations ---------------------------------------------------------------------------
    def _entity(self, ctx, arn: str):
        entity = self.platform.resources.get_by_arn(ctx, arn, missing_ok=True)
        if entity is None:
            raise ResourceNotFound(f"The lineage entity {arn} does not exist.")
        if entity.type not in _ENTITIES:
            raise ValidationError(f"{arn} is not a lineage entity (artifacts, actions, "
                                  "contexts and trial components are).")
        return entity

    def _reaches(self, start: str, goal: str) -> bool:
        """Whether following associations downstream from ``start`` reaches ``goal``."""
        resources, seen, queue = self.platform.resources, {start}, deque([start])
        while queue:
            arn = queue.popleft()
            if arn == goal:
                return True
            for edge in resources.links(LINEAGE, source=arn):
                if edge.destination_arn not in seen:
                    seen.add(edge.destination_arn)
                    queue.append(edge.destination_arn)
        return False

    def add_association(self, request: dict, ctx: RequestContext) -> dict:
        source, destination = request["SourceArn"], request["DestinationArn"]
        kind = request.get("AssociationType") or "AssociatedWith"
        if kind not in ASSOCIATION_TYPES:
            raise ValidationError(f"AssociationType must be one of "
                                  f"{', '.join(ASSOCIATION_TYPES)}.")
        if source == destination:
            raise ValidationError("An association needs two different entities.")
        resources = self.platform.resources
        with resources.transaction():
            self._entity(ctx, source)
            self._entity(ctx, destination)
            if self._reaches(destination, source):
                raise ValidationError(f"The association from {source} to {destination} would "
                                      "create a lineage cycle.")
            created = resources.associate(LINEAGE, source, destination,
                                          {"AssociationType": kind})
        if not created:
            raise ValidationError(f"The association between {source} and {destination} "
                                  "already exists.")
        return {"SourceArn": source, "DestinationArn": destination}

    def delete_association(self, request: dict, ctx: RequestContext) -> dict:
        source, destination = request["SourceArn"], request["DestinationArn"]
        if not self._in_scope(ctx, source) or not self.platform.resources.disassociate(
                LINEAGE, source, destination):
            raise ResourceNotFound(f"There is no association between {source} and "
                                   f"{destination}.")
        return {"SourceArn": source, "DestinationArn": destination}

    @staticmethod
    def _in_scope(ctx, arn: str) -> bool:
        return arn.startswith(ctx.arn("sagemaker", ""))

    def _describe_end(self, ctx, arn: str, cache: dict) -> tuple[str | None, str | None]:
        """(type, name) of an association's end, as ListAssociations shows them."""
        if arn not in cache:
            entity = self.platform.resources.get_by_arn(ctx, arn, missing_ok=True)
            if entity is None:
                cache[arn] = (None, None)
            elif entity.type == ARTIFACT:
                cache[arn] = (entity.data.get("ArtifactType"), entity.data.get("ArtifactName"))
            elif entity.type in (ACTION, CONTEXT):
                cache[arn] = (vertex_type(entity), entity.name)
            else:
                cache[arn] = (entity.type, entity.name)
        return cache[arn]

    def list_associations(self, request: dict, ctx: RequestContext) -> dict:
        links = self.platform.resources.links(LINEAGE, source=request.get("SourceArn"),
                                              destination=request.get("DestinationArn"))
        after, before = request.get("CreatedAfter"), request.get("CreatedBefore")
        cache: dict = {}
        rows = []
        for link_ in links:
            if not self._in_scope(ctx, link_.source_arn):
                continue
            kind = (link_.data or {}).get("AssociationType")
            if request.get("AssociationType") and kind != request["AssociationType"]:
                continue
            if after is not None and link_.creation_time <= utc(after):
                continue
            if before is not None and link_.creation_time >= utc(before):
                continue
            source_type, source_name = self._describe_end(ctx, link_.source_arn, cache)
            dest_type, dest_name = self._describe_end(ctx, link_.destination_arn, cache)
            if request.get("SourceType") and source_type != request["SourceType"]:
                continue
            if request.get("DestinationType") and dest_type != request["DestinationType"]:
                continue
            rows.append(_present(
                SourceArn=link_.source_arn, DestinationArn=link_.destination_arn,
                SourceType=source_type, DestinationType=dest_type, AssociationType=kind,
                SourceName=source_name, DestinationName=dest_name,
                CreationTime=link_.creation_time))
        sort_by = request.get("SortBy") or "CreationTime"
        def key(row):
            value = row.get(sort_by)
            return value if sort_by == "CreationTime" else str(value or "")
        rows.sort(key=key, reverse=(request.get("SortOrder") or "Descending") == "Descending")
        size = request.get("MaxResults") or DEFAULT_MAX_RESULTS
        chunk, token, _ = offset_page(f"associations:{sort_by}:{request.get('SortOrder')}", rows,
                                      request, size)
        out = {"AssociationSummaries": chunk}
        if token:
            out["NextToken"] = token
        return out

    # --- QueryLineage ---------------------------------------------------------------------------
    def query_lineage(self, request: dict, ctx: RequestContext) -> dict:
        """Breadth first from StartArns along the associations: upstream (Ascendants: from an
        edge's destination to its source), downstream (Descendants) or both, MaxDepth edges
        deep. Filters choose the vertices answered, not the ones walked through, so an
        endpoint's Ascendants filtered to ``DataSet`` reach the data through the model, the
        training job and the deployment. Vertices are paged; the edges walked come with the
        first page."""
        resources = self.platform.resources
        starts = list(request.get("StartArns") or [])
        direction = request.get("Direction") or "Both"
        if direction not in DIRECTIONS:
            raise ValidationError(f"Direction must be one of {', '.join(DIRECTIONS)}.")
        depth = request.get("MaxDepth")
        depth = DEFAULT_QUERY_DEPTH if depth is None else depth
        if depth < 0 or depth > 10:
            raise ValidationError("MaxDepth must be between 0 and 10.")
        include_edges = request.get("IncludeEdges", True)
        size = request.get("MaxResults") or DEFAULT_MAX_RESULTS
        filters = request.get("Filters") or {}
        for arn in starts:
            entity = resources.get_by_arn(ctx, arn, missing_ok=True)
            if entity is None or entity.type not in _ENTITIES:
                raise ResourceNotFound(f"The lineage entity {arn} does not exist.")

        found: dict[str, object] = {}
        order: list[str] = []
        edges: dict[tuple, dict] = {}
        seen = set(starts)
        frontier = list(starts)
        for _ in range(depth):
            following = []
            for arn in frontier:
                steps = []
                if direction in ("Ascendants", "Both"):
                    steps += [(e, e.source_arn) for e in resources.links(LINEAGE,
                                                                         destination=arn)]
                if direction in ("Descendants", "Both"):
                    steps += [(e, e.destination_arn) for e in resources.links(LINEAGE,
                                                                              source=arn)]
                for edge, other in steps:
                    entity = resources.get_by_arn(ctx, other, missing_ok=True)
                    if entity is None or entity.type not in _ENTITIES:
                        continue
                    edges[(edge.source_arn, edge.destination_arn)] = _present(
                        SourceArn=edge.source_arn, DestinationArn=edge.destination_arn,
                        AssociationType=(edge.data or {}).get("AssociationType"))
                    if other not in seen:
                        seen.add(other)
                        found[other] = entity
                        order.append(other)
                        following.append(other)
            frontier = following
            if not frontier:
                break

        vertices = [_present(Arn=arn, Type=vertex_type(found[arn]),
                             LineageType=found[arn].type)
                    for arn in order if self._passes(found[arn], filters)]
        chunk, token, start = offset_page("lineage:" + "|".join(starts) + f":{direction}:{depth}",
                                          vertices, request, size)
        out: dict = {"Vertices": chunk,
                     "Edges": list(edges.values()) if include_edges and start == 0 else []}
        if token:
            out["NextToken"] = token
        return out

    @staticmethod
    def _passes(entity, filters: dict) -> bool:
        if filters.get("Types") and vertex_type(entity) not in filters["Types"]:
            return False
        if filters.get("LineageTypes") and entity.type not in filters["LineageTypes"]:
            return False
        for key, stamp, later in (("CreatedBefore", entity.creation_time, False),
                                  ("CreatedAfter", entity.creation_time, True),
                                  ("ModifiedBefore", entity.last_modified_time, False),
                                  ("ModifiedAfter", entity.last_modified_time, True)):
            if filters.get(key) is not None:
                bound = utc(filters[key])
                if (stamp <= bound) if later else (stamp >= bound):
                    return False
        # "If multiple pairs are provided, an entity is included in the results if it matches
        # any of the provided pairs" (QueryFilters.Properties).
        wanted = filters.get("Properties") or {}
        have = entity.data.get("Properties") or {}
        return not wanted or any(have.get(k) == v for k, v in wanted.items())
