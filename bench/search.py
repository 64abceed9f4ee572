"""Search over many training jobs: kamado's Search against what a user would otherwise do.

    pip install -e ".[bench]" && python bench/search.py [--jobs 10000] [--runs 30]
                                                        [--postgres URL] [--baseline-runs 1]

It writes ``--jobs`` completed training jobs straight into a fresh store through kamado's store
API (``Resources.create`` with the document the training provider keeps, and
``MetricStore.put`` with ten points of ``validation:auc`` and ``train:loss`` each, as a job's
log would), starts a real ``kamado server`` on that store and, through boto3:

  * times ``Search`` (p50 and p90 over ``--runs`` calls, after warm-up) for the target query —
    ``Metrics.validation:auc GreaterThan 0.9``, sorted by that metric, descending, MaxResults
    50 (target: p50 under 100 ms) — and three more: a hyperparameter range sorted by the
    metric, a tag and status filter sorted by CreationTime, and a filter on a computed
    property (TrainingTimeInSeconds) that kamado evaluates in Python on rendered records;
  * times the same answer the way a user would get it without Search: ListTrainingJobs to the
    end, DescribeTrainingJob for every job (one after the other, and on 8 threads), keep the
    jobs whose final validation:auc is above 0.9, sort, take 50 — and checks both agree.

It runs on SQLite and, with ``--postgres URL`` (or KAMADO_TEST_DATABASE_URL; a fresh schema is
made, ANALYZEd after the load as autovacuum would, and dropped), on Postgres too, and prints the
figures side by side with the ratio baseline / Search. ``BENCH_SERVER_LOG=FILE`` keeps the
servers' request logs (each request's server-side duration).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from gateway import clients, free_port, wait_port

console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 150)
ACCOUNT, REGION = "000000000000", "us-east-1"
KEYS = ("AKIABENCHBENCHBENCH0", "bench-secret-bench-secret-bench-secret00")
METRIC = "validation:auc"
TARGET_MS = 100.0

QUERIES = {
    "metric > 0.9, sort by metric (target)": dict(
        SearchExpression={"Filters": [{"Name": f"Metrics.{METRIC}", "Operator": "GreaterThan",
                                       "Value": "0.9"}]},
        SortBy=f"Metrics.{METRIC}", SortOrder="Descending", MaxResults=50),
    "eta < 0.1 and max_depth >= 8, sort by metric": dict(
        SearchExpression={"Filters": [
            {"Name": "HyperParameters.eta", "Operator": "LessThan", "Value": "0.1"},
            {"Name": "HyperParameters.max_depth", "Operator": "GreaterThanOrEqualTo",
             "Value": "8"}]},
        SortBy=f"Metrics.{METRIC}", SortOrder="Descending", MaxResults=50),
    "tag team=t1 and Completed, sort by CreationTime": dict(
        SearchExpression={"Filters": [
            {"Name": "Tags.team", "Operator": "Equals", "Value": "t1"},
            {"Name": "TrainingJobStatus", "Operator": "Equals", "Value": "Completed"}]},
        SortBy="CreationTime", SortOrder="Descending", MaxResults=50),
    "TrainingTimeInSeconds > 590 (Python fallback)": dict(
        SearchExpression={"Filters": [{"Name": "TrainingTimeInSeconds",
                                       "Operator": "GreaterThan", "Value": "590"}]},
        MaxResults=50),
}


# --- the store -----------------------------------------------------------------------------------

def seed(url: str, jobs: int, progress) -> None:
    """``jobs`` completed training jobs with hyperparameters, tags and metric series, written
    through kamado's store API in transactions of 500."""
    from kamado.services.base import RequestContext
    from kamado.store.database import Database
    from kamado.store.metrics import MetricPoint, MetricStore
    from kamado.store.resources import Resources

    db = Database(url)
    db.upgrade()
    resources, metrics = Resources(db), MetricStore(db)
    ctx = RequestContext(ACCOUNT, REGION)
    rng = random.Random(0)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    task = progress.add_task(f"writing {jobs:,} training jobs", total=jobs)
    for first in range(0, jobs, 500):
        with db.session():
            for i in range(first, min(jobs, first + 500)):
                name = f"bench-job-{i:05d}"
                arn = ctx.arn("sagemaker", f"training-job/{name}")
                began = start + dt.timedelta(minutes=i)
                data = {
                    "TrainingJobName": name,
                    "AlgorithmSpecification": {
                        "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/"
                                         "sagemaker-xgboost:1.7-1",
                        "TrainingInputMode": "File", "MetricDefinitions": []},
                    "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/bench",
                    "HyperParameters": {"objective": "binary:logistic", "num_round": "50",
                                        "eta": f"{rng.uniform(0.01, 0.5):.3f}",
                                        "max_depth": str(rng.randint(1, 10))},
                    "InputDataConfig": [{"ChannelName": ch, "ContentType": "text/csv",
                                         "DataSource": {"S3DataSource": {
                                             "S3DataType": "S3Prefix",
                                             "S3Uri": f"s3://bench/data/{ch}/"}}}
                                        for ch in ("train", "validation")],
                    "OutputDataConfig": {"S3OutputPath": "s3://bench/output",
                                         "CompressionType": "GZIP", "KmsKeyId": ""},
                    "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1,
                                       "VolumeSizeInGB": 5},
                    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
                    "EnableNetworkIsolation": False,
                    "EnableInterContainerTrafficEncryption": False,
                    "EnableManagedSpotTraining": False,
                    "SecondaryStatus": "Completed",
                    "TrainingStartTime": began,
                    "TrainingEndTime": began + dt.timedelta(seconds=rng.randint(60, 600)),
                    "ModelArtifacts": {"S3ModelArtifacts": f"s3://bench/output/{name}/output/"
                                                          "model.tar.gz"}}
                resources.create(ctx, "TrainingJob", name, arn, data, status="Completed",
                                 creation_time=began,
                                 tags=[{"Key": "team", "Value": f"t{i % 4}"}])
                auc = rng.random()
                metrics.put(arn, [MetricPoint(m, round(v * (k + 1) / 10, 6), 1000 * k, k)
                                  for k in range(10)
                                  for m, v in ((METRIC, auc), ("train:loss", 1 - auc))])
            progress.advance(task, min(jobs, first + 500) - first)
    if db.dialect == "postgresql":
        # What autovacuum does on its own within a minute of a bulk load: without statistics
        # the planner guesses, and the first searches would measure its guesses.
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
    db.close()


