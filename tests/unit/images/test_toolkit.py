"""Script mode (kamado.images.toolkit and the scikit-learn / PyTorch images).

The first half checks the toolkit's rules in-process against the values in
training-contract.md §3.1, §5.3, §6 and §7. The second half runs the images the way the engine
does: ``python -m kamado.images.sklearn train`` in a job directory, as a subprocess.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
import threading
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from kamado.images.environment import TrainingEnvironment
from kamado.images.toolkit import build_sm_environment, code
from kamado.images.toolkit.failure import error_line, failure_text
from kamado.images.toolkit.hyperparameters import Hyperparameters, decode, to_args
from kamado.images.toolkit.variables import encode

SKLEARN_MODULE = "sagemaker_sklearn_container.training:main"
TIMEOUT = 120


# --- job directories ---------------------------------------------------------------------------

def sdk_hps(**values) -> dict[str, str]:
    """Hyperparameters as the SageMaker Python SDK sends them: every value JSON-encoded."""
    return {key: json.dumps(value) for key, value in values.items()}


def make_job(root: Path, hyperparameters: dict[str, str], channels=("train",),
             resource_config: dict | None = None) -> Path:
    base = root / "opt_ml"
    config = base / "input" / "config"
    config.mkdir(parents=True)
    for sub in ("model", "output/data", "code"):
        (base / sub).mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "inputdataconfig.json").write_text(json.dumps({
        ch: {"ContentType": "text/csv", "TrainingInputMode": "File",
             "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}
        for ch in channels}))
    (config / "resourceconfig.json").write_text(json.dumps(resource_config or {
        "current_host": "algo-1", "current_instance_type": "ml.m5.large",
        "current_group_name": "homogeneousCluster", "hosts": ["algo-1"],
        "instance_groups": [{"instance_group_name": "homogeneousCluster",
                             "instance_type": "ml.m5.large", "hosts": ["algo-1"]}],
        "network_interface_name": "eth0"}))
    for ch in channels:
        (base / "input" / "data" / ch).mkdir(parents=True)
    return base


def write_code(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def image_env(base: Path, cache: Path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "SAGEMAKER_"))}
    env.update({"SAGEMAKER_BASE_DIR": str(base), "TRAINING_JOB_NAME": "job-1",
                "TRAINING_JOB_ARN": "arn:aws:sagemaker:us-east-1:000000000000:training-job/job-1",
                "AWS_REGION": "us-east-1", "KAMADO_CACHE_DIR": str(cache), **extra})
    return env


def run_image(base: Path, cache: Path, image: str = "sklearn", **extra):
    return subprocess.run([sys.executable, "-m", f"kamado.images.{image}", "train"],
                          env=image_env(base, cache, **extra), cwd=base.parent,
                          capture_output=True, text=True, timeout=TIMEOUT)


def start_image(base: Path, cache: Path, image: str = "sklearn", **extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", f"kamado.images.{image}", "train"],
                            env=image_env(base, cache, **extra), cwd=base.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_until(stream, prefix: str) -> str:
    """Lines of a running image's output up to the one starting with ``prefix``."""
    for line in stream:
        if line.startswith(prefix):
            return line
    raise AssertionError(f"the output ended without a line starting {prefix!r}")


def failure(base: Path) -> str:
    return (base / "output" / "failure").read_text()


# --- hyperparameters and the command line ------------------------------------------------------

def test_values_are_json_decoded_and_non_json_stays_the_raw_string():
    assert decode({"int": "5", "quoted": '"abc"', "bare": "abc", "flag": "true", "list": "[1, 2]",
                   "dict": '{"x": 1}', "float": "0.001", "null": "null", "path": "s3://b/k",
                   "empty": ""}) == {
        "int": 5, "quoted": "abc", "bare": "abc", "flag": True, "list": [1, 2],
        "dict": {"x": 1}, "float": 0.001, "null": None, "path": "s3://b/k", "empty": ""}


