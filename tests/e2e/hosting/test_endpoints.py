"""Models, endpoint configurations and endpoints through boto3: deploy a model trained on
kamado, invoke it through sagemaker-runtime, and get AWS's answers when things go wrong."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xgboost as xgb
from botocore.exceptions import ClientError

from tests.e2e.hosting.conftest import (XGBOOST, create_model, csv_rows, deploy, model_files,
                                        wait_endpoint)


@pytest.fixture(scope="module")
def sm(host):
    return host.client("sagemaker")


@pytest.fixture(scope="module")
def runtime(host):
    return host.client("sagemaker-runtime")


def error(exc) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"][
        "HTTPStatusCode"]


def test_xgboost_endpoint_serves_what_the_model_predicts(host, sm, runtime, cancer_xgboost,
                                                          tmp_path):
    create_model(sm, "cancer", XGBOOST, cancer_xgboost.model_data)
    described = sm.describe_model(ModelName="cancer")
    assert described["PrimaryContainer"]["ModelDataUrl"] == cancer_xgboost.model_data
    assert described["PrimaryContainer"]["Mode"] == "SingleModel"
    endpoint = deploy(sm, "cancer", [{"model": "cancer"}])
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    variant = endpoint["ProductionVariants"][0]
    assert variant["VariantName"] == "AllTraffic"
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (1, 1)
    assert variant["CurrentWeight"] == variant["DesiredWeight"] == 1.0
    assert variant["DeployedImages"][0]["SpecifiedImage"] == XGBOOST

    rows = cancer_xgboost.X[:25]
    answer = runtime.invoke_endpoint(EndpointName="cancer", ContentType="text/csv",
                                     Body=csv_rows(rows))
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    served = np.array([float(v) for v in answer["Body"].read().decode().replace("\n", ",")
                       .split(",") if v.strip()])
    booster = xgb.Booster(model_file=str(model_files(host, cancer_xgboost.model_data,
                                                     tmp_path) / "xgboost-model"))
    direct = booster.predict(xgb.DMatrix(rows))
    np.testing.assert_allclose(served, direct, rtol=0, atol=1e-6)

    answer = runtime.invoke_endpoint(EndpointName="cancer", ContentType="text/csv",
                                     Accept="application/json", Body=csv_rows(rows[:2]))
    scores = [p["score"] for p in json.loads(answer["Body"].read())["predictions"]]
    np.testing.assert_allclose(scores, direct[:2], rtol=0, atol=1e-6)
    assert sm.list_endpoints(NameContains="cancer")["Endpoints"][0]["EndpointStatus"] == \
        "InService"


def test_a_bad_payload_is_a_model_error_and_the_endpoint_keeps_serving(sm, runtime,
                                                                       cancer_xgboost):
    create_model(sm, "cancer-bad", XGBOOST, cancer_xgboost.model_data)
    assert deploy(sm, "cancer-bad", [{"model": "cancer-bad"}])["EndpointStatus"] == "InService"
    with pytest.raises(ClientError) as e:
        runtime.invoke_endpoint(EndpointName="cancer-bad", ContentType="text/csv",
                                Body=b"not,a,number\n")
    assert error(e) == ("ModelError", 424)
    assert 400 <= e.value.response["OriginalStatusCode"] < 500
    assert "Received client error" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        runtime.invoke_endpoint(EndpointName="cancer-bad", ContentType="image/png", Body=b"x")
    assert error(e) == ("ModelError", 424)
    assert e.value.response["OriginalStatusCode"] == 415
    ok = runtime.invoke_endpoint(EndpointName="cancer-bad", ContentType="text/csv",
                                 Body=csv_rows(cancer_xgboost.X[:1]))
    assert 0.0 <= float(ok["Body"].read()) <= 1.0


def test_unknown_endpoint_and_variant_are_validation_errors(sm, runtime, cancer_xgboost):
    with pytest.raises(ClientError) as e:
        runtime.invoke_endpoint(EndpointName="nowhere", ContentType="text/csv", Body=b"1")
    assert error(e) == ("ValidationError", 400)
    assert "Endpoint nowhere of account 000000000000 not found." in str(e.value)
    create_model(sm, "cancer-tv", XGBOOST, cancer_xgboost.model_data)
    deploy(sm, "cancer-tv", [{"model": "cancer-tv"}])
    with pytest.raises(ClientError) as e:
        runtime.invoke_endpoint(EndpointName="cancer-tv", ContentType="text/csv",
                                TargetVariant="Nope", Body=csv_rows(cancer_xgboost.X[:1]))
    assert error(e) == ("ValidationError", 400)


def test_create_model_checks_image_and_model_data(sm):
    with pytest.raises(ClientError) as e:
        create_model(sm, "no-data", XGBOOST, "s3://hosting/missing/model.tar.gz")
    assert error(e) == ("ValidationException", 400)
    assert "Could not find model data at s3://hosting/missing/model.tar.gz" in str(e.value)
    with pytest.raises(ClientError) as e:
        create_model(sm, "no-image", "123.dkr.ecr.us-east-1.amazonaws.com/unknown:1", None)
    assert error(e) == ("ValidationException", 400)
    with pytest.raises(ClientError) as e:
        sm.create_endpoint_config(EndpointConfigName="orphan", ProductionVariants=[{
            "VariantName": "v", "ModelName": "never-made", "InstanceType": "ml.m5.large",
            "InitialInstanceCount": 1}])
    assert 'Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/never-made"' \
        in str(e.value)
    with pytest.raises(ClientError) as e:
        sm.create_endpoint(EndpointName="orphan", EndpointConfigName="never-made")
    assert "Could not find endpoint configuration" in str(e.value)


def test_a_corrupt_model_fails_the_endpoint_with_a_reason(host, sm):
    host.client("s3").put_object(Bucket="hosting", Key="corrupt/model.tar.gz",
                                 Body=b"this is not a tarball")
    create_model(sm, "corrupt", XGBOOST, "s3://hosting/corrupt/model.tar.gz")
    endpoint = deploy(sm, "corrupt", [{"model": "corrupt"}])
    assert endpoint["EndpointStatus"] == "Failed"
    assert "model data" in endpoint["FailureReason"]
    sm.delete_endpoint(EndpointName="corrupt")
    wait_gone(sm, "corrupt")


def wait_gone(sm, name: str) -> None:
    import time

    deadline = time.monotonic() + 60
    while True:
        try:
            sm.describe_endpoint(EndpointName=name)
        except ClientError as exc:
            assert "Could not find endpoint" in str(exc)
            return
        assert time.monotonic() < deadline, f"{name} was not deleted"
        time.sleep(0.05)  # polling the API, as a client does


def test_update_swaps_configs_and_a_failed_update_rolls_back(host, sm, runtime, cancer_xgboost,
                                                             diabetes_linear):
    create_model(sm, "swap-a", XGBOOST, cancer_xgboost.model_data)
    deploy(sm, "swap", [{"model": "swap-a"}])
    create_model(sm, "swap-b", XGBOOST, cancer_xgboost.model_data)
    sm.create_endpoint_config(EndpointConfigName="swap-two", ProductionVariants=[
        {"VariantName": "Blue", "ModelName": "swap-a", "InstanceType": "ml.m5.large",
         "InitialInstanceCount": 1, "InitialVariantWeight": 1.0},
        {"VariantName": "Green", "ModelName": "swap-b", "InstanceType": "ml.m5.large",
         "InitialInstanceCount": 2, "InitialVariantWeight": 0.0}])
    sm.update_endpoint(EndpointName="swap", EndpointConfigName="swap-two")
    assert sm.describe_endpoint(EndpointName="swap")["EndpointStatus"] in ("Updating",
                                                                           "InService")
    endpoint = wait_endpoint(sm, "swap", statuses=("InService",))
    assert endpoint["EndpointConfigName"] == "swap-two"
    variants = {v["VariantName"]: v for v in endpoint["ProductionVariants"]}
    assert variants["Green"]["CurrentInstanceCount"] == 2
    rows = csv_rows(cancer_xgboost.X[:1])
    # weight 0: never chosen by chance, but TargetVariant reaches it
    assert {runtime.invoke_endpoint(EndpointName="swap", ContentType="text/csv", Body=rows)[
        "InvokedProductionVariant"] for _ in range(10)} == {"Blue"}
    assert runtime.invoke_endpoint(EndpointName="swap", ContentType="text/csv", Body=rows,
                                   TargetVariant="Green")["InvokedProductionVariant"] == "Green"

    sm.update_endpoint_weights_and_capacities(EndpointName="swap", DesiredWeightsAndCapacities=[
        {"VariantName": "Blue", "DesiredWeight": 0.0},
        {"VariantName": "Green", "DesiredWeight": 1.0, "DesiredInstanceCount": 1}])
    endpoint = wait_endpoint(sm, "swap", statuses=("InService",))
    variants = {v["VariantName"]: v for v in endpoint["ProductionVariants"]}
    assert variants["Green"]["CurrentInstanceCount"] == 1
    assert (variants["Blue"]["CurrentWeight"], variants["Green"]["CurrentWeight"]) == (0.0, 1.0)
    assert {runtime.invoke_endpoint(EndpointName="swap", ContentType="text/csv", Body=rows)[
        "InvokedProductionVariant"] for _ in range(10)} == {"Green"}

    # a configuration whose model cannot load: the update fails, the old fleet serves on
    host.client("s3").put_object(Bucket="hosting", Key="broken/model.tar.gz", Body=b"junk")
    create_model(sm, "swap-broken", XGBOOST, "s3://hosting/broken/model.tar.gz")
    sm.create_endpoint_config(EndpointConfigName="swap-broken", ProductionVariants=[
        {"VariantName": "Red", "ModelName": "swap-broken", "InstanceType": "ml.m5.large",
         "InitialInstanceCount": 1}])
    sm.update_endpoint(EndpointName="swap", EndpointConfigName="swap-broken")
    endpoint = wait_endpoint(sm, "swap", statuses=("InService",), timeout=60)
    assert endpoint["EndpointConfigName"] == "swap-two"
    assert "model data" in endpoint["FailureReason"]
    assert runtime.invoke_endpoint(EndpointName="swap", ContentType="text/csv", Body=rows)[
        "InvokedProductionVariant"] == "Green"


def test_a_model_archive_that_escapes_its_directory_is_refused(host, sm, tmp_path):
    from tests.e2e.hosting.conftest import tarball

    host.client("s3").put_object(Bucket="hosting", Key="evil/model.tar.gz",
                                 Body=tarball({"../../escaped.txt": b"pwned"}))
    create_model(sm, "evil", XGBOOST, "s3://hosting/evil/model.tar.gz")
    endpoint = deploy(sm, "evil", [{"model": "evil"}])
    assert endpoint["EndpointStatus"] == "Failed"
    assert "../../escaped.txt" in endpoint["FailureReason"]
    assert not list(host.home.rglob("escaped.txt"))


@pytest.fixture(scope="module")
def payloads(sm, cancer_xgboost) -> str:
    create_model(sm, "payloads", XGBOOST, cancer_xgboost.model_data)
    deploy(sm, "payloads", [{"model": "payloads"}])
    return "payloads"


@pytest.mark.parametrize("content_type, body, status", [
    ("text/csv", b"1,2,abc\n", 415),
    ("text/libsvm", b"1 x:y\n", 415),
    ("application/x-recordio-protobuf", b"\x00\x01 not recordio", 415),
    ("application/json", b'{"instances": [[1, 2]]}', 415),   # AWS's XGBoost takes no JSON
    ("text/csv", b"1,2,3\n", 400),                            # wrong number of features
])
def test_invalid_payloads_for_each_content_type(runtime, payloads, content_type, body, status):
    with pytest.raises(ClientError) as e:
        runtime.invoke_endpoint(EndpointName=payloads, ContentType=content_type, Body=body)
    assert error(e) == ("ModelError", 424)
    assert e.value.response["OriginalStatusCode"] == status
    assert e.value.response["OriginalMessage"]


RAISING = '''
def model_fn(model_dir):
    return "model"

def predict_fn(data, model):
    raise RuntimeError("the handler gave up on purpose")
'''


def test_a_handler_that_raises_is_a_server_model_error(host, sm, runtime):
    from tests.e2e.hosting.conftest import script_model
    from tests.e2e.hosting.test_serverless import SKLEARN

    host.client("s3").put_object(Bucket="hosting", Key="raising/model.tar.gz",
                                 Body=script_model(RAISING))
    create_model(sm, "raising", SKLEARN, "s3://hosting/raising/model.tar.gz",
                 Environment={"SAGEMAKER_PROGRAM": "inference.py"})
    assert deploy(sm, "raising", [{"model": "raising"}])["EndpointStatus"] == "InService"
    with pytest.raises(ClientError) as e:
        runtime.invoke_endpoint(EndpointName="raising", ContentType="application/json",
                                Body=b"[[1, 2]]")
    assert error(e) == ("ModelError", 424)
    assert e.value.response["OriginalStatusCode"] == 500
    assert "the handler gave up on purpose" in e.value.response["OriginalMessage"]
    assert "Received server error (500)" in e.value.response["Error"]["Message"]


def test_a_payload_over_six_megabytes_is_refused(runtime, payloads):
    with pytest.raises(ClientError) as e:
        runtime.invoke_endpoint(EndpointName=payloads, ContentType="text/csv",
                                Body=b"1" * (6 * 1024 * 1024 + 1))
    assert error(e) == ("ValidationError", 400)
    assert "less than or equal to 6291456" in e.value.response["Error"]["Message"]


DROP_ID = '''
import io
import numpy as np

def model_fn(model_dir):
    return None

def input_fn(body, content_type):
    text = body if isinstance(body, str) else body.decode()  # the toolkit decodes text/csv
    return np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2)

def predict_fn(rows, model):
    return rows[:, 1:]  # the first column is an id the next model must not see

def output_fn(rows, accept):
    buf = io.StringIO()
    np.savetxt(buf, rows, delimiter=",", fmt="%.10g")
    return buf.getvalue(), "text/csv"
'''


def test_a_serial_inference_pipeline_passes_each_answer_on(host, sm, runtime, cancer_xgboost,
                                                          tmp_path):
    from tests.e2e.hosting.conftest import script_model
    from tests.e2e.hosting.test_serverless import SKLEARN

    host.client("s3").put_object(Bucket="hosting", Key="drop-id/model.tar.gz",
                                 Body=script_model(DROP_ID))
    sm.create_model(ModelName="pipeline", ExecutionRoleArn="arn:aws:iam::000000000000:role/x",
                    Containers=[
                        {"Image": SKLEARN, "ModelDataUrl": "s3://hosting/drop-id/model.tar.gz",
                         "Environment": {"SAGEMAKER_PROGRAM": "inference.py"}},
                        {"Image": XGBOOST, "ModelDataUrl": cancer_xgboost.model_data}])
    assert len(sm.describe_model(ModelName="pipeline")["Containers"]) == 2
    assert deploy(sm, "pipeline", [{"model": "pipeline"}])["EndpointStatus"] == "InService"
    rows = cancer_xgboost.X[:5]
    with_ids = np.column_stack([np.arange(100, 105), rows])
    answer = runtime.invoke_endpoint(EndpointName="pipeline", ContentType="text/csv",
                                     Body=csv_rows(with_ids))
    served = [float(v) for v in answer["Body"].read().decode().replace("\n", ",").split(",")
              if v.strip()]
    booster = xgb.Booster(model_file=str(model_files(host, cancer_xgboost.model_data,
                                                     tmp_path) / "xgboost-model"))
    np.testing.assert_allclose(served, booster.predict(xgb.DMatrix(rows)), rtol=0, atol=1e-6)
