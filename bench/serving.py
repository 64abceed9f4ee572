"""Real-time serving: one XGBoost model behind kamado's InvokeEndpoint, called in-process, and
behind ``mlflow models serve``, side by side in one run.

    pip install -e ".[bench]" && python bench/serving.py [--requests 2000] [--concurrency 1 8]

The model is trained once by kamado (CreateTrainingJob, built-in XGBoost image, scikit-learn's
breast-cancer data); its model.tar.gz is the endpoint's model, and the same booster is loaded
here and saved for MLflow. Every case sends the same one-row request; each client thread keeps
one ``http.client.HTTPConnection`` alive, so the HTTP cases share one lightweight client:

  * direct — ``Booster.predict(DMatrix(row))`` in this process: the floor;
  * model server — kamado's XGBoost model server (``python -m kamado.images.xgboost serve``,
    what each endpoint instance runs) called on its own port: the endpoint without the gateway;
  * kamado — ``POST /endpoints/<name>/invocations`` (InvokeEndpoint), SigV4-signed per
    request with botocore as boto3 signs it. Latency is the HTTP exchange; signing is shown on
    its own (a boto3 user pays it too); requests/s includes it;
  * boto3 — ``sagemaker-runtime.invoke_endpoint`` at concurrency 1: what boto3 itself adds;
  * mlflow — ``mlflow models serve --env-manager local`` (one uvicorn worker, its default, as
    kamado's model server runs one) with the row as CSV-with-header or ``dataframe_split``
    JSON, whichever answers faster here (both are probed and printed).

p50/p99 are per request; requests/s is requests over wall time. After the table come the two
targets (kamado's added p50 latency over the direct call, < 2 ms; requests/s at the highest
concurrency against MLflow, >= 2x) and where kamado's time goes: the model server alone, the
router's ModelLatency and OverheadLatency (from the endpoint's ``/metrics``), and the rest
(gateway: HTTP, SigV4 check, parse, serialize, thread hop).
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import boto3
import numpy as np
import xgboost as xgb
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sklearn.datasets import load_breast_cancer

from gateway import clients, free_port, start_kamado, summarise

console = Console()
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::000000000000:role/bench"
ENDPOINT = "bench-serving"
# Progress is advanced in steps so that eight threads do not contend on its lock per request.
STEP = 50


# --- the model ----------------------------------------------------------------------------------
def train_on_kamado(sm, s3, X: np.ndarray, y: np.ndarray, rounds: int) -> str:
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([y, X]), delimiter=",", fmt="%.10g")
    s3.create_bucket(Bucket="bench")
    s3.put_object(Bucket="bench", Key="train/train.csv", Body=buf.getvalue().encode())
    sm.create_training_job(
        TrainingJobName="bench-serving",
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        HyperParameters={"objective": "binary:logistic", "num_round": str(rounds),
                         "max_depth": "3", "eta": "0.3"},
        InputDataConfig=[{"ChannelName": "train", "ContentType": "text/csv", "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bench/train/"}}}],
        OutputDataConfig={"S3OutputPath": "s3://bench/output"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600})
    while True:
        job = sm.describe_training_job(TrainingJobName="bench-serving")
        if job["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"):
            break
        time.sleep(0.2)
    if job["TrainingJobStatus"] != "Completed":
        raise SystemExit(f"training failed: {job.get('FailureReason')}")
    return job["ModelArtifacts"]["S3ModelArtifacts"]


def fetch_model(s3, uri: str, into: Path) -> Path:
    """The job's model.tar.gz extracted, as an endpoint instance extracts it."""
    bucket, key = uri[len("s3://"):].split("/", 1)
    blob = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into / "xgboost-model"


def deploy(sm, model_uri: str) -> None:
    sm.create_model(ModelName=ENDPOINT, ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": IMAGE, "ModelDataUrl": model_uri})
    sm.create_endpoint_config(EndpointConfigName=ENDPOINT, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": ENDPOINT, "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=ENDPOINT)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=ENDPOINT,
                                              WaiterConfig={"Delay": 1, "MaxAttempts": 300})


