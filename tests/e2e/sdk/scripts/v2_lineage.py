"""SageMaker Python SDK v2: the ``sagemaker.lineage`` classes against what kamado records by
itself — train the built-in XGBoost, register the model into a model package group pending
approval, approve it, deploy the approved package, then ask the SDK's lineage API where the
endpoint came from.

Run inside the SDK's venv with AWS_PROFILE=kamado; argv[1] is a JSON object of inputs.
Every lineage call's answer (or the exception it raised) goes into the result; the test decides.
Prints one line ``KAMADO-SDK-RESULT <json>``.
"""

import json
import sys
import time
import traceback

import sagemaker
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.lineage.action import Action, ModelPackageApprovalAction
from sagemaker.lineage.artifact import Artifact, DatasetArtifact, ModelArtifact
from sagemaker.lineage.context import Context, EndpointContext, ModelPackageGroup
from sagemaker.lineage.query import (LineageEntityEnum, LineageFilter, LineageQuery,
                                     LineageQueryDirectionEnum, LineageSourceEnum)
from sagemaker.model import ModelPackage

args = json.loads(sys.argv[1])
sess = sagemaker.Session()          # bucket and role come from the SDK's config file
sm = sess.sagemaker_client
result = {"sdk": sagemaker.__version__, "errors": {}}


def attempt(key, fn):
    """fn()'s answer under ``key``; an exception is reported under errors[key] instead."""
    try:
        result[key] = fn()
    except Exception as exc:  # noqa: BLE001 - reported; the test decides
        result["errors"][key] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    return result.get(key)


def artifact(a):
    return {"arn": a.artifact_arn, "name": a.artifact_name, "type": a.artifact_type,
            "source_uri": a.source.source_uri if a.source else None, "class": type(a).__name__}


def context(c):
    return {"arn": c.context_arn, "name": c.context_name, "type": c.context_type,
            "source_uri": c.source.source_uri if c.source else None, "class": type(c).__name__}


def action(a):
    return {"arn": a.action_arn, "name": a.action_name, "type": a.action_type,
            "source_uri": a.source.source_uri if a.source else None, "status": a.status,
            "properties": a.properties, "class": type(a).__name__}


def association(a):
    return {"source_arn": a.source_arn, "destination_arn": a.destination_arn,
            "source_type": getattr(a, "source_type", None),
            "destination_type": getattr(a, "destination_type", None),
            "association_type": getattr(a, "association_type", None)}


def lineage_object(o):
    """A Vertex.to_lineage_object() answer, whatever its kind."""
    if hasattr(o, "artifact_arn"):
        return artifact(o)
    if hasattr(o, "action_arn"):
        return action(o)
    if hasattr(o, "context_arn"):
        return context(o)
    source = o.source or {}
    source_arn = (source.get("SourceArn") or source.get("source_arn")
                  if isinstance(source, dict) else getattr(source, "source_arn", None))
    return {"arn": o.trial_component_arn, "name": o.trial_component_name,
            "source_arn": source_arn, "class": type(o).__name__}


def vertex(v):
    return {"arn": v.arn, "entity": v.lineage_entity, "source": v.lineage_source}


# --- train, register pending approval, approve, deploy the package ---------------------------
train = sess.upload_data(args["train"], key_prefix=f"{args['job_name']}/train")
validation = sess.upload_data(args["validation"], key_prefix=f"{args['job_name']}/validation")
result["channels"] = {"train": train, "validation": validation}
image = sagemaker.image_uris.retrieve("xgboost", sess.boto_region_name, "1.7-1")
# base_job_name: Estimator.register names its model from it, even after fit(job_name=...)
# (name_from_base(None) raises TypeError).
estimator = Estimator(image_uri=image, instance_count=1, instance_type="ml.m5.large",
                      base_job_name=args["job_name"], hyperparameters=args["hyperparameters"],
                      sagemaker_session=sess)
started = time.monotonic()
estimator.fit({"train": TrainingInput(train, content_type="text/csv"),
               "validation": TrainingInput(validation, content_type="text/csv")},
              job_name=args["job_name"], wait=True, logs=False)
result["fit_seconds"] = time.monotonic() - started
result["model_data"] = estimator.model_data

package = estimator.register(
    content_types=["text/csv"], response_types=["text/csv"],
    inference_instances=["ml.m5.large"], transform_instances=["ml.m5.large"],
    model_package_group_name=args["group"], approval_status="PendingManualApproval",
    description="kamado lineage scenario")
