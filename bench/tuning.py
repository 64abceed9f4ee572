"""Automatic model tuning: kamado's Bayesian strategy against Random search, side by side.

It runs both in one run, and measures what a tuning job adds to the training jobs it runs.

    pip install -e ".[bench]" && python bench/tuning.py [--seeds 5] [--trials 20] [--quick]

On three datasets bundled with scikit-learn, each split 70/30 into train and validation CSVs in
kamado's S3 and trained with the built-in XGBoost image (``--rounds`` boosting rounds):
  * breast cancer (569 rows, 30 features): ``binary:logistic``, maximize ``validation:auc``;
  * diabetes (442 rows, 10 features): ``reg:squarederror``, minimize ``validation:rmse``;
  * digits (1,797 8x8 images, 10 classes): ``multi:softprob``, minimize ``validation:mlogloss``
    (chosen over wine, whose 178 rows would leave a 54-row validation set).
For each dataset, strategy (Bayesian, Random) and RandomSeed (1..``--seeds``) it runs one
tuning job of ``--trials`` training jobs, ``--parallel`` at a time, over eta (log), max_depth,
min_child_weight (log), subsample, lambda (log) and alpha (log); the same seed gives both
strategies the same random start. A seed's two tuning jobs run side by side (``--concurrent``)
with kamado's defaults: the engine gives concurrent jobs their share of the cores, and the
built-in XGBoost as many threads as its share (``--nthread N`` sets XGBoost's own instead).

It prints, per dataset, the mean (± standard deviation across seeds) of the best objective
each strategy found, the untuned model's objective (XGBoost's defaults: what a user gets
without tuning), in how many seeds Bayesian did at least as well as Random, and the ratio
Bayesian / Random of the mean best *loss* (rmse, mlogloss, 1 - auc; lower is better, < 1 means
Bayesian found better models; target: <= 1 on every dataset). Then the per-trial overhead:
with one training job at a time, the gap between a training job's TrainingEndTime and the next
one's CreationTime (the driver noticing the end, asking the sampler, recording the job),
median and p90 over every gap (target < 1 s), beside the gap to the next one's
TrainingStartTime and the training jobs' own duration. And the whole run's wall time.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gateway import clients, start_kamado

# Written to a file or a pipe, the tables keep their columns rather than wrap at 80.
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 140)
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::000000000000:role/bench"
STRATEGIES = ("Random", "Bayesian")
FINAL = ("Completed", "Failed", "Stopped")
RANGES = {
    "ContinuousParameterRanges": [
        {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Logarithmic"},
        {"Name": "min_child_weight", "MinValue": "0.1", "MaxValue": "20",
         "ScalingType": "Logarithmic"},
        {"Name": "subsample", "MinValue": "0.5", "MaxValue": "1.0", "ScalingType": "Linear"},
        {"Name": "lambda", "MinValue": "0.01", "MaxValue": "10", "ScalingType": "Logarithmic"},
        {"Name": "alpha", "MinValue": "0.001", "MaxValue": "10", "ScalingType": "Logarithmic"}],
    "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "1", "MaxValue": "10"}]}


@dataclass
class Dataset:
    name: str
    load: str  # the sklearn.datasets loader
    static: dict  # static hyperparameters
    metric: str
    maximize: bool
    classify: bool

    @property
    def goal(self) -> str:
        return f"{'max' if self.maximize else 'min'} {self.metric.partition(':')[2]}"

    def loss(self, value: float) -> float:
        """Lower is better: the metric itself, or its distance to a perfect AUC."""
        return 1.0 - value if self.maximize else value


DATASETS = (
    Dataset("breast cancer", "load_breast_cancer",
            {"objective": "binary:logistic", "eval_metric": "auc"}, "validation:auc", True, True),
    Dataset("diabetes", "load_diabetes",
            {"objective": "reg:squarederror", "eval_metric": "rmse"}, "validation:rmse", False,
            False),
    Dataset("digits", "load_digits",
            {"objective": "multi:softprob", "num_class": "10", "eval_metric": "mlogloss"},
            "validation:mlogloss", False, True),
)


@dataclass
class Run:
    dataset: Dataset
    strategy: str
    seed: int
    name: str
    best: float | None = None
    jobs: list[dict] = field(default_factory=list)
    status: str = ""


def csv_bytes(X, y) -> bytes:
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([y, X]), delimiter=",", fmt="%.8g")
    return buf.getvalue().encode()


def upload(s3, d: Dataset, key: str) -> None:
    import sklearn.datasets
    from sklearn.model_selection import train_test_split

    X, y = getattr(sklearn.datasets, d.load)(return_X_y=True)
    X_train, X_valid, y_train, y_valid = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y if d.classify else None)
    s3.put_object(Bucket="bench", Key=f"{key}/train/train.csv", Body=csv_bytes(X_train, y_train))
    s3.put_object(Bucket="bench", Key=f"{key}/validation/validation.csv",
                  Body=csv_bytes(X_valid, y_valid))


def definition(d: Dataset, key: str, rounds: int, nthread: int) -> dict:
    return {
        "StaticHyperParameters": {**d.static, "num_round": str(rounds),
                                  **({"nthread": str(nthread)} if nthread else {})},
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "InputDataConfig": [
            {"ChannelName": ch, "ContentType": "text/csv", "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": f"s3://bench/{key}/{ch}/"}}}
            for ch in ("train", "validation")],
        "OutputDataConfig": {"S3OutputPath": "s3://bench/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


def untuned(sm, d: Dataset, key: str, rounds: int, nthread: int) -> float:
    """One training job with XGBoost's default hyperparameters: the model without tuning."""
    spec = definition(d, key, rounds, nthread)
    name = f"untuned-{key}"
    sm.create_training_job(
        TrainingJobName=name, AlgorithmSpecification=spec["AlgorithmSpecification"],
        RoleArn=ROLE, HyperParameters=spec["StaticHyperParameters"],
        InputDataConfig=spec["InputDataConfig"], OutputDataConfig=spec["OutputDataConfig"],
        ResourceConfig=spec["ResourceConfig"], StoppingCondition=spec["StoppingCondition"])
    while True:
        job = sm.describe_training_job(TrainingJobName=name)
        if job["TrainingJobStatus"] in FINAL:
            break
        time.sleep(0.1)
    if job["TrainingJobStatus"] != "Completed":
        raise SystemExit(f"{name}: {job['TrainingJobStatus']}: {job.get('FailureReason')}")
    return next(m["Value"] for m in job["FinalMetricDataList"] if m["MetricName"] == d.metric)


