"""One server for the built-in algorithm tests, and the whole loop of a built-in algorithm
through boto3 in a few calls: upload channels, train, deploy, invoke, batch transform.

    channels = upload(s3, "kmeans-iris", {"train": csv_body(X)}, "text/csv;label_size=0")
    job = train(sm, "kmeans-iris", "kmeans", channels, {"k": "3", "feature_dim": "4"})
    endpoint = deploy(sm, "kmeans-iris", "kmeans", job)
    answer = invoke(rt, endpoint, csv_body(X[:5]), "text/csv", "application/json")
    out = transform(sm, s3, "kmeans-iris", endpoint, csv_body(X), "text/csv", "Line")
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from tests.conftest import KamadoServer, wait_status
from tests.e2e.training.conftest import FINAL, job_request, tar_members, wait_for

ROLE = "arn:aws:iam::000000000000:role/kamado-test"
BUCKET = "algorithms"


@pytest.fixture(scope="session")
def algorithms_server(tmp_path_factory):
    server = KamadoServer(tmp_path_factory.mktemp("algorithms") / "home",
                          extra_env={"KAMADO_STOP_GRACE_SECONDS": "2"}).start()
    server.client("s3").create_bucket(Bucket=BUCKET)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sm(algorithms_server):
    return algorithms_server.client("sagemaker")


@pytest.fixture(scope="session")
def s3(algorithms_server):
    return algorithms_server.client("s3")


@pytest.fixture(scope="session")
def rt(algorithms_server):
    return algorithms_server.client("sagemaker-runtime")


def csv_body(X, y=None) -> bytes:
    """CSV without a header; ``y`` (a column or several) first when given."""
    X = np.asarray(X)
    data = X if y is None else np.column_stack([np.asarray(y), X])
    buf = io.StringIO()
    np.savetxt(buf, data, delimiter=",", fmt="%.10g")
    return buf.getvalue().encode()


def upload(s3, prefix: str, bodies: dict[str, bytes], content_type: str | None,
           file_name: str = "data") -> dict:
    """Each channel's body under s3://algorithms/<prefix>/<channel>/; the channel definitions
    (``content_type`` None: no ContentType, as the SDK's RecordSet sends)."""
    channels = {}
    for channel, body in bodies.items():
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{channel}/{file_name}", Body=body)
        channels[channel] = {"DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}/{channel}/"}}}
        if content_type is not None:
            channels[channel]["ContentType"] = content_type
    return channels


def train(sm, name: str, image: str, channels: dict, hp: dict, *, expect: str = "Completed",
          timeout: float = 300) -> dict:
    """The finished DescribeTrainingJob; asserts it ended ``expect``."""
    sm.create_training_job(**job_request(
        name, image=image, hp=hp, channels=channels,
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/output"},
        StoppingCondition={"MaxRuntimeInSeconds": int(timeout)}))
    job = wait_for(sm, name, FINAL, timeout=timeout)
    assert job["TrainingJobStatus"] == expect, job.get("FailureReason")
    return job


def final_metrics(job: dict) -> dict[str, float]:
    return {m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", [])}


def model_members(s3, job: dict) -> dict[str, bytes]:
    return tar_members(s3, job["ModelArtifacts"]["S3ModelArtifacts"])


def create_model(sm, name: str, image: str, job_or_uri, **container) -> str:
    uri = job_or_uri if isinstance(job_or_uri, str) else \
        job_or_uri["ModelArtifacts"]["S3ModelArtifacts"]
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": image, "ModelDataUrl": uri, **container})
    return name


def deploy(sm, name: str, image: str, job_or_uri, **container) -> str:
    """Model, endpoint config and endpoint named ``name``; returns the endpoint's name once
    InService (asserted)."""
    create_model(sm, name, image, job_or_uri, **container)
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    endpoint = wait_status(lambda: sm.describe_endpoint(EndpointName=name),
                           lambda e: e["EndpointStatus"], ("InService", "Failed"), name, 120)
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    return name


def invoke(rt, endpoint: str, body: bytes, content_type: str, accept: str | None = None):
    """The response body, decoded from JSON when the answer is JSON."""
    extra = {"Accept": accept} if accept else {}
    answer = rt.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType=content_type,
                                **extra)
    data = answer["Body"].read()
    return json.loads(data) if answer["ContentType"].startswith("application/json") and \
        not answer["ContentType"].startswith("application/jsonlines") else data


def transform(sm, s3, name: str, model: str, body: bytes, content_type: str,
              split_type: str = "Line", *, accept: str | None = None,
              strategy: str = "MultiRecord", assemble: str = "Line",
              expect: str = "Completed") -> bytes | dict:
    """A batch transform of ``body`` with model ``model``; the output file's bytes (or the
    finished DescribeTransformJob when ``expect`` is Failed)."""
    s3.put_object(Bucket=BUCKET, Key=f"{name}/transform-in/data", Body=body)
    output = {"S3OutputPath": f"s3://{BUCKET}/{name}/transform-out/", "AssembleWith": assemble}
    if accept:
        output["Accept"] = accept
    sm.create_transform_job(
        TransformJobName=name, ModelName=model, BatchStrategy=strategy,
        TransformInput={"ContentType": content_type, "SplitType": split_type,
                        "DataSource": {"S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": f"s3://{BUCKET}/{name}/transform-in/"}}},
        TransformOutput=output,
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    job = wait_status(lambda: sm.describe_transform_job(TransformJobName=name),
                      lambda j: j["TransformJobStatus"], ("Completed", "Failed", "Stopped"),
                      name, 180)
    assert job["TransformJobStatus"] == expect, job.get("FailureReason")
    if expect != "Completed":
        return job
    return s3.get_object(Bucket=BUCKET, Key=f"{name}/transform-out/data.out")["Body"].read()
