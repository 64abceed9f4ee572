"""The classic built-in algorithms: training throughput and inference latency on kamado against
the underlying library called directly, side by side in one run.

    pip install -e ".[bench]" && python bench/algorithms.py [--only kmeans pca] [--repeat 2]

Each algorithm's cases live in ``bench/algorithm_cases/<algorithm>.py`` (data, hyperparameters,
and the library call a user would otherwise make). For every case:

  * training, direct as a script — the library fitted on the same file, read the way a user
    would, with the same settings, in a fresh Python process that has already imported the
    libraries (``LIBRARIES`` of the case's module), as a user's script would run it; only the
    fit is timed. A kamado job also runs in a fresh process (forked from its image's fork
    server, which has imported the same libraries), so the two pay the same for first touching
    memory, which on some machines (sandboxed VMs) costs as much as the arithmetic;
  * training, direct in a warm process — the same call repeated in this long-lived process
    (a notebook's second fit), shown beside it: its memory is already mapped;
  * training, kamado — CreateTrainingJob with the built-in image on that file (already in
    kamado's S3) until Completed with model.tar.gz uploaded: from the call to the job's
    TrainingEndTime, i.e. what a user waits. rows/s on every side; a ratio is kamado's
    rows/s over a direct one (target >= 0.8 against the script);
  * inference — the same one-record request through InvokeEndpoint (boto3, the endpoint warm)
    against the direct model's prediction of that record: p50 of each and what kamado adds.

Each case is sized so that its direct fit takes about a second or more: a rate measured over
less is mostly the fixed cost of a job (the API call, the status writes, starting the program,
packing the model; about 0.1 s), which the table prints on its own as "kamado adds s" — kamado's
seconds minus the script's — so neither figure hides the other.

Every side takes the best of ``--repeat`` runs, so a hiccup of the shared machine on one run
does not decide the figure. The first job of each image also starts that image's fork server
(kamado.engine.forkserver); a warm-up job per image runs first and is not counted, as a user's
second job would not pay it either.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from gateway import clients, start_kamado, wait_training_job

sys.path.insert(0, str(Path(__file__).parent))
from algorithm_cases import Case, Data  # noqa: E402

console = Console()
ROLE = "arn:aws:iam::000000000000:role/bench"
BUCKET = "bench"
MODULES = ("kmeans", "pca", "knn", "random_cut_forest", "factorization_machines", "ip_insights",
           "lda", "blazingtext", "lightgbm_tabular", "catboost_tabular")


def load_cases(only: list[str] | None) -> list[tuple[str, int, Case]]:
    """(module, index in its CASES, case) of every case to run."""
    cases = []
    for name in MODULES:
        if only and name not in only:
            continue
        try:
            module = importlib.import_module(f"algorithm_cases.{name}")
        except ModuleNotFoundError as exc:
            console.print(f"[yellow]skipping {name}: {exc}[/yellow]")
            continue
        cases += [(name, i, case) for i, case in enumerate(module.CASES)]
    return cases


def fit_as_script(module: str, index: int, paths: dict[str, Path]) -> float:
    """Seconds of one case's direct fit in a fresh process (see the module's docstring)."""
    done = subprocess.run(
        [sys.executable, __file__, "--fit-as-script", module, str(index),
         json.dumps({k: str(v) for k, v in paths.items()})],
        capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"the direct fit of {module}[{index}] failed:\n{done.stderr}")
    return float(done.stdout.split()[-1])


def _fit_as_script(module: str, index: str, paths: str) -> None:
    """In the fresh process: import what the case imports, then time its fit alone."""
    cases = importlib.import_module(f"algorithm_cases.{module}")
    for name in cases.LIBRARIES:
        importlib.import_module(name)
    case = cases.CASES[int(index)]
    files = {k: Path(v) for k, v in json.loads(paths).items()}
    started = time.perf_counter()
    case.fit(files)
    print(time.perf_counter() - started)


def upload(s3, prefix: str, data: Data) -> list[dict]:
    channels = []
    for channel, body in data.files.items():
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{channel}/data", Body=body)
        entry = {"ChannelName": channel, "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}/{channel}/"}}}
        if data.content_type is not None:
            entry["ContentType"] = data.content_type
        channels.append(entry)
    return channels


def train(sm, name: str, case: Case, channels: list[dict]) -> tuple[float, dict]:
    started = time.time()
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": case.image, "TrainingInputMode": "File"},
        RoleArn=ROLE, HyperParameters=case.hyperparameters, InputDataConfig=channels,
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/output"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 3600})
    job = wait_training_job(sm, name)
    return job["TrainingEndTime"].timestamp() - started, job


def deploy(sm, name: str, case: Case, job: dict) -> None:
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": case.image, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    while (status := sm.describe_endpoint(EndpointName=name)["EndpointStatus"]) not in (
            "InService", "Failed"):
        time.sleep(0.1)
    if status != "InService":
        raise SystemExit(f"endpoint {name} failed")


def latencies(fn, n: int) -> list[float]:
    for _ in range(5):  # warm: connections, caches
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    if sys.argv[1:2] == ["--fit-as-script"]:
        return _fit_as_script(*sys.argv[2:5])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", help=f"modules among {', '.join(MODULES)}")
    parser.add_argument("--repeat", type=int, default=2, help="runs per side (best is kept)")
    parser.add_argument("--requests", type=int, default=100, help="invocations per case")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply each case's rows")
    args = parser.parse_args()
    cases = load_cases(args.only)
    if not cases:
        raise SystemExit("no cases to run")

    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        proc, endpoint, keys = start_kamado(tmp)
        try:
            sm, s3 = clients(endpoint, keys)
            rt = boto3.client("sagemaker-runtime", endpoint_url=endpoint,
                              region_name="us-east-1", aws_access_key_id=keys[0],
                              aws_secret_access_key=keys[1])
            s3.create_bucket(Bucket=BUCKET)
            warmed: set[str] = set()
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("algorithms", total=len(cases))
                for index, (module, number, case) in enumerate(cases):
                    n = max(1, int(case.rows * args.scale))
                    progress.update(task, description=f"{case.name}: data ({n:,} rows)")
                    data = case.make(n, 0)
                    prefix = f"case-{index}"
                    channels = upload(s3, prefix, data)
                    paths = {}
                    for channel, body in data.files.items():
                        path = tmp / prefix / channel / "data"
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_bytes(body)
                        paths[channel] = path
                    if case.image not in warmed:
                        progress.update(task, description=f"{case.name}: warm-up job")
                        train(sm, f"warm-{index}", case, channels)
                        warmed.add(case.image)
                    script_times, direct_times, kamado_times = [], [], []
                    model = job = None
                    for i in range(args.repeat):
                        progress.update(task, description=f"{case.name}: script #{i + 1}")
                        script_times.append(fit_as_script(module, number, paths))
                        progress.update(task, description=f"{case.name}: direct #{i + 1}")
                        t = time.perf_counter()
                        model = case.fit(paths)
                        direct_times.append(time.perf_counter() - t)
                        progress.update(task, description=f"{case.name}: kamado #{i + 1}")
                        seconds, job = train(sm, f"bench-{index}-{i}", case, channels)
                        kamado_times.append(seconds)
                    progress.update(task, description=f"{case.name}: endpoint")
                    deploy(sm, f"bench-{index}", case, job)
                    served = latencies(lambda: rt.invoke_endpoint(
                        EndpointName=f"bench-{index}", Body=data.request,
                        ContentType=data.request_type, Accept=data.accept)["Body"].read(),
                        args.requests)
                    direct = latencies(lambda: case.predict(model, data.request), args.requests)
                    sm.delete_endpoint(EndpointName=f"bench-{index}")
                    rows.append((case, n, min(script_times), min(direct_times), min(kamado_times),
                                 statistics.median(direct) * 1000,
                                 statistics.median(served) * 1000))
                    progress.advance(task)
        finally:
            proc.terminate()
            proc.wait(30)

    table = Table(title="Built-in algorithms on kamado vs the library called directly "
                        f"(best of {args.repeat})")
    for col in ("algorithm", "rows", "script rows/s", "warm rows/s", "kamado rows/s",
                "ratio vs script", "ratio vs warm", "kamado adds s", "direct p50 ms",
                "kamado p50 ms"):
        table.add_column(col, justify="right")
    for case, n, script_s, direct_s, kamado_s, direct_ms, served_ms in rows:
        table.add_row(case.name, f"{n:,}", f"{n / script_s:,.0f}", f"{n / direct_s:,.0f}",
                      f"{n / kamado_s:,.0f}", f"{script_s / kamado_s:.2f}",
                      f"{direct_s / kamado_s:.2f}", f"{kamado_s - script_s:+.2f}",
                      f"{direct_ms:.2f}", f"{served_ms:.2f}")
    console.print(table)
    for case, *_ in rows:
        if case.notes:
            console.print(f"[dim]{case.name}: {case.notes}[/dim]")
    for label, column in (("script", 2), ("warm process", 3)):
        worst = min(rows, key=lambda r: r[column] / r[4])
        console.print(f"lowest training ratio against the {label}: "
                      f"{worst[column] / worst[4]:.2f} ({worst[0].name})")
    console.print("target >= 0.8 against the script")


if __name__ == "__main__":
    main()