package_arn = package.model_package_arn
result["package_arn"] = package_arn
result["status_registered"] = sm.describe_model_package(
    ModelPackageName=package_arn)["ModelApprovalStatus"]
sm.update_model_package(ModelPackageArn=package_arn, ModelApprovalStatus="Approved")

deployable = ModelPackage(role=args["role"], model_package_arn=package_arn,
                          sagemaker_session=sess)
deployable.deploy(initial_instance_count=1, instance_type="ml.m5.large",
                  endpoint_name=args["endpoint_name"])
print()  # the SDK's deploy progress ("!") leaves the line open
endpoint_arn = sm.describe_endpoint(EndpointName=args["endpoint_name"])["EndpointArn"]
result["endpoint_arn"] = endpoint_arn

# --- the endpoint's context, the way the SDK's own docs and tests find it ---------------------
contexts = attempt("endpoint_contexts_listed", lambda: [
    {"name": c.context_name, "arn": c.context_arn, "type": c.context_type,
     "source_uri": c.source.source_uri}
    for c in Context.list(source_uri=endpoint_arn, sagemaker_session=sess)])
endpoint_context = EndpointContext.load(contexts[0]["name"], sagemaker_session=sess)
result["endpoint_context"] = context(endpoint_context)

attempt("dataset_artifacts", lambda: [artifact(a) for a in endpoint_context.dataset_artifacts()])
attempt("training_job_arns", endpoint_context.training_job_arns)
attempt("models", lambda: [association(a) for a in endpoint_context.models()])
attempt("models_v2", lambda: [artifact(a) for a in endpoint_context.models_v2()])
attempt("models_v2_ascendants", lambda: [artifact(a) for a in endpoint_context.models_v2(
    direction=LineageQueryDirectionEnum.ASCENDANTS)])
attempt("pipeline_execution_arn", endpoint_context.pipeline_execution_arn)
attempt("trial_components", lambda: [lineage_object(t)
                                     for t in endpoint_context.trial_components()])
attempt("processing_jobs", lambda: [lineage_object(t)
                                    for t in endpoint_context.processing_jobs()])
attempt("transform_jobs", lambda: [lineage_object(t) for t in endpoint_context.transform_jobs()])
attempt("upstream_actions", lambda: [action(a) for a in endpoint_context.actions(
    direction=LineageQueryDirectionEnum.ASCENDANTS)])

# --- the training data's artifact -------------------------------------------------------------
listed = attempt("train_artifacts_listed", lambda: [
    {"arn": a.artifact_arn, "type": a.artifact_type, "source_uri": a.source.source_uri}
    for a in Artifact.list(source_uri=train, sagemaker_session=sess)])
data = DatasetArtifact.load(artifact_arn=listed[0]["arn"], sagemaker_session=sess)
result["dataset"] = artifact(data)
attempt("dataset_trained_models", lambda: [association(a) for a in data.trained_models()])
attempt("dataset_endpoint_contexts", lambda: [context(c) for c in data.endpoint_contexts()])
attempt("dataset_downstream_datasets", lambda: [artifact(a) for a in data.downstream_datasets()])
attempt("dataset_upstream_datasets", lambda: [artifact(a) for a in data.upstream_datasets()])
attempt("s3_uri_artifacts", lambda: [a["ArtifactArn"] for a in data.s3_uri_artifacts(
    validation)["ArtifactSummaries"]])

# --- the model: its model.tar.gz, and the package's artifact as the SDK's tests load it -------
for key, uri in (("model_artifact", result["model_data"]), ("package_artifact", package_arn)):
    found = attempt(f"{key}s_listed", lambda uri=uri: [
        {"arn": a.artifact_arn, "type": a.artifact_type, "source_uri": a.source.source_uri}
        for a in Artifact.list(source_uri=uri, sagemaker_session=sess)])
    model = ModelArtifact.load(artifact_arn=found[0]["arn"], sagemaker_session=sess)
    attempt(f"{key}_endpoint_contexts", lambda m=model: [context(c)
                                                         for c in m.endpoint_contexts()])
    attempt(f"{key}_dataset_artifacts", lambda m=model: [artifact(a)
                                                         for a in m.dataset_artifacts()])
    attempt(f"{key}_training_job_arns", model.training_job_arns)
    attempt(f"{key}_pipeline_execution_arn", model.pipeline_execution_arn)
    attempt(f"{key}_endpoints", lambda m=model: [association(a) for a in m.endpoints()])