def test_sagemaker_and_reserved_keys_are_not_the_users():
    hps = Hyperparameters.from_raw(sdk_hps(
        epochs=2, sagemaker_program="train.py", sagemaker_submit_directory="s3://b/src.tar.gz",
        sagemaker_container_log_level=10, sagemaker_job_name="j", sagemaker_region="eu-west-1",
        sagemaker_mpi_enabled=True, sagemaker_distribution_instance_groups=["g"],
        _tuning_objective_metric="val:rmse", default_user_module_name="m"))
    assert hps.user == {"epochs": 2}
    assert hps.framework == {"sagemaker_mpi_enabled": True,
                             "sagemaker_distribution_instance_groups": ["g"]}
    assert hps.program == "train.py" and hps.submit_directory == "s3://b/src.tar.gz"
    assert hps.log_level == 10 and hps.job_name == "j" and hps.region == "eu-west-1"
    assert set(hps.toolkit) >= {"_tuning_objective_metric", "default_user_module_name"}


def test_arguments_are_sorted_rendered_with_str_and_one_letter_keys_get_one_dash():
    user = decode({"learning-rate": "0.001", "epochs": "2", "k": "5", "flag": "true",
                   "layers": "[1, 2]", "opts": '{"b": 2, "a": "x"}', "name": '"two words"',
                   "nothing": "null"})
    assert to_args(user) == ["--epochs", "2", "--flag", "True", "-k", "5", "--layers", "[1, 2]",
                             "--learning-rate", "0.001", "--name", "two words", "--nothing", "",
                             "--opts", "a=x,b=2"]


def test_variable_encoding_rule():
    assert encode("a b") == "a b" and encode(None) == "" and encode(True) == "true"
    assert encode(3) == "3" and encode(0.001) == "0.001"
    assert encode({"b": [1, 2], "a": None}) == '{"a":null,"b":[1,2]}'


# --- SM_* variables ----------------------------------------------------------------------------