def training_jobs(sm, name: str) -> list[dict]:
    found, token = [], None
    while True:
        page = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name, MaxResults=100, SortBy="CreationTime",
            SortOrder="Ascending", **({"NextToken": token} if token else {}))
        found += page["TrainingJobSummaries"]
        token = page.get("NextToken")
        if not token:
            return found


def tune(sm, run: Run, key: str, rounds: int, nthread: int, trials: int, parallel: int,
         progress, task) -> None:
    d = run.dataset
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=run.name,
        HyperParameterTuningJobConfig={
            "Strategy": run.strategy, "RandomSeed": run.seed,
            "ResourceLimits": {"MaxNumberOfTrainingJobs": trials,
                               "MaxParallelTrainingJobs": parallel},
            "HyperParameterTuningJobObjective": {
                "Type": "Maximize" if d.maximize else "Minimize", "MetricName": d.metric},
            "ParameterRanges": RANGES},
        TrainingJobDefinition=definition(d, key, rounds, nthread))
    done = 0
    while True:
        job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=run.name)
        counters = job["TrainingJobStatusCounters"]
        ended = sum(v for k, v in counters.items() if k != "InProgress")
        progress.advance(task, ended - done)
        done = ended
        if job["HyperParameterTuningJobStatus"] in FINAL:
            break
        # A relaxed poll: the times measured are on the jobs themselves, and a tight one
        # would take CPU from the training jobs (two cores here).
        time.sleep(0.25)
    progress.advance(task, trials - done)
    run.status = job["HyperParameterTuningJobStatus"]
    if run.status != "Completed":
        console.print(f"[red]{run.name}: {run.status}: {job.get('FailureReason')}[/red]")
    best = job.get("BestTrainingJob")
    run.best = best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] if best else None
    run.jobs = training_jobs(sm, run.name)