# --- the approval action -----------------------------------------------------------------------
actions = attempt("package_actions_listed", lambda: [
    {"name": a.action_name, "arn": a.action_arn, "type": a.action_type,
     "source_uri": a.source.source_uri}
    for a in Action.list(source_uri=package_arn, sagemaker_session=sess)])
approval_name = next(a["name"] for a in actions if a["type"] == LineageSourceEnum.APPROVAL.value)
approval = ModelPackageApprovalAction.load(action_name=approval_name, sagemaker_session=sess)
result["approval"] = action(approval)
attempt("approval_datasets", lambda: [artifact(a) for a in approval.datasets()])
attempt("approval_endpoints", lambda: [context(c) for c in approval.endpoints()])
attempt("approval_artifacts_descendants", lambda: [artifact(a) for a in approval.artifacts(
    direction=LineageQueryDirectionEnum.DESCENDANTS)])
attempt("approval_artifacts_ascendants", lambda: [artifact(a) for a in approval.artifacts(
    direction=LineageQueryDirectionEnum.ASCENDANTS)])
attempt("approval_model_package", lambda: approval.model_package()["ModelPackageArn"])
attempt("approval_actions_by_type", lambda: sorted(
    a.action_name for a in Action.list(action_type="Approval", sagemaker_session=sess)))

# --- the model package group's context ---------------------------------------------------------
group_arn = sm.describe_model_package_group(
    ModelPackageGroupName=args["group"])["ModelPackageGroupArn"]
groups = attempt("group_contexts_listed", lambda: [
    {"name": c.context_name, "arn": c.context_arn, "type": c.context_type}
    for c in Context.list(source_uri=group_arn, sagemaker_session=sess)])
group = ModelPackageGroup.load(groups[0]["name"], sagemaker_session=sess)
result["group_context"] = context(group)
attempt("group_pipeline_execution_arn", group.pipeline_execution_arn)

# --- LineageQuery with a LineageFilter, and Vertex.to_lineage_object ---------------------------
query = LineageQuery(sess)


def run_query(start, direction, query_filter, include_edges=True):
    answer = query.query(start_arns=[start], direction=direction, include_edges=include_edges,
                         query_filter=query_filter)
    return {"vertices": [vertex(v) for v in answer.vertices],
            "edges": [{"source_arn": e.source_arn, "destination_arn": e.destination_arn,
                       "association_type": e.association_type} for e in answer.edges],
            "objects": [lineage_object(v.to_lineage_object()) for v in answer.vertices]}


ctx_arn = endpoint_context.context_arn
attempt("query_data_and_models", lambda: run_query(
    ctx_arn, LineageQueryDirectionEnum.ASCENDANTS,
    LineageFilter(entities=[LineageEntityEnum.ARTIFACT],
                  sources=[LineageSourceEnum.DATASET, LineageSourceEnum.MODEL])))
attempt("query_everything_upstream", lambda: run_query(
    ctx_arn, LineageQueryDirectionEnum.ASCENDANTS, None))
attempt("query_jobs", lambda: run_query(
    ctx_arn, LineageQueryDirectionEnum.ASCENDANTS,
    LineageFilter(entities=[LineageEntityEnum.TRIAL_COMPONENT],
                  sources=[LineageSourceEnum.TRAINING_JOB]), include_edges=False))
attempt("query_approved", lambda: run_query(
    ctx_arn, LineageQueryDirectionEnum.ASCENDANTS,
    LineageFilter(entities=[LineageEntityEnum.ACTION],
                  properties={"ModelApprovalStatus": "Approved"})))
# QueryFilters.Properties: "If multiple pairs are provided, an entity is included in the
# results if it matches any of the provided pairs."
attempt("query_any_property", lambda: run_query(
    ctx_arn, LineageQueryDirectionEnum.ASCENDANTS,
    LineageFilter(entities=[LineageEntityEnum.ACTION],
                  properties={"ModelApprovalStatus": "Approved",
                              "EndpointConfigName": "no-such-config"})))
attempt("query_downstream_of_data", lambda: run_query(
    data.artifact_arn, LineageQueryDirectionEnum.DESCENDANTS,
    LineageFilter(entities=[LineageEntityEnum.CONTEXT], sources=[LineageSourceEnum.ENDPOINT])))
attempt("query_depth_1", lambda: len(query.query(
    start_arns=[ctx_arn], direction=LineageQueryDirectionEnum.ASCENDANTS,
    max_depth=1).vertices))

print("KAMADO-SDK-RESULT " + json.dumps(result, default=str), flush=True)
