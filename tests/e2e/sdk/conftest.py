"""The SageMaker Python SDK, unchanged, against a real kamado server.

Each SDK version lives in its own venv (``venvs.py``); a test runs a small script from
``scripts/`` with that venv's interpreter, with nothing but the environment a user sets up
after ``kamado server`` (docs/sagemaker-sdk.md): ``AWS_PROFILE=kamado`` and the shared AWS
config files that carry the profile's keys, region and ``endpoint_url``, plus a SageMaker SDK
config file (``SAGEMAKER_USER_CONFIG_OVERRIDE``) with the default bucket, the execution role
and telemetry turned off. The script prints the SDK's own output and one result line.

The SDK polls: v2's ``fit(logs=True)`` describes the job every 30 s and sleeps 10 s between
log reads, so one fit takes ~7 s or ~45 s depending on whether the job has already finished at
its first DescribeTrainingJob. So a module starts every SDK run it has at once, on one server,
and each test waits for its own.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import tarfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from tests.conftest import KamadoServer
from tests.e2e.sdk import venvs

SDK_V2 = "2.257.7"   # the last 2.x release
SDK_V3 = "3.27.0"    # what `pip install sagemaker` installs today
SCRIPTS = Path(__file__).with_name("scripts")
ROLE = "arn:aws:iam::000000000000:role/kamado-sdk"
CONFIG_BUCKET = "kamado-sdk-default"
RESULT = "KAMADO-SDK-RESULT "
SDK_TIMEOUT = 300.0
# The built-in XGBoost hyperparameters every XGBoost scenario uses, and what xgboost.train
# gets for the same model.
XGB_HP = {"objective": "binary:logistic", "num_round": 20, "max_depth": 4, "eta": 0.3,
          "eval_metric": "auc", "seed": 7}
# "[19]#011train-auc:1.00000#011validation-auc:0.99853" (tabs arrive as #011, as on AWS)
EVAL_LINE = re.compile(
    r"^\[(\d+)\](?:#011|\t)train-auc:([0-9.]+)(?:#011|\t)validation-auc:([0-9.]+)", re.M)


@dataclass
class Cancer:
    """scikit-learn's breast-cancer data as label-first CSV files, and the numbers in them."""

    train_dir: Path
    validation_dir: Path
    X_train: np.ndarray
    y_train: np.ndarray
    X_valid: np.ndarray
    y_valid: np.ndarray


@pytest.fixture(scope="session")
def cancer(tmp_path_factory) -> Cancer:
    root = tmp_path_factory.mktemp("cancer")
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.25, random_state=0)
    arrays = []
    for name, X_, y_ in (("train", X_train, y_train), ("validation", X_valid, y_valid)):
        (root / name).mkdir()
        path = root / name / f"{name}.csv"
        np.savetxt(path, np.column_stack([y_, X_]), delimiter=",", fmt="%.8g")
        data = np.loadtxt(path, delimiter=",")      # what the job reads, to the last digit
        arrays += [data[:, 1:], data[:, 0]]
    return Cancer(root / "train", root / "validation", arrays[0], arrays[1], arrays[2], arrays[3])


def xgboost_direct(cancer: Cancer) -> dict:
    """xgboost.train on the same numbers and hyperparameters: the last round's AUCs."""
    import xgboost as xgb

    params = {k: v for k, v in XGB_HP.items() if k != "num_round"}
    dtrain = xgb.DMatrix(cancer.X_train, label=cancer.y_train)
    dvalid = xgb.DMatrix(cancer.X_valid, label=cancer.y_valid)
    history: dict = {}
    booster = xgb.train(params, dtrain, num_boost_round=XGB_HP["num_round"],
                        evals=[(dtrain, "train"), (dvalid, "validation")],
                        evals_result=history, verbose_eval=False)
    return {"booster": booster, "train_auc": history["train"]["auc"][-1],
            "validation_auc": history["validation"]["auc"][-1]}


def streamed_eval_lines(stdout: str) -> list[tuple[int, float, float]]:
    return [(int(i), float(t), float(v)) for i, t, v in EVAL_LINE.findall(stdout)]


# --- running one SDK script ------------------------------------------------------------------
@dataclass
class SdkResult:
    result: dict
    stdout: str
    stderr: str
    seconds: float


