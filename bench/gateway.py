"""Gateway throughput and latency: kamado against moto_server, side by side in one run.

    pip install -e ".[bench]" && python bench/gateway.py [--requests 500] [--threads 4]

For each server it measures, through real boto3 clients on loopback:
  * DescribeExperiment (a small control-plane call), sequential and with N threads;
  * PutObject and GetObject of a 1 MB object.
It prints requests/second and p50/p99 latency per server and the ratio kamado / moto
(> 1 means kamado is faster). kamado runs twice: as configured by default (object writes atomic
and safe from a killed server, which moto, keeping objects in memory, does not give) and with
KAMADO_OBJECT_FSYNC=true (every object write fsync'd, so it survives power loss too).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

console = Console()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def start_kamado(tmp: Path, fsync: bool = False):
    port = free_port()
    env = {**os.environ, "KAMADO_HOME": str(tmp / f"kamado-{fsync}"), "KAMADO_PORT": str(port),
           "KAMADO_OBJECT_FSYNC": str(fsync).lower(),
           "KAMADO_WRITE_AWS_PROFILE": "false", "KAMADO_ACCESS_KEY_ID": "AKIABENCHBENCHBENCH0",
           "KAMADO_SECRET_ACCESS_KEY": "bench-secret-bench-secret-bench-secret00"}
    proc = subprocess.Popen([sys.executable, "-m", "kamado.cli.main", "server", "--log-level", "WARNING"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, proc)
    return proc, f"http://127.0.0.1:{port}", ("AKIABENCHBENCHBENCH0", "bench-secret-bench-secret-bench-secret00")


def start_moto(tmp: Path):
    port = free_port()
    exe = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    proc = subprocess.Popen([exe, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, proc)
    return proc, f"http://127.0.0.1:{port}", ("testing", "testing")


def clients(endpoint: str, keys: tuple[str, str]):
    cfg = BotoConfig(retries={"max_attempts": 1}, max_pool_connections=32)
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=keys[0],
              aws_secret_access_key=keys[1], config=cfg)
    return boto3.client("sagemaker", **kw), boto3.client("s3", **kw)


def wait_training_job(sm, name: str) -> dict:
    """The Completed DescribeTrainingJob of ``name``; exits with its reason otherwise."""
    while True:
        job = sm.describe_training_job(TrainingJobName=name)
        if job["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"):
            break
        # A tight poll would take CPU from the job it waits for (two cores here, and OpenMP
        # code such as faiss stalls at its barriers when a thread loses its core); the moment
        # the job completed is on the job itself, so a relaxed poll loses no precision.
        time.sleep(0.5)
    if job["TrainingJobStatus"] != "Completed":
        raise SystemExit(f"{name}: {job['TrainingJobStatus']}: {job.get('FailureReason')}")
    return job


def timed(fn, n: int, progress, task) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
        progress.advance(task)
    return out


def summarise(lat: list[float], wall: float | None = None) -> dict:
    lat = sorted(lat)
    return {"rps": len(lat) / (wall if wall else sum(lat)),
            "p50": statistics.median(lat) * 1000,
            "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000}


def run_suite(name: str, endpoint: str, keys, n: int, threads: int, progress) -> dict:
    sm, s3 = clients(endpoint, keys)
    sm.create_experiment(ExperimentName="bench-exp")
    s3.create_bucket(Bucket="bench-bucket")
    blob = os.urandom(1024 * 1024)
    results = {}
    task = progress.add_task(f"{name}: DescribeExperiment", total=n)
    for _ in range(20):  # warm up connections and caches
        sm.describe_experiment(ExperimentName="bench-exp")
    results["DescribeExperiment"] = summarise(
        timed(lambda: sm.describe_experiment(ExperimentName="bench-exp"), n, progress, task))

    task = progress.add_task(f"{name}: DescribeExperiment x{threads} threads", total=n)
    per = max(1, n // threads)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        lats = pool.map(lambda _: timed(lambda: sm.describe_experiment(ExperimentName="bench-exp"),
                                        per, progress, task), range(threads))
        lat = [x for part in lats for x in part]
    results[f"DescribeExperiment x{threads}"] = summarise(lat, time.perf_counter() - t0)

    m = max(10, n // 2)
    task = progress.add_task(f"{name}: PutObject 1 MB", total=m)
    results["PutObject 1MB"] = summarise(
        timed(lambda: s3.put_object(Bucket="bench-bucket", Key="obj", Body=blob), m, progress, task))
    task = progress.add_task(f"{name}: GetObject 1 MB", total=m)

    def get():
        body = s3.get_object(Bucket="bench-bucket", Key="obj")["Body"].read()
        assert len(body) == len(blob)
    results["GetObject 1MB"] = summarise(timed(get, m, progress, task))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kamado-bench-"))
    servers = {"kamado": start_kamado,
               "kamado fsync": lambda tmp: start_kamado(tmp, fsync=True),
               "moto": start_moto}
    results = {}
    with Progress(console=console, transient=True) as progress:
        for name, start in servers.items():
            proc, endpoint, keys = start(tmp)
            try:
                results[name] = run_suite(name, endpoint, keys, args.requests, args.threads, progress)
            finally:
                proc.terminate()
                proc.wait(30)
    shutil.rmtree(tmp, ignore_errors=True)

    table = Table(title=f"kamado vs moto_server ({args.requests} requests per control-plane case)")
    for col in ("case", "server", "rps", "p50 ms", "p99 ms", "rps vs moto"):
        table.add_column(col, justify="left" if col in ("case", "server") else "right")
    for case in results["moto"]:
        moto_rps = results["moto"][case]["rps"]
        for name in servers:
            r = results[name][case]
            table.add_row(case if name == "kamado" else "", name, f"{r['rps']:.0f}",
                          f"{r['p50']:.2f}", f"{r['p99']:.2f}", f"{r['rps'] / moto_rps:.2f}x",
                          end_section=name == "moto")
    console.print(table)
    for name in ("kamado", "kamado fsync"):
        for case, k in results[name].items():
            ratio = k["rps"] / results["moto"][case]["rps"]
            print(f"RESULT {case} [{name}]: kamado/moto throughput ratio = {ratio:.2f}")


if __name__ == "__main__":
    main()