@pytest.fixture
def contract_job(tmp_path, monkeypatch):
    """The contract's example job: two channels, three user hyperparameters, SDK-encoded."""
    monkeypatch.setenv("TRAINING_JOB_NAME", "job-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.delenv("SM_HP_MP_PARAMETERS", raising=False)
    hps = sdk_hps(**{"batch-size": 32, "epochs": 2, "learning-rate": 0.001, "note": "hi there",
                     "sagemaker_program": "train-cnn.py",
                     "sagemaker_submit_directory": "s3://bucket/job-1/source/sourcedir.tar.gz",
                     "sagemaker_container_log_level": 20, "sagemaker_job_name": "job-1",
                     "sagemaker_region": "us-east-1", "sagemaker_mpi_enabled": False})
    base = make_job(tmp_path, hps, channels=("training", "testing"))
    return TrainingEnvironment.load(base)


def test_sm_variables_match_the_contract_examples(contract_job):
    base = contract_job.base
    sm = build_sm_environment(contract_job, SKLEARN_MODULE)
    assert sm["SM_HPS"] == '{"batch-size":32,"epochs":2,"learning-rate":0.001,"note":"hi there"}'
    assert sm["SM_USER_ARGS"] == ('["--batch-size","32","--epochs","2","--learning-rate","0.001",'
                                  '"--note","hi there"]')
    assert sm["SM_HP_BATCH-SIZE"] == "32" and sm["SM_HP_LEARNING-RATE"] == "0.001"
    assert sm["SM_HP_NOTE"] == "hi there" and sm["SM_HP_EPOCHS"] == "2"
    assert not any(k.startswith("SM_HP_SAGEMAKER") for k in sm)
    assert sm["SM_CHANNELS"] == '["testing","training"]'
    assert sm["SM_CHANNEL_TRAINING"] == str(base / "input" / "data" / "training")
    assert sm["SM_CHANNEL_TESTING"] == str(base / "input" / "data" / "testing")
    assert sm["SM_MODEL_DIR"] == str(base / "model")
    assert sm["SM_INPUT_DIR"] == str(base / "input")
    assert sm["SM_INPUT_CONFIG_DIR"] == str(base / "input" / "config")
    assert sm["SM_OUTPUT_DIR"] == str(base / "output")
    assert sm["SM_OUTPUT_DATA_DIR"] == str(base / "output" / "data")
    assert sm["SM_OUTPUT_INTERMEDIATE_DIR"] == str(base / "output" / "intermediate")
    assert sm["SM_CURRENT_HOST"] == "algo-1" and sm["SM_HOSTS"] == '["algo-1"]'
    assert sm["SM_CURRENT_INSTANCE_TYPE"] == "ml.m5.large"
    assert sm["SM_NETWORK_INTERFACE_NAME"] == "eth0"
    assert sm["SM_NUM_GPUS"] == "0" and sm["SM_NUM_NEURONS"] == "0"
    assert int(sm["SM_NUM_CPUS"]) >= 1
    assert sm["SM_LOG_LEVEL"] == "20"
    assert sm["SM_USER_ENTRY_POINT"] == "train-cnn.py" and sm["SM_MODULE_NAME"] == "train-cnn"
    assert sm["SM_MODULE_DIR"] == "s3://bucket/job-1/source/sourcedir.tar.gz"
    assert sm["SM_FRAMEWORK_MODULE"] == SKLEARN_MODULE
    assert sm["SM_FRAMEWORK_PARAMS"] == '{"sagemaker_mpi_enabled":false}'
    assert json.loads(sm["SM_RESOURCE_CONFIG"]) == contract_job.resource_config
    assert sm["SM_RESOURCE_CONFIG"] == encode(contract_job.resource_config)  # compact, sorted
    assert json.loads(sm["SM_INPUT_DATA_CONFIG"]) == contract_job.input_data_config
    assert sm["SM_IS_HETERO"] == "false"
    assert sm["SM_CURRENT_INSTANCE_GROUP"] == "homogeneousCluster"
    assert sm["SM_CURRENT_INSTANCE_GROUP_HOSTS"] == '["algo-1"]'
    assert sm["SM_INSTANCE_GROUPS"] == '["homogeneousCluster"]'
    assert sm["SM_DISTRIBUTION_INSTANCE_GROUPS"] == "[]"
    assert sm["SAGEMAKER_JOB_NAME"] == "job-1" and sm["CURRENT_HOST"] == "algo-1"
    assert sm["SAGEMAKER_REGION"] == "us-east-1"
    assert sm["PYTHONPATH"] == str(base / "code")
    assert not any("/opt/ml" in v for k, v in sm.items() if k != "SM_TRAINING_ENV")


def test_sm_training_env_holds_everything(contract_job):
    base = contract_job.base
    training = json.loads(build_sm_environment(contract_job, SKLEARN_MODULE)["SM_TRAINING_ENV"])
    assert training["hyperparameters"] == {"batch-size": 32, "epochs": 2, "learning-rate": 0.001,
                                           "note": "hi there"}
    assert training["channel_input_dirs"] == {
        "testing": str(base / "input" / "data" / "testing"),
        "training": str(base / "input" / "data" / "training")}
    assert training["additional_framework_parameters"] == {"sagemaker_mpi_enabled": False}
    assert training["is_master"] is True and training["master_hostname"] == "algo-1"
    assert training["job_name"] == "job-1" and training["framework_module"] == SKLEARN_MODULE
    assert training["model_dir"] == str(base / "model") and training["num_gpus"] == 0
    assert training["user_entry_point"] == "train-cnn.py" and training["log_level"] == 20
    assert {"current_instance_group", "instance_groups_dict", "distribution_hosts", "is_hetero",
            "input_data_config", "resource_config", "output_intermediate_dir",
            "module_dir", "module_name", "network_interface_name", "num_cpus",
            "num_neurons"} <= set(training)


def test_heterogeneous_cluster_variables(tmp_path, monkeypatch):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    resource = {
        "current_host": "algo-3", "current_instance_type": "ml.p3.2xlarge",
        "current_group_name": "gpus", "hosts": ["algo-1", "algo-2", "algo-3"],
        "instance_groups": [
            {"instance_group_name": "cpus", "instance_type": "ml.c5.xlarge",
             "hosts": ["algo-1", "algo-2"]},
            {"instance_group_name": "gpus", "instance_type": "ml.p3.2xlarge", "hosts": ["algo-3"]}],
        "network_interface_name": "eth0"}
    base = make_job(tmp_path, sdk_hps(sagemaker_program="t.py",
                                      sagemaker_distribution_instance_groups=["gpus"]),
                    resource_config=resource)
    sm = build_sm_environment(TrainingEnvironment.load(base), SKLEARN_MODULE)
    assert sm["SM_IS_HETERO"] == "true"
    assert sm["SM_CURRENT_INSTANCE_GROUP"] == "gpus"
    assert sm["SM_CURRENT_INSTANCE_GROUP_HOSTS"] == '["algo-3"]'
    assert sm["SM_INSTANCE_GROUPS"] == '["cpus","gpus"]'
    assert json.loads(sm["SM_INSTANCE_GROUPS_DICT"])["cpus"]["hosts"] == ["algo-1", "algo-2"]
    assert sm["SM_DISTRIBUTION_INSTANCE_GROUPS"] == '["gpus"]'
    assert sm["SM_CURRENT_INSTANCE_TYPE"] == "ml.p3.2xlarge"
    training = json.loads(sm["SM_TRAINING_ENV"])
    assert training["distribution_hosts"] == ["algo-3"] and training["is_master"] is True


# --- failure text ------------------------------------------------------------------------------

def test_the_error_line_is_the_exception_of_the_last_traceback():
    stderr = ["Traceback (most recent call last):", '  File "a.py", line 1, in <module>',
              "KeyError: 'x'", "", "During handling of the above exception, another exception "
              "occurred:", "", "Traceback (most recent call last):",
              '  File "train.py", line 3, in <module>', '    raise ValueError("boom")',
              "ValueError: boom", "exiting"]
    assert error_line(stderr) == "ValueError: boom"
    assert error_line(["loading", "  at frame", "mylib.DataError: no rows"]) == \
        "mylib.DataError: no rows"
    assert error_line(["warming up", "fatal: bad input"]) == "fatal: bad input"
    assert error_line([]) == ""


def test_the_failure_text_stays_under_the_failure_reason_limit():
    text = failure_text("ExecuteUserScriptError", 1, "E: " + "x" * 5000,
                        ["/usr/bin/python", "train.py", *["--arg"] * 2000])
    assert text.startswith('ExecuteUserScriptError:\nExitCode 1\nErrorMessage "E: xxx')
    assert '\nCommand "/usr/bin/python train.py --arg' in text and len(text) < 900


# --- code delivery (s3 fallback without a server) ----------------------------------------------

def tarball(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = textwrap.dedent(text).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_an_empty_code_dir_is_filled_from_the_s3_tarball(tmp_path, monkeypatch):
    import boto3

    asked = []

    class S3:
        def download_file(self, bucket, key, filename):
            asked.append((bucket, key))
            Path(filename).write_bytes(tarball({"train.py": "print(1)\n", "lib/util.py": ""}))

    monkeypatch.setattr(boto3, "client", lambda service, **kw: S3())
    target = tmp_path / "code"
    code.provide("s3://bucket/prefix/sourcedir.tar.gz", target, tmp_path, "us-east-1")
    assert asked == [("bucket", "prefix/sourcedir.tar.gz")]
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*.py")) == \
        ["lib/util.py", "train.py"]
    # Code that is already there (the engine extracted it) is used as it is.
    code.provide("s3://bucket/other.tar.gz", target, tmp_path)
    assert len(asked) == 1


# --- real runs ---------------------------------------------------------------------------------

TRAIN_PY = """
    import argparse, json, os, sys
    import joblib, numpy as np
    from sklearn.linear_model import Ridge
    import helper  # a sibling module: the code directory is importable

    parser = argparse.ArgumentParser()
    parser.add_argument("--alpha", type=float, required=True)
    parser.add_argument("--note", type=str)
    parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
    args = parser.parse_args()
    data = np.loadtxt(os.path.join(args.train, "data.csv"), delimiter=",")
    model = Ridge(alpha=args.alpha).fit(data[:, 1:], data[:, 0])
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
    report = {"argv": sys.argv[1:], "cwd": os.getcwd(), "helper": helper.NAME,
              "env": {k: v for k, v in os.environ.items() if k.startswith("SM_") or
                      k in ("PYTHONPATH", "SAGEMAKER_JOB_NAME", "CURRENT_HOST", "SAGEMAKER_REGION")}}
    with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "report.json"), "w") as fh:
        json.dump(report, fh)
    print("PREDICTIONS " + json.dumps(model.predict(data[:10, 1:]).tolist()))
    print("a line on stderr", file=sys.stderr)
"""


def test_sklearn_script_trains_and_saves_a_model_that_predicts_what_the_script_printed(tmp_path):
    import joblib

    # The engine has already extracted the source into code/; the s3:// location is never read.
    base = make_job(tmp_path, sdk_hps(
        alpha=0.5, note="two words", sagemaker_program="train.py",
        sagemaker_submit_directory="s3://nowhere/source/sourcedir.tar.gz",
        sagemaker_container_log_level=20, sagemaker_job_name="job-1",
        sagemaker_region="us-east-1"))
    rng = np.random.default_rng(7)
    X = rng.normal(size=(60, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + rng.normal(scale=0.1, size=60)
    np.savetxt(base / "input" / "data" / "train" / "data.csv", np.column_stack([y, X]),
               delimiter=",", fmt="%.10g")
    write_code(base / "code", {"train.py": TRAIN_PY, "helper.py": "NAME = 'helper'\n"})

    done = run_image(base, tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    printed = json.loads(read_until(io.StringIO(done.stdout), "PREDICTIONS ").split(" ", 1)[1])
    model = joblib.load(base / "model" / "model.joblib")
    data = np.loadtxt(base / "input" / "data" / "train" / "data.csv", delimiter=",")
    assert model.predict(data[:10, 1:]).tolist() == printed
    assert (base / "output" / "success").exists()
    assert not (base / "output" / "failure").exists()
    assert "a line on stderr" in done.stderr  # the script's stderr reaches the job log

    report = json.loads((base / "output" / "data" / "report.json").read_text())
    assert report["argv"] == ["--alpha", "0.5", "--note", "two words"]
    assert report["cwd"] == str(base / "code") and report["helper"] == "helper"
    env = report["env"]
    assert env["SM_HPS"] == '{"alpha":0.5,"note":"two words"}'
    assert env["SM_CHANNELS"] == '["train"]'
    assert env["SM_CHANNEL_TRAIN"] == str(base / "input" / "data" / "train")
    assert env["SM_MODEL_DIR"] == str(base / "model")
    assert env["SM_FRAMEWORK_MODULE"] == SKLEARN_MODULE
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(base / "code")
    assert env["SAGEMAKER_JOB_NAME"] == "job-1" and env["SAGEMAKER_REGION"] == "us-east-1"
    assert json.loads(env["SM_TRAINING_ENV"])["hyperparameters"] == {"alpha": 0.5,
                                                                     "note": "two words"}


def test_a_script_that_raises_fails_the_job_with_its_error_line(tmp_path):
    base = make_job(tmp_path, sdk_hps(sagemaker_program="train.py", epochs=3))
    write_code(base / "code", {"train.py": """
        print("about to fail", flush=True)
        def load():
            raise ValueError("boom")
        load()
    """})
    done = run_image(base, tmp_path / "cache")
    assert done.returncode == 1
    text = failure(base)
    assert text.startswith('ExecuteUserScriptError:\nExitCode 1\nErrorMessage "ValueError: boom"')
    assert text.endswith(f'Command "{sys.executable} train.py --epochs 3"')
    assert len(text) < 1024
    assert "about to fail" in done.stdout and "Traceback (most recent call last)" in done.stderr
    assert not (base / "output" / "success").exists()


def test_a_failure_file_the_script_wrote_is_kept(tmp_path):
    base = make_job(tmp_path, sdk_hps(sagemaker_program="train.py"))
    write_code(base / "code", {"train.py": """
        import os, sys
        open(os.path.join(os.environ["SM_OUTPUT_DIR"], "failure"), "w").write("my own reason")
        sys.exit(3)
    """})
    done = run_image(base, tmp_path / "cache")
    assert done.returncode == 1 and failure(base) == "my own reason"


def test_a_missing_entry_point_is_a_client_error(tmp_path):
    base = make_job(tmp_path, sdk_hps(sagemaker_program="nope.py"))
    write_code(base / "code", {"train.py": "print('hi')\n"})
    done = run_image(base, tmp_path / "cache")
    assert done.returncode == 2
    assert failure(base).startswith("ClientError: The entry point nope.py")


def test_a_shell_entry_point_gets_the_arguments_and_the_jobs_python(tmp_path):
    base = make_job(tmp_path, sdk_hps(sagemaker_program="run.sh", epochs=3, note="two words"))
    write_code(base / "code", {"run.sh": """\
        #!/bin/sh
        printf '%s\\n' "$@" > "$SM_MODEL_DIR/args.txt"
        echo "$SM_CHANNELS" > "$SM_MODEL_DIR/channels.txt"
        python -c "import sklearn, sys; print(sys.executable)" > "$SM_MODEL_DIR/python.txt"
    """})
    done = run_image(base, tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    model = base / "model"
    assert (model / "args.txt").read_text().splitlines() == ["--epochs", "3", "--note",
                                                               "two words"]
    assert (model / "channels.txt").read_text().strip() == '["train"]'
    assert Path((model / "python.txt").read_text().strip()).parent == Path(sys.executable).parent


@pytest.mark.parametrize("form", ["tar.gz", "directory", "network-isolation code channel"])
def test_the_source_directory_can_be_a_local_tarball_or_directory(tmp_path, form):
    files = {"train.py": """
        import os, helper
        open(os.path.join(os.environ["SM_MODEL_DIR"], "out.txt"), "w").write(helper.NAME)
    """, "helper.py": "NAME = 'from the source'\n"}
    if form == "tar.gz":
        source = tmp_path / "sourcedir.tar.gz"
        source.write_bytes(tarball(files))
        location = str(source)
    elif form == "directory":
        write_code(tmp_path / "src", files)
        location = f"file://{tmp_path / 'src'}"
    else:  # the SDK's path inside the container; kamado reads it in the job directory
        location = "/opt/ml/input/data/code/sourcedir.tar.gz"
    base = make_job(tmp_path, sdk_hps(sagemaker_program="train.py",
                                      sagemaker_submit_directory=location))
    (base / "code").rmdir()
    if form.startswith("network"):
        (base / "input" / "data" / "code").mkdir()
        (base / "input" / "data" / "code" / "sourcedir.tar.gz").write_bytes(tarball(files))
    done = run_image(base, tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    assert (base / "model" / "out.txt").read_text() == "from the source"
    assert (base / "code" / "helper.py").exists()


# --- requirements.txt ---------------------------------------------------------------------------

BACKEND = '''
    """A PEP 517 backend that needs nothing installed: builds are offline and counted."""
    import os, zipfile

    NAME, VERSION = {name!r}, "0.1.0"
    MODULES = {modules!r}

    def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
        with open({log!r}, "a") as log:
            log.write("built\\n")
        gate = os.environ.get("TOOLKIT_TEST_GATE")
        if gate:  # the concurrency test holds the build here until it lets it go
            with open(gate) as fifo:
                fifo.read()
        dist = f"{{NAME}}-{{VERSION}}.dist-info"
        files = dict(MODULES)
        files[f"{{dist}}/METADATA"] = f"Metadata-Version: 2.1\\nName: {{NAME}}\\nVersion: {{VERSION}}\\n"
        files[f"{{dist}}/WHEEL"] = ("Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\n"
                                  "Tag: py3-none-any\\n")
        wheel = f"{{NAME}}-{{VERSION}}-py3-none-any.whl"
        with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as zf:
            for path, text in files.items():
                zf.writestr(path, text)
            zf.writestr(f"{{dist}}/RECORD", "".join(f"{{p}},,\\n" for p in files) + f"{{dist}}/RECORD,,\\n")
        return wheel
'''
PYPROJECT = """
    [build-system]
    requires = []
    build-backend = "backend"
    backend-path = ["."]
"""


def local_package(directory: Path, log: Path, name: str, modules: dict[str, str]) -> None:
    write_code(directory, {"pyproject.toml": PYPROJECT, "backend.py": BACKEND.format(
        name=name, modules=modules, log=str(log))})


REQ_TRAIN_PY = """
    import json, os, sys
    import sklearn, tinypkg  # kamado's packages and the requirement, side by side
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "report.json"), "w") as fh:
        json.dump({"message": tinypkg.MESSAGE, "prefix": sys.prefix}, fh)
"""


def requirements_job(root: Path, log: Path) -> Path:
    base = make_job(root, sdk_hps(sagemaker_program="train.py"))
    write_code(base / "code", {"train.py": REQ_TRAIN_PY,
                               "requirements.txt": "--no-index\n./tinypkg\n"})
    local_package(base / "code" / "tinypkg", log, "tinypkg",
                  {"tinypkg/__init__.py": "MESSAGE = 'from tinypkg'\n"})
    return base


def built_envs(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "envs").iterdir() if p.is_dir())


def test_requirements_are_installed_once_into_a_cached_environment(tmp_path):
    cache, log = tmp_path / "cache", tmp_path / "builds.log"
    first = requirements_job(tmp_path / "one", log)
    done = run_image(first, cache)
    assert done.returncode == 0, done.stderr + done.stdout
    [env_dir] = built_envs(cache)
    assert (env_dir / ".complete").exists() and (env_dir / "requirements.txt").exists()
    report = json.loads((first / "model" / "report.json").read_text())
    assert report == {"message": "from tinypkg", "prefix": str(env_dir)}
    stamp = (env_dir / ".complete").stat()

    second = requirements_job(tmp_path / "two", log)
    done = run_image(second, cache)
    assert done.returncode == 0, done.stderr
    assert "Using the cached environment" in done.stdout
    assert built_envs(cache) == [env_dir]
    assert (env_dir / ".complete").stat().st_mtime_ns == stamp.st_mtime_ns
    assert (env_dir / ".complete").stat().st_ino == stamp.st_ino
    assert log.read_text() == "built\n"  # one build for two jobs
    assert json.loads((second / "model" / "report.json").read_text())["prefix"] == str(env_dir)
    assert find_spec("tinypkg") is None  # kamado's own environment is untouched


def test_concurrent_jobs_with_the_same_requirements_build_one_environment(tmp_path):
    cache, log = tmp_path / "cache", tmp_path / "builds.log"
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    first, second = requirements_job(tmp_path / "one", log), requirements_job(tmp_path / "two", log)
    a = start_image(first, cache, TOOLKIT_TEST_GATE=str(gate))
    b = None
    try:
        read_until(a.stdout, "Installing requirements")  # a holds the lock, its build waits
        b = start_image(second, cache)
        read_until(b.stdout, "Waiting for another job")
        # Opening the gate for writing waits until a's build opens it for reading, then lets it
        # go; in a thread, so that a build that never gets there fails the test, not hangs it.
        opener = threading.Thread(target=lambda: os.close(os.open(gate, os.O_WRONLY)),
                                  daemon=True)
        opener.start()
        opener.join(TIMEOUT)
        assert not opener.is_alive(), "the first job's build never reached the gate"
        out_a, err_a = a.communicate(timeout=TIMEOUT)
        out_b, err_b = b.communicate(timeout=TIMEOUT)
    finally:
        for proc in (a, b):
            if proc and proc.poll() is None:
                proc.kill()
    assert a.returncode == 0, err_a
    assert b.returncode == 0, err_b
    assert "Using the cached environment" in out_b
    assert log.read_text() == "built\n"
    [env_dir] = built_envs(cache)
    for base in (first, second):
        assert json.loads((base / "model" / "report.json").read_text())["prefix"] == str(env_dir)
    assert not list((cache / "envs").glob("*.building-*"))


def test_a_requirement_that_cannot_be_installed_fails_the_job(tmp_path):
    cache = tmp_path / "cache"
    base = make_job(tmp_path, sdk_hps(sagemaker_program="train.py"))
    write_code(base / "code", {
        "train.py": "open('ran', 'w').write('ran')\n",
        "requirements.txt": "--no-index\nkamado-no-such-package==1.0\n"})
    done = run_image(base, cache)
    assert done.returncode == 1
    text = failure(base)
    assert text.startswith("InstallRequirementsError:\nExitCode 1\nErrorMessage \"")
    assert "No matching distribution found for kamado-no-such-package==1.0" in text
    assert "-m pip install --no-input -r requirements.txt\"" in text and len(text) < 1024
    assert not (base / "code" / "ran").exists()
    assert built_envs(cache) == []  # nothing half-built is left for the next job


def test_code_with_a_setup_py_is_installed_and_run_as_a_module(tmp_path):
    cache, log = tmp_path / "cache", tmp_path / "builds.log"
    base = make_job(tmp_path, sdk_hps(sagemaker_program="trainer.py", epochs=2))
    write_code(base / "code", {"setup.py": "raise SystemExit('the in-tree backend builds')\n",
                               "trainer.py": """
        import os, sys
        import installed_only  # in the wheel, not in the code directory
        with open(os.path.join(os.environ["SM_MODEL_DIR"], "out.txt"), "w") as fh:
            fh.write(f"{installed_only.VALUE} {sys.argv[1:]} {__spec__.name}")
    """})
    local_package(base / "code", log, "trainer_pkg",
                  {"installed_only.py": "VALUE = 'installed'\n"})
    done = run_image(base, cache)
    assert done.returncode == 0, done.stderr + done.stdout
    assert (base / "model" / "out.txt").read_text() == "installed ['--epochs', '2'] trainer"
    assert f"{os.sep}python -m trainer --epochs 2" in done.stdout
    assert find_spec("installed_only") is None
    assert list((cache / "scratch").iterdir()) == []  # the job's environment is gone


# --- stopping ------------------------------------------------------------------------------------

STOPPABLE = """
    import os, signal, sys
    def stop(signum, frame):
        with open(os.path.join(os.environ["SM_MODEL_DIR"], "saved.txt"), "w") as fh:
            fh.write("saved on SIGTERM")
        sys.exit(0)
    if os.environ["SM_HP_MODE"] == "graceful":
        signal.signal(signal.SIGTERM, stop)
    print("ready", os.getpid(), flush=True)
    while True:
        signal.pause()
"""


@pytest.mark.parametrize("mode", ["graceful", "killed"])
def test_sigterm_to_the_toolkit_reaches_the_script(tmp_path, mode):
    base = make_job(tmp_path, sdk_hps(sagemaker_program="train.py", mode=mode))
    write_code(base / "code", {"train.py": STOPPABLE})
    proc = start_image(base, tmp_path / "cache")
    try:
        child = int(read_until(proc.stdout, "ready").split()[1])
        proc.send_signal(signal.SIGTERM)  # the toolkit only, not its process group
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # the script is gone, not orphaned
    if mode == "graceful":
        assert proc.returncode == 0, err
        assert (base / "model" / "saved.txt").read_text() == "saved on SIGTERM"
        assert (base / "output" / "success").exists()
    else:
        assert proc.returncode == 1
        text = failure(base)
        assert text.startswith("ExecuteUserScriptError:\nExitCode -15\n")
        assert 'ErrorMessage "The process was killed by SIGTERM"' in text


# --- the PyTorch image ---------------------------------------------------------------------------

@pytest.mark.skipif(find_spec("torch") is not None, reason="torch is installed here")
def test_the_pytorch_image_without_torch_fails_before_running_the_script(tmp_path):
    base = make_job(tmp_path, sdk_hps(sagemaker_program="train.py"))
    write_code(base / "code", {"train.py": "open('ran', 'w').write('ran')\n"})
    done = run_image(base, tmp_path / "cache", image="pytorch")
    assert done.returncode == 2
    assert failure(base) == "ClientError: the PyTorch image needs torch; install kamado[torch]"
    assert not (base / "code" / "ran").exists()
