"""Script mode (scikit-learn and XGBoost framework images) through boto3, with the
hyperparameters encoded the way the SageMaker Python SDK encodes them."""

from __future__ import annotations

import io
import json
import tarfile
import textwrap

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

from tests.e2e.training.conftest import job_request, tar_members, wait_for

SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
XGB = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

TRAIN_PY = textwrap.dedent('''
    import argparse, json, os
    import joblib, numpy as np
    from sklearn.linear_model import Ridge

    parser = argparse.ArgumentParser()
    parser.add_argument("--alpha", type=float)
    parser.add_argument("--note", type=str)
    parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
    args = parser.parse_args()
    data = np.loadtxt(os.path.join(args.train, "train.csv"), delimiter=",")
    model = Ridge(alpha=args.alpha).fit(data[:, 1:], data[:, 0])
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
    preds = model.predict(data[:5, 1:]).tolist()
    with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "preds.json"), "w") as fh:
        json.dump({"preds": preds, "hps": json.loads(os.environ["SM_HPS"]),
                   "channels": os.environ["SM_CHANNELS"], "args": os.environ["SM_USER_ARGS"],
                   "note": args.note, "cwd": os.getcwd()}, fh)
    print("trained ridge with alpha", args.alpha)
''')


def sdk_hyperparameters(program: str, source: str, **user) -> dict[str, str]:
    """What the SDK's framework estimators send: every value JSON-encoded."""
    hp = {"sagemaker_program": program, "sagemaker_submit_directory": source,
          "sagemaker_container_log_level": 20, "sagemaker_job_name": "x",
          "sagemaker_region": "us-east-1", **user}
    return {k: json.dumps(v) for k, v in hp.items()}


def upload_source(s3, key: str, files: dict[str, str]) -> str:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    s3.put_object(Bucket="data", Key=key, Body=buf.getvalue())
    return f"s3://data/{key}"


@pytest.fixture(scope="module", autouse=True)
def diabetes(s3):
    X, y = load_diabetes(return_X_y=True)
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([y, X]), delimiter=",", fmt="%.10g")
    s3.put_object(Bucket="data", Key="diabetes/train/train.csv", Body=buf.getvalue().encode())


def script_job(name: str, image: str, hp: dict, **extra) -> dict:
    request = job_request(name, image=image, channels={"train": "s3://data/diabetes/train"}, **extra)
    request["HyperParameters"] = hp
    return request


def test_sklearn_script_mode_model_predicts_what_the_script_predicted(sm, s3):
    import joblib

    source = upload_source(s3, "code/ridge/sourcedir.tar.gz", {"train.py": TRAIN_PY})
    sm.create_training_job(**script_job("sk-ridge", SKLEARN, sdk_hyperparameters(
        "train.py", source, alpha=0.5, note="hello world")))
    job = wait_for(sm, "sk-ridge")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    model = joblib.load(io.BytesIO(tar_members(s3, job["ModelArtifacts"]["S3ModelArtifacts"])[
        "model.joblib"]))
    report = json.loads(tar_members(s3, "s3://data/output/sk-ridge/output/output.tar.gz")["preds.json"])
    X, _ = load_diabetes(return_X_y=True)
    data = np.loadtxt(io.StringIO(s3.get_object(Bucket="data", Key="diabetes/train/train.csv")[
        "Body"].read().decode()), delimiter=",")
    assert model.predict(data[:5, 1:]).tolist() == pytest.approx(report["preds"], rel=1e-12)
    assert report["hps"] == {"alpha": 0.5, "note": "hello world"}
    assert report["channels"] == '["train"]'
    assert json.loads(report["args"]) == ["--alpha", "0.5", "--note", "hello world"]
    assert report["note"] == "hello world" and report["cwd"].endswith("/code")


def test_a_script_that_raises_fails_with_its_error_line(sm, s3):
    source = upload_source(s3, "code/boom/sourcedir.tar.gz", {"train.py": textwrap.dedent('''
        import sys
        print("about to fail")
        raise ValueError("boom: the data has no rows")
    ''')})
    sm.create_training_job(**script_job("sk-boom", SKLEARN, sdk_hyperparameters("train.py", source)))
    job = wait_for(sm, "sk-boom")
    assert job["TrainingJobStatus"] == "Failed"
    reason = job["FailureReason"]
    assert reason.startswith("AlgorithmError: ExecuteUserScriptError:\nExitCode 1\n")
    assert 'ErrorMessage "ValueError: boom: the data has no rows"' in reason
    assert "train.py" in reason and len(reason) <= 1024