def fresh_postgres_schema(base_url: str):
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base_url else "?"

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return f"{base_url}{sep}options=-csearch_path%3D{schema}", drop


def start_server(home: Path, url: str):
    port = free_port()
    env = {**os.environ, "KAMADO_HOME": str(home), "KAMADO_PORT": str(port),
           "KAMADO_DATABASE_URL": url, "KAMADO_WRITE_AWS_PROFILE": "false",
           "KAMADO_ACCESS_KEY_ID": KEYS[0], "KAMADO_SECRET_ACCESS_KEY": KEYS[1]}
    log = os.environ.get("BENCH_SERVER_LOG")
    proc = subprocess.Popen([sys.executable, "-m", "kamado.cli.main", "server", "--log-level",
                             "INFO" if log else "WARNING"], env=env,
                            stdout=open(log, "ab") if log else subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    wait_port(port, proc)
    return proc, f"http://127.0.0.1:{port}"


# --- measuring -----------------------------------------------------------------------------------

def timed_search(sm, query: dict, runs: int) -> tuple[dict, list[float]]:
    for _ in range(5):  # warm up: connections, statement caches
        answer = sm.search(Resource="TrainingJob", **query)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        answer = sm.search(Resource="TrainingJob", **query)
        times.append((time.perf_counter() - t) * 1000)
    return answer, times


def baseline(sm, threads: int) -> tuple[list[str], float]:
    """ListTrainingJobs to the end, DescribeTrainingJob for each, filter and sort here."""
    t = time.perf_counter()
    names, token = [], None
    while True:
        page = sm.list_training_jobs(MaxResults=100, **({"NextToken": token} if token else {}))
        names += [j["TrainingJobName"] for j in page["TrainingJobSummaries"]]
        token = page.get("NextToken")
        if not token:
            break

    def final_auc(name: str):
        job = sm.describe_training_job(TrainingJobName=name)
        for m in job.get("FinalMetricDataList") or []:
            if m["MetricName"] == METRIC:
                return m["Value"], name
        return None, name
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            found = list(pool.map(final_auc, names))
    else:
        found = [final_auc(n) for n in names]
    best = sorted((v, n) for v, n in found if v is not None and v > 0.9)[::-1][:50]
    return [n for _, n in best], time.perf_counter() - t


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def run_backend(label: str, url: str, home: Path, args, progress) -> dict:
    seed(url, args.jobs, progress)
    proc, endpoint = start_server(home, url)
    out = {"queries": {}, "baseline": {}}
    try:
        sm, _ = clients(endpoint, KEYS)
        task = progress.add_task(f"{label}: Search", total=len(QUERIES))
        for name, query in QUERIES.items():
            answer, times = timed_search(sm, query, args.runs)
            out["queries"][name] = {"p50": statistics.median(times), "p90": p(times, 0.9),
                                    "hits": answer["TotalHits"],
                                    "first": [r["TrainingJob"]["TrainingJobName"]
                                              for r in answer["Results"]]}
            progress.advance(task)
        target = out["queries"][next(iter(QUERIES))]["first"]
        task = progress.add_task(f"{label}: ListTrainingJobs + DescribeTrainingJob x{args.jobs:,}",
                                 total=2 * args.baseline_runs)
        for threads in (1, 8):
            seconds = []
            for _ in range(args.baseline_runs):
                names, took = baseline(sm, threads)
                if names != target:
                    raise SystemExit(f"{label}: the baseline's top 50 differ from Search's")
                seconds.append(took)
                progress.advance(task)
            out["baseline"][threads] = statistics.median(seconds)
    finally:
        proc.terminate()
        proc.wait(30)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30, help="timed Search calls per query")
    parser.add_argument("--baseline-runs", type=int, default=1)
    parser.add_argument("--postgres", default=os.environ.get("KAMADO_TEST_DATABASE_URL", ""),
                        help="a Postgres URL (postgresql+psycopg://...) to run on as well")
    args = parser.parse_args()

    results = {}
    with tempfile.TemporaryDirectory(prefix="kamado-bench-search-") as tmp_name:
        tmp = Path(tmp_name)
        with Progress(console=console, transient=True) as progress:
            results["SQLite"] = run_backend("SQLite", f"sqlite:///{tmp / 'sqlite.db'}",
                                            tmp / "home-sqlite", args, progress)
            if args.postgres:
                url, drop = fresh_postgres_schema(args.postgres)
                try:
                    results["Postgres"] = run_backend("Postgres", url, tmp / "home-pg", args,
                                                      progress)
                finally:
                    drop()

    backends = list(results)
    table = Table(title=f"Search over {args.jobs:,} training jobs through boto3 "
                        f"(p50 / p90 of {args.runs} calls, ms)")
    table.add_column("query", justify="left")
    for b in backends:
        table.add_column(f"{b} p50", justify="right")
        table.add_column(f"{b} p90", justify="right")
        table.add_column(f"{b} hits", justify="right")
    for name in QUERIES:
        row = [name]
        for b in backends:
            q = results[b]["queries"][name]
            hits = q["hits"]
            row += [f"{q['p50']:.1f}", f"{q['p90']:.1f}",
                    f"{'≥' if hits['Relation'] != 'EqualTo' else ''}{hits['Value']:,}"]
        table.add_row(*row)
    console.print(table)

    table = Table(title="The target query: Search against ListTrainingJobs + DescribeTrainingJob "
                        "per job, filtered and sorted client-side")
    for col in ("backend", "Search p50 (ms)", "target (ms)", "p50 / target",
                "List+Describe (s)", "ratio", "List+Describe 8 threads (s)", "ratio"):
        table.add_column(col, justify="left" if col == "backend" else "right")
    target = next(iter(QUERIES))
    for b in backends:
        s = results[b]["queries"][target]["p50"]
        one, eight = results[b]["baseline"][1], results[b]["baseline"][8]
        table.add_row(b, f"{s:.1f}", f"{TARGET_MS:.0f}", f"{s / TARGET_MS:.2f}", f"{one:.1f}",
                      f"{one * 1000 / s:,.0f}x", f"{eight:.1f}", f"{eight * 1000 / s:,.0f}x")
    console.print(table)
    for b in backends:
        s = results[b]["queries"][target]["p50"]
        print(f"RESULT Search p50 [{b}] = {s:.1f} ms (target < {TARGET_MS:.0f} ms); "
              f"List+Describe / Search = {results[b]['baseline'][1] * 1000 / s:,.0f}x")


if __name__ == "__main__":
    main()