# --- servers started here -------------------------------------------------------------------------
def wait_http(port: int, path: str, proc: subprocess.Popen, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} did not answer {path} within {timeout:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    # Both servers fork a child (mlflow: bash → uvicorn); each runs in its own session.
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def start_model_server(job_dir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "SAGEMAKER_BASE_DIR": str(job_dir), "SAGEMAKER_BIND_TO_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "kamado.images.xgboost", "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    wait_http(port, "/ping", proc, 60, "kamado's model server")
    return proc, port


def start_mlflow(booster: xgb.Booster, tmp: Path) -> tuple[subprocess.Popen, int]:
    import mlflow.xgboost

    model_dir = tmp / "mlflow-model"
    # Naming the requirements skips MLflow's inference of them, which loads the model in a
    # subprocess (~20 s here) and is no part of serving.
    mlflow.xgboost.save_model(booster, str(model_dir),
                              pip_requirements=[f"xgboost=={xgb.__version__}"])
    port = free_port()
    # `mlflow models serve` execs `uvicorn` through bash: it must be found on PATH beside
    # this interpreter. Telemetry off: the bench talks to nothing but loopback.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(model_dir),
         "--env-manager", "local", "-p", str(port), "--host", "127.0.0.1"],
        env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    wait_http(port, "/ping", proc, 180, "mlflow models serve")
    return proc, port


# --- clients --------------------------------------------------------------------------------------
class Plain:
    """One kept-alive connection posting one body; a 200 is required."""

    def __init__(self, port: int, path: str, body: bytes, headers: dict[str, str]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.path, self.body, self.headers = path, body, headers

    def __call__(self) -> tuple[float, float]:
        t = time.perf_counter()
        self.conn.request("POST", self.path, body=self.body, headers=self.headers)
        response = self.conn.getresponse()
        answer = response.read()
        elapsed = time.perf_counter() - t
        if response.status != 200:
            raise SystemExit(f"POST {self.path}: {response.status} {answer[:300]!r}")
        return elapsed, 0.0

    def answer(self) -> bytes:
        self.conn.request("POST", self.path, body=self.body, headers=self.headers)
        return self.conn.getresponse().read()


class Signed(Plain):
    """InvokeEndpoint as boto3 sends it, signed anew for every request."""

    def __init__(self, url: str, keys: tuple[str, str], body: bytes) -> None:
        parsed = urllib.parse.urlsplit(url)
        super().__init__(parsed.port, f"/endpoints/{ENDPOINT}/invocations", body, {})
        self.url = f"{url}{self.path}"
        self.credentials = Credentials(*keys)

    def sign(self) -> dict[str, str]:
        request = AWSRequest("POST", self.url, data=self.body,
                             headers={"Content-Type": "text/csv", "Accept": "text/csv"})
        SigV4Auth(self.credentials, "sagemaker", "us-east-1").add_auth(request)
        return dict(request.headers.items())

    def __call__(self) -> tuple[float, float]:
        t = time.perf_counter()
        self.headers = self.sign()
        signed = time.perf_counter()
        elapsed, _ = super().__call__()
        return elapsed, signed - t

    def answer(self) -> bytes:
        self.headers = self.sign()
        return super().answer()


def measure(label: str, make_client, total: int, threads: int, warmup: int, progress,
            task) -> dict:
    """``total`` requests over ``threads`` clients started together, each warmed up first."""
    per = max(1, total // threads)
    callers = [make_client() for _ in range(threads)]
    lat: list[list[float]] = [[] for _ in range(threads)]
    sign: list[list[float]] = [[] for _ in range(threads)]
    gate = threading.Barrier(threads + 1)
    failures: list[BaseException] = []

    def run(i: int) -> None:
        call = callers[i]
        try:
            for _ in range(warmup):
                call()
        finally:
            gate.wait()
        try:
            for n in range(per):
                elapsed, signing = call()
                lat[i].append(elapsed)
                sign[i].append(signing)
                if n % STEP == STEP - 1:
                    progress.advance(task, STEP)
        except BaseException as exc:  # reported below; the others finish their share
            failures.append(exc)

    workers = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    gate.wait()
    started = time.perf_counter()
    for w in workers:
        w.join()
    wall = time.perf_counter() - started
    progress.advance(task, per % STEP * threads)
    if failures:
        raise SystemExit(f"{label}: {failures[0]}")
    return {"lat": [x for part in lat for x in part], "sign": [x for part in sign for x in part],
            "wall": wall}


def combine(parts: list[dict]) -> dict:
    out = summarise([x for p in parts for x in p["lat"]], sum(p["wall"] for p in parts))
    signs = sorted(x for p in parts for x in p["sign"])
    out["sign"] = signs[len(signs) // 2] * 1000
    return out


def direct_client(booster: xgb.Booster, row: np.ndarray):
    def call() -> tuple[float, float]:
        t = time.perf_counter()
        booster.predict(xgb.DMatrix(row))
        return time.perf_counter() - t, 0.0
    return call


# --- kamado's own view of the time --------------------------------------------------------------
def endpoint_metrics(url: str) -> dict[str, float]:
    """p50 ModelLatency / OverheadLatency in ms over the endpoint's last 2048 requests."""
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    out = {}
    for name, key in (("model_latency", "model"), ("overhead_latency", "router")):
        match = re.search(rf'sagemaker_endpoint_{name}_microseconds\{{[^}}]*quantile="0.5"\}} '
                          r"([0-9.]+)", text)
        if match:
            out[key] = float(match.group(1)) / 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000,
                        help="requests per case at concurrency 1 (twice as many above it)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--rounds", type=int, default=20, help="boosting rounds of the model")
    parser.add_argument("--warmup", type=int, default=50, help="requests per client before timing")
    parser.add_argument("--passes", type=int, default=4,
                        help="slices each case's requests are measured in, the cases in turn")
    args = parser.parse_args()

    try:
        import mlflow
    except ImportError:
        raise SystemExit('mlflow is missing: pip install -e ".[bench]"') from None

    X, y = load_breast_cancer(return_X_y=True)
    row = X[:1]
    csv_row = ",".join(f"{v:.10g}" for v in row[0]).encode()
    results: dict[tuple[str, int], dict] = {}
    notes: list[str] = []

    with tempfile.TemporaryDirectory(prefix="kamado-bench-") as tmp_name:
        tmp = Path(tmp_name)
        kamado, url, keys = start_kamado(tmp)
        servers: list[subprocess.Popen] = []
        try:
            sm, s3 = clients(url, keys)
            with console.status("training through CreateTrainingJob, then CreateEndpoint"):
                model_uri = train_on_kamado(sm, s3, X, y, args.rounds)
                job_dir = tmp / "job"
                # Read as bytes: the file has no extension for XGBoost to tell its format by.
                booster = xgb.Booster()
                booster.load_model(bytearray(
                    fetch_model(s3, model_uri, job_dir / "model").read_bytes()))
                deploy(sm, model_uri)
            with console.status("starting kamado's model server alone and mlflow models serve"):
                proc, server_port = start_model_server(job_dir)
                servers.append(proc)
                proc, mlflow_port = start_mlflow(booster, tmp)
                servers.append(proc)

            expected = float(booster.predict(xgb.DMatrix(row))[0])
            csv_headers = {"Content-Type": "text/csv", "Accept": "text/csv"}
            mlflow_csv = (",".join(f"f{i}" for i in range(row.shape[1])).encode()
                          + b"\n" + csv_row)
            mlflow_json = json.dumps({"dataframe_split": {"data": row.tolist()}}).encode()
            formats = {
                "CSV with a header line": (mlflow_csv, {"Content-Type": "text/csv"}),
                "JSON dataframe_split": (mlflow_json, {"Content-Type": "application/json"})}
            # Every server must give the booster's own answer before it is timed.
            answers = {
                "model server": Plain(server_port, "/invocations", csv_row, csv_headers).answer(),
                "kamado": Signed(url, keys, csv_row).answer()}
            for name, (body, headers) in formats.items():
                answers[f"mlflow {name}"] = Plain(mlflow_port, "/invocations", body,
                                                  headers).answer()
            for name, answer in answers.items():
                number = re.search(rb"[0-9][0-9.eE+-]{3,}", answer)
                if number is None or abs(float(number.group()) - expected) > 1e-6:
                    raise SystemExit(f"{name} answered {answer!r}; the booster says {expected}")

            runtime = boto3.client(
                "sagemaker-runtime", endpoint_url=url, region_name="us-east-1",
                aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
                config=BotoConfig(retries={"max_attempts": 1}))

            def boto3_client():
                def call() -> tuple[float, float]:
                    t = time.perf_counter()
                    runtime.invoke_endpoint(EndpointName=ENDPOINT, ContentType="text/csv",
                                            Accept="text/csv", Body=csv_row)["Body"].read()
                    return time.perf_counter() - t, 0.0
                return call

            # Two cores are shared by client and servers: anything else running skews every row.
            notes.append(f"load average before measuring: {os.getloadavg()[0]:.2f} "
                         f"on {os.cpu_count()} CPUs")
            with Progress(console=console, transient=True) as progress:
                probe = {}
                for name, (body, headers) in formats.items():
                    n = max(200, args.requests // 10)
                    task = progress.add_task(f"mlflow probe: {name}", total=n)
                    probe[name] = combine([measure(
                        name, lambda b=body, h=headers: Plain(mlflow_port, "/invocations", b, h),
                        n, 1, args.warmup, progress, task)])
                mlflow_format = min(probe, key=lambda name: probe[name]["p50"])
                body, headers = formats[mlflow_format]
                notes.append("mlflow request format: " + "; ".join(
                    f"{name} p50 {r['p50']:.2f} ms" for name, r in probe.items())
                    + f" → {mlflow_format}")
                cases = {
                    "direct predict": lambda: direct_client(booster, row),
                    "model server": lambda: Plain(server_port, "/invocations", csv_row,
                                                  csv_headers),
                    "kamado": lambda: Signed(url, keys, csv_row),
                    "boto3": boto3_client,
                    "mlflow": lambda: Plain(mlflow_port, "/invocations", body, headers)}
                for c in args.concurrency:
                    n = args.requests if c == 1 else args.requests * 2
                    chosen = {name: make for name, make in cases.items()
                              if c == 1 or name != "boto3"}
                    tasks = {name: progress.add_task(f"{name} ×{c}", total=n) for name in chosen}
                    parts: dict[str, list[dict]] = {name: [] for name in chosen}
                    # The cases take turns, a slice each, so that whatever else the machine
                    # does meanwhile falls on all of them alike.
                    for _ in range(args.passes):
                        for name, make in chosen.items():
                            parts[name].append(measure(name, make, n // args.passes, c,
                                                       args.warmup, progress, tasks[name]))
                    for name in chosen:
                        results[(name, c)] = combine(parts[name])
                    if c == 1:
                        results[("kamado", c)]["metrics"] = endpoint_metrics(url)
        finally:
            for proc in servers:
                stop(proc)
            kamado.terminate()
            kamado.wait(30)

    report(results, args.concurrency, notes, mlflow.__version__)


def report(results: dict, levels: list[int], notes: list[str], mlflow_version: str) -> None:
    names = list(dict.fromkeys(name for name, _ in results))
    table = Table(title="One CSV row through one XGBoost model, kept-alive HTTP clients")
    for col in ("case", "clients", "p50 ms", "p99 ms", "req/s", "sign ms", "vs mlflow"):
        table.add_column(col, justify="left" if col == "case" else "right")
    for c in levels:
        for name in names:
            r = results.get((name, c))
            if r is None:
                continue
            base = results[("mlflow", c)]["rps"]
            table.add_row(name, str(c), f"{r['p50']:.2f}", f"{r['p99']:.2f}", f"{r['rps']:.0f}",
                          f"{r['sign']:.2f}" if r["sign"] else "",
                          f"{r['rps'] / base:.2f}x", end_section=name == names[-1])
    console.print(table)
    console.print("direct predict: Booster.predict(DMatrix(row)) in this process; model server: "
                  "kamado's XGBoost serve program on its own port; kamado: InvokeEndpoint, "
                  "signed per request (latency without signing, req/s with it); boto3: "
                  f"invoke_endpoint; mlflow: mlflow models serve {mlflow_version}, 1 worker")
    for note in notes:
        console.print(note)

    k1 = results[("kamado", 1)]
    added = k1["p50"] - results[("direct predict", 1)]["p50"]
    verdict = "met" if added < 2 else f"missed by {added - 2:.2f} ms"
    console.print(f"kamado's added p50 latency (InvokeEndpoint − direct predict, 1 client): "
                  f"{added:.2f} ms (target < 2 ms: {verdict}); with signing "
                  f"{added + k1['sign']:.2f} ms")
    top = max(levels)
    ratio = results[("kamado", top)]["rps"] / results[("mlflow", top)]["rps"]
    verdict = "met" if ratio >= 2 else f"missed: {ratio / 2:.0%} of the target"
    console.print(f"throughput at concurrency {top} vs MLflow: {ratio:.2f}x (target >= 2x: "
                  f"{verdict})")

    alone = results[("model server", 1)]["p50"]
    m = k1.get("metrics", {})
    if "model" in m and "router" in m:
        gateway = k1["p50"] - m["model"] - m["router"]
        console.print(
            f"where kamado's p50 goes at 1 client ({k1['p50']:.2f} ms): model server round trip "
            f"from the router {m['model']:.2f} ms (alone, from this client: {alone:.2f} ms), "
            f"router {m['router']:.2f} ms, gateway and client hop {gateway:.2f} ms; "
            f"client-side signing {k1['sign']:.2f} ms")
    print(f"RESULT added p50 latency ms = {added:.2f}")
    print(f"RESULT throughput c={top} kamado/mlflow = {ratio:.2f}")


if __name__ == "__main__":
    main()