@dataclass
class SdkRun:
    """One script running under one SDK's interpreter, started now, awaited by `result()`."""

    name: str
    python: Path
    script: str
    args: dict
    env: dict
    workdir: Path
    started: float = 0.0

    def start(self) -> "SdkRun":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._out = open(self.workdir / "stdout.txt", "wb")
        self._err = open(self.workdir / "stderr.txt", "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen([str(self.python), str(SCRIPTS / self.script),
                                      json.dumps(self.args)], env=self.env, cwd=self.workdir,
                                     stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err)
        self._ended = threading.Event()
        self._seconds = 0.0
        threading.Thread(target=self._time, daemon=True).start()
        return self

    def _time(self) -> None:
        """How long the SDK process ran, whenever its test gets round to asking."""
        self.proc.wait()
        self._seconds = time.monotonic() - self.started
        self._ended.set()

    def result(self) -> SdkResult:
        remaining = max(1.0, SDK_TIMEOUT - (time.monotonic() - self.started))
        if not self._ended.wait(remaining):
            self.proc.kill()
            self._ended.wait()
        seconds = self._seconds
        self._out.close()
        self._err.close()
        stdout = (self.workdir / "stdout.txt").read_text(errors="replace")
        stderr = (self.workdir / "stderr.txt").read_text(errors="replace")
        lines = [line for line in stdout.splitlines() if line.startswith(RESULT)]
        if self.proc.returncode != 0 or not lines:
            raise AssertionError(
                f"{self.name}: {self.script} under sagemaker {self.python.parent.parent.name} "
                f"exited {self.proc.returncode} after {seconds:.0f}s\n--- stdout\n"
                f"{stdout[-6000:]}\n--- stderr\n{stderr[-6000:]}")
        result = json.loads(lines[-1][len(RESULT):])
        fit = result.get("fit_seconds")
        print(f"{self.name}: SDK process {seconds:.1f}s"
              + (f", fit/train call {fit:.1f}s" if fit is not None else ""))
        return SdkResult(result, stdout, stderr, seconds)

    def stop(self) -> None:
        if getattr(self, "proc", None) is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._out.close()
        self._err.close()


def sdk_env(server: KamadoServer, config: Path, **extra: str) -> dict[str, str]:
    """What a user's shell has: the profile kamado wrote, and the SDK's config file."""
    server_env = server.env()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "KAMADO_", "SAGEMAKER_", "PYTHON"))}
    env.update(AWS_PROFILE="kamado",
               AWS_SHARED_CREDENTIALS_FILE=server_env["AWS_SHARED_CREDENTIALS_FILE"],
               AWS_CONFIG_FILE=server_env["AWS_CONFIG_FILE"],
               SAGEMAKER_USER_CONFIG_OVERRIDE=str(config), **extra)
    return env


def write_sdk_config(path: Path) -> Path:
    """The SageMaker Python SDK's own defaults file (both versions read the same schema)."""
    path.write_text(f"""SchemaVersion: '1.0'
SageMaker:
  PythonSDK:
    Modules:
      TelemetryOptOut: true
      Session:
        DefaultS3Bucket: {CONFIG_BUCKET}
  TrainingJob:
    RoleArn: {ROLE}
""")
    return path


def start_sdk_server(tmp: Path) -> KamadoServer:
    # Every scenario of a module runs at once; let their jobs run at once too.
    server = KamadoServer(tmp / "home", extra_env={"KAMADO_MAX_CONCURRENT_JOBS": "4"}).start()
    # The config file's bucket exists already, as a user's would; the scenarios that name a
    # bucket of their own let the SDK create it.
    server.client("s3").create_bucket(Bucket=CONFIG_BUCKET)
    # The execution role exists, as on AWS: SDK 3.x checks it through IAM by default.
    server.client("iam").create_role(
        RoleName=ROLE.rsplit("/", 1)[1], AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}))
    return server


# --- looking at what a job left in kamado's S3 -----------------------------------------------
def tar_members(server: KamadoServer, uri: str) -> dict[str, bytes]:
    bucket, key = uri[len("s3://"):].split("/", 1)
    body = server.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


_VENV_FIXTURES = {"sdk_v2_python": SDK_V2, "sdk_v3_python": SDK_V3}


@pytest.fixture(scope="session")
def sdk_venv_builds(request):
    """Build (or find) every SDK venv this session's tests use, all at once: the v2 tests run
    while pip is still resolving v3's long list of dependencies."""
    wanted = {version for item in request.session.items
              for name, version in _VENV_FIXTURES.items() if name in item.fixturenames}
    with ThreadPoolExecutor(max_workers=max(1, len(wanted))) as pool:
        yield {version: pool.submit(venvs.sdk_python, version) for version in sorted(wanted)}


@pytest.fixture(scope="session")
def sdk_v2_python(sdk_venv_builds) -> Path:
    return sdk_venv_builds[SDK_V2].result()


@pytest.fixture(scope="session")
def sdk_v3_python(sdk_venv_builds) -> Path:
    return sdk_venv_builds[SDK_V3].result()
