"""SageMaker Python SDK v3: ``sagemaker.core.lineage`` (2.x's ``sagemaker.lineage`` classes,
moved) asked about an endpoint deployed from an approved model package — against kamado.

Run inside the SDK's venv with AWS_PROFILE=kamado; argv[1] is a JSON object of inputs (the
endpoint, the package, the training channel, the model data of what the 2.x script deployed).
Prints one line ``KAMADO-SDK-RESULT <json>``.
"""

import json
import sys
import traceback
from importlib.metadata import version

from sagemaker.core.helper.session_helper import Session
from sagemaker.core.lineage.action import Action, ModelPackageApprovalAction
from sagemaker.core.lineage.artifact import Artifact, DatasetArtifact, ModelArtifact
from sagemaker.core.lineage.context import Context, EndpointContext
from sagemaker.core.lineage.query import (LineageEntityEnum, LineageFilter, LineageQuery,
                                          LineageQueryDirectionEnum, LineageSourceEnum)

args = json.loads(sys.argv[1])
sess = Session()
sm = sess.sagemaker_client
result = {"sdk": version("sagemaker"), "errors": {}}


def attempt(key, fn):
    try:
        result[key] = fn()
    except Exception as exc:  # noqa: BLE001 - reported; the test decides
        result["errors"][key] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    return result.get(key)


endpoint_arn = sm.describe_endpoint(EndpointName=args["endpoint_name"])["EndpointArn"]
name = next(iter(Context.list(source_uri=endpoint_arn, sagemaker_session=sess))).context_name
endpoint = EndpointContext.load(name, sagemaker_session=sess)
result["endpoint_context"] = {"arn": endpoint.context_arn, "class": type(endpoint).__name__}
attempt("dataset_source_uris", lambda: [a.source.source_uri
                                        for a in endpoint.dataset_artifacts()])
attempt("training_job_arns", endpoint.training_job_arns)
attempt("pipeline_execution_arn", endpoint.pipeline_execution_arn)

data_arn = next(iter(Artifact.list(source_uri=args["train"], sagemaker_session=sess))).artifact_arn
data = DatasetArtifact.load(artifact_arn=data_arn, sagemaker_session=sess)
attempt("dataset_endpoint_contexts", lambda: [c.context_arn for c in data.endpoint_contexts()])

model_arn = next(iter(Artifact.list(source_uri=args["model_data"],
                                    sagemaker_session=sess))).artifact_arn
model = ModelArtifact.load(artifact_arn=model_arn, sagemaker_session=sess)
attempt("model_training_job_arns", model.training_job_arns)

approval_name = next(a.action_name for a in Action.list(source_uri=args["package_arn"],
                                                        sagemaker_session=sess)
                     if a.action_type == LineageSourceEnum.APPROVAL.value)
approval = ModelPackageApprovalAction.load(action_name=approval_name, sagemaker_session=sess)
result["approval"] = {"arn": approval.action_arn, "class": type(approval).__name__,
                      "properties": approval.properties}
attempt("approval_endpoints", lambda: [c.context_arn for c in approval.endpoints()])
attempt("approval_dataset_uris", lambda: [a.source.source_uri for a in approval.datasets()])

attempt("query_vertices", lambda: [[v.arn, v.lineage_entity, v.lineage_source]
                                   for v in LineageQuery(sess).query(
    start_arns=[endpoint.context_arn], direction=LineageQueryDirectionEnum.ASCENDANTS,
    query_filter=LineageFilter(entities=[LineageEntityEnum.ARTIFACT],
                               sources=[LineageSourceEnum.DATASET, LineageSourceEnum.MODEL]),
    include_edges=False).vertices])

print("KAMADO-SDK-RESULT " + json.dumps(result, default=str), flush=True)