def test_requirements_are_installed_once_and_reused(sm, s3, train_server, tmp_path):
    pkg = tmp_path / "tinypkg"
    (pkg / "tinypkg").mkdir(parents=True)
    (pkg / "tinypkg" / "__init__.py").write_text("MESSAGE = 'from tinypkg'\n")
    (pkg / "pyproject.toml").write_text(textwrap.dedent('''
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "tinypkg"
        version = "0.1"
    '''))
    script = "import tinypkg, os\nprint(tinypkg.MESSAGE)\nopen(os.path.join(os.environ['SM_MODEL_DIR'], 'm.txt'), 'w').write(tinypkg.MESSAGE)\n"
    source = upload_source(s3, "code/req/sourcedir.tar.gz", {
        "train.py": script, "requirements.txt": f"{pkg}\n"})
    for name in ("sk-req-1", "sk-req-2"):
        sm.create_training_job(**script_job(name, SKLEARN, sdk_hyperparameters("train.py", source)))
        job = wait_for(sm, name, timeout=300)
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        assert tar_members(s3, job["ModelArtifacts"]["S3ModelArtifacts"]) == {"m.txt": b"from tinypkg"}
    envs = train_server.home / "cache" / "envs"
    built = [p for p in envs.iterdir() if p.is_dir()]
    assert len(built) == 1 and (built[0] / ".complete").exists()
    logs = train_server.client("logs").filter_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="sk-req-2/")["events"]
    assert any("Using the cached environment" in e["message"] for e in logs)


def test_a_requirement_that_cannot_install_fails_the_job(sm, s3):
    source = upload_source(s3, "code/badreq/sourcedir.tar.gz", {
        "train.py": "print('never')\n", "requirements.txt": "/nonexistent/package/dir\n"})
    sm.create_training_job(**script_job("sk-badreq", SKLEARN, sdk_hyperparameters("train.py", source)))
    job = wait_for(sm, "sk-badreq", timeout=300)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("AlgorithmError: InstallRequirementsError:\nExitCode")


def test_xgboost_framework_mode_runs_the_entry_point(sm, s3):
    script = textwrap.dedent('''
        import os, numpy as np, xgboost as xgb
        data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), delimiter=",")
        booster = xgb.train({"max_depth": int(os.environ["SM_HP_MAX_DEPTH"])},
                            xgb.DMatrix(data[:, 1:], label=data[:, 0]), num_boost_round=5,
                            evals=[(xgb.DMatrix(data[:, 1:], label=data[:, 0]), "train")])
        booster.save_model(os.path.join(os.environ["SM_MODEL_DIR"], "xgboost-model"))
    ''')
    source = upload_source(s3, "code/xgbfw/sourcedir.tar.gz", {"fit.py": script})
    request = script_job("xgb-framework", XGB, sdk_hyperparameters("fit.py", source, max_depth=3))
    request["AlgorithmSpecification"]["MetricDefinitions"] = [
        {"Name": "train:rmse", "Regex": r"train-rmse:([0-9.]+)"}]
    sm.create_training_job(**request)
    job = wait_for(sm, "xgb-framework")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    # Framework mode gets only the user's metric definitions, not the algorithm's.
    assert [d["Name"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]] == ["train:rmse"]
    assert {m["MetricName"] for m in job["FinalMetricDataList"]} == {"train:rmse"}
    assert "xgboost-model" in tar_members(s3, job["ModelArtifacts"]["S3ModelArtifacts"])


DRIVER_SH = textwrap.dedent('''
    set -e
    cd /opt/ml/input/data/code
    python3 /opt/ml/input/data/drivers/driver.py "$@"
    echo "driver done" > /opt/ml/output/data/done.txt
''')
DRIVER_PY = textwrap.dedent('''
    import json, sys, os, sklearn
    hps = json.load(open("/opt/ml/input/config/hyperparameters.json"))
    with open("/opt/ml/model/run.json", "w") as fh:
        json.dump({"hps": hps, "argv": sys.argv[1:], "cwd": os.getcwd(),
                   "prefix": sys.prefix, "code": sorted(os.listdir("."))}, fh)
''')


def test_container_entrypoint_runs_a_driver_that_names_opt_ml(sm, s3, train_server):
    # The SageMaker SDK 3.x runs script mode this way: a bash entrypoint, drivers in a channel
    # of their own, every path under /opt/ml.
    for key, text in {"drivers/driver.sh": DRIVER_SH, "drivers/driver.py": DRIVER_PY,
                      "code/train.py": "print('hi')\n"}.items():
        s3.put_object(Bucket="data", Key=f"entry/{key}", Body=text.encode())
    request = job_request("entrypoint-driver", image=SKLEARN, hp={"depth": "3"},
                          channels={"drivers": "s3://data/entry/drivers",
                                    "code": "s3://data/entry/code"})
    request["AlgorithmSpecification"] = {
        "TrainingImage": SKLEARN, "TrainingInputMode": "File",
        "ContainerEntrypoint": ["/bin/bash", "-c",
                                "bash /opt/ml/input/data/drivers/driver.sh \"$@\"", "driver"],
        "ContainerArguments": ["--out", "/opt/ml/model"]}
    sm.create_training_job(**request)
    job = wait_for(sm, "entrypoint-driver")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    run = json.loads(tar_members(s3, job["ModelArtifacts"]["S3ModelArtifacts"])["run.json"])
    assert run["hps"] == {"depth": "3"}
    assert run["argv"][0] == "--out" and run["argv"][1].endswith("/algo-1/model")
    assert run["cwd"].endswith("/algo-1/input/data/code") and run["code"] == ["train.py"]
    # the job's own python3, inside the job directory under kamado's home
    assert run["prefix"].startswith(str(train_server.home))
    assert run["prefix"].endswith("/algo-1/.python")
    output = tar_members(s3, job["ModelArtifacts"]["S3ModelArtifacts"].replace(
        "model.tar.gz", "output.tar.gz"))
    assert output["done.txt"] == b"driver done\n"