def gaps(runs: list[Run]) -> tuple[list[float], list[float], list[float]]:
    """With one training job at a time: each job's end to the next one's CreationTime and
    TrainingStartTime, and each job's own duration (start to end), in seconds."""
    created, started, durations = [], [], []
    for run in runs:
        jobs = run.jobs
        for job in jobs:
            if job.get("TrainingStartTime") and job.get("TrainingEndTime"):
                durations.append((job["TrainingEndTime"] - job["TrainingStartTime"])
                                 .total_seconds())
        for before, after in zip(jobs, jobs[1:]):
            if not before.get("TrainingEndTime"):
                continue
            created.append((after["CreationTime"] - before["TrainingEndTime"]).total_seconds())
            if after.get("TrainingStartTime"):
                started.append((after["TrainingStartTime"] - before["TrainingEndTime"])
                               .total_seconds())
    return created, started, durations


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.5g}"


def mean_sd(values: list[float]) -> str:
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.5g} ± {sd:.2g}"


def same_start(a: Run, b: Run) -> int:
    """How many of the first training jobs of two runs got the same hyperparameters."""
    count = 0
    for x, y in zip(a.jobs, b.jobs):
        if x["TunedHyperParameters"] != y["TunedHyperParameters"]:
            break
        count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="RandomSeeds per strategy (1..N)")
    parser.add_argument("--trials", type=int, default=20, help="training jobs per tuning job")
    parser.add_argument("--parallel", type=int, default=1, choices=(1, 2),
                        help="MaxParallelTrainingJobs (the overhead is measured with 1)")
    parser.add_argument("--rounds", type=int, default=40, help="num_round of every job")
    parser.add_argument("--nthread", type=int, default=0,
                        help="XGBoost's nthread hyperparameter (0: not set; the built-in "
                             "algorithm then uses the CPUs kamado gives the job)")
    parser.add_argument("--datasets", nargs="+", choices=[d.load for d in DATASETS],
                        help="only these (default: all three)")
    parser.add_argument("--concurrent", type=int, default=2,
                        help="tuning jobs at once (default 2: a seed's Random and Bayesian "
                             "side by side, one core each)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: one seed")
    parser.add_argument("--per-seed", action="store_true",
                        help="also print each seed's best objective, both strategies")
    args = parser.parse_args()
    seeds = list(range(1, (1 if args.quick else args.seeds) + 1))
    datasets = [d for d in DATASETS if not args.datasets or d.load in args.datasets]

    def key_of(d: Dataset) -> str:
        return d.load.removeprefix("load_").replace("_", "-")

    wall = time.perf_counter()
    runs = [Run(d, strategy, seed, f"{key_of(d)}-{strategy.lower()}-{seed}")
            for seed in seeds for d in datasets for strategy in STRATEGIES]
    baseline: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        proc, endpoint, keys = start_kamado(Path(tmp_name))
        try:
            sm, s3 = clients(endpoint, keys)
            s3.create_bucket(Bucket="bench")
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn())
            with Progress(*columns, console=console, transient=True) as progress:
                total = len(datasets) + len(runs) * args.trials
                task = progress.add_task("training jobs", total=total)
                for d in datasets:
                    progress.update(task, description=f"{d.name}: untuned")
                    upload(s3, d, key_of(d))
                    baseline[d.name] = untuned(sm, d, key_of(d), args.rounds, args.nthread)
                    progress.advance(task)
                progress.update(task, description=f"{len(runs)} tuning jobs, "
                                                  f"{args.concurrent} at a time")

                def one(run: Run) -> None:
                    tune(sm, run, key_of(run.dataset), args.rounds, args.nthread, args.trials,
                         args.parallel, progress, task)

                with ThreadPoolExecutor(max(1, args.concurrent)) as pool:
                    list(pool.map(one, runs))
        finally:
            proc.terminate()
            proc.wait(30)
    wall = time.perf_counter() - wall

    table = Table(title=f"Bayesian vs Random: best objective after {args.trials} training jobs "
                        f"(mean ± sd over {len(seeds)} seed{'s' * (len(seeds) > 1)}; "
                        f"{args.parallel} job at a time; num_round {args.rounds})")
    for col in ("dataset", "objective", "untuned", "Random", "Bayesian", "B >= R",
                "loss B/R", "better", "same start"):
        table.add_column(col, justify="left" if col in ("dataset", "objective", "better")
                         else "right", no_wrap=True)
    verdicts = []
    for d in datasets:
        best = {s: [r.best for r in runs if r.dataset is d and r.strategy == s
                    and r.best is not None] for s in STRATEGIES}
        pairs = [(b, r) for b in runs for r in runs
                 if b.dataset is d and r.dataset is d and b.seed == r.seed
                 and b.strategy == "Bayesian" and r.strategy == "Random"
                 and b.best is not None and r.best is not None]
        wins = sum(d.loss(b.best) <= d.loss(r.best) for b, r in pairs)
        start = statistics.fmean(same_start(b, r) for b, r in pairs) if pairs else 0.0
        if best["Random"] and best["Bayesian"]:
            loss = {s: statistics.fmean(d.loss(v) for v in best[s]) for s in STRATEGIES}
            ratio = loss["Bayesian"] / loss["Random"] if loss["Random"] else float("nan")
            better = ("Bayesian" if loss["Bayesian"] < loss["Random"] else
                      "Random" if loss["Random"] < loss["Bayesian"] else "tie")
        else:
            ratio, better = float("nan"), "-"
        verdicts.append((d, ratio, better))
        table.add_row(d.name, d.goal, fmt(baseline.get(d.name)), mean_sd(best["Random"]),
                      mean_sd(best["Bayesian"]), f"{wins}/{len(pairs)}", f"{ratio:.3f}",
                      f"[green]{better}[/green]" if better == "Bayesian" else
                      f"[red]{better}[/red]" if better == "Random" else better,
                      f"{start:.1f}")
    table.caption = ("B >= R: seeds where Bayesian's best was at least Random's; loss: rmse, "
                     "mlogloss or 1 - auc (B/R < 1: Bayesian better); same start: how many "
                     "first jobs the two strategies shared, per seed")
    console.print(table)
    if args.per_seed:
        detail = Table(title="best objective per seed (Random / Bayesian; * where Bayesian did "
                             "at least as well)")
        detail.add_column("dataset")
        for seed in seeds:
            detail.add_column(f"seed {seed}", justify="right")
        for d in datasets:
            cells = []
            for seed in seeds:
                r, b = (next(x for x in runs if x.dataset is d and x.seed == seed
                             and x.strategy == s) for s in STRATEGIES)
                won = (b.best is not None and r.best is not None
                       and d.loss(b.best) <= d.loss(r.best))
                cells.append(f"{fmt(r.best)} / {fmt(b.best)}{' *' if won else ''}")
            detail.add_row(d.name, *cells)
        console.print(detail)

    overhead = Table(title="per-trial overhead with one training job at a time (s)")
    for col in ("gap", "count", "median", "p90", "max"):
        overhead.add_column(col, justify="left" if col == "gap" else "right")
    created, started, _ = gaps(runs) if args.parallel == 1 else ([], [], [])
    rows = [("a job's TrainingEndTime → the next one's CreationTime", created),
            ("a job's TrainingEndTime → the next one's TrainingStartTime", started)]
    for d in datasets:  # for scale: the training jobs themselves
        rows.append((f"(a training job itself, {d.name}: start → end)",
                     gaps([r for r in runs if r.dataset is d])[2]))
    for label, values in rows:
        if values:
            overhead.add_row(label, str(len(values)), f"{statistics.median(values):.3f}",
                             f"{quantile(values, 0.9):.3f}", f"{max(values):.3f}")
    if created:
        console.print(overhead)
    else:
        console.print("per-trial overhead: measured with --parallel 1 only")
    jobs = sum(len(r.jobs) for r in runs) + len(baseline)
    console.print(f"total wall time: {wall:.1f} s for {len(runs)} tuning jobs, {jobs} training "
                  f"jobs")
    for d, ratio, better in verdicts:
        print(f"RESULT {d.name}: Bayesian/Random mean best loss ratio = {ratio:.3f} "
              f"({better} better; target <= 1)")
    if created:
        print(f"RESULT per-trial overhead (end -> next created): median "
              f"{statistics.median(created):.3f} s, p90 {quantile(created, 0.9):.3f} s "
              f"(target < 1 s)")
    print(f"RESULT total wall time: {wall:.1f} s")


if __name__ == "__main__":
    main()
