"""Training overhead: a built-in XGBoost job on kamado against xgboost.train in one process.

    pip install -e ".[bench]" && python bench/training.py [--rows 10000 1000000] [--rounds 50]

For each data size, side by side in one run:
  * direct — what a user would otherwise do: read the CSV (pandas), build a DMatrix, call
    ``xgboost.train`` with the same hyperparameters, save the model;
  * kamado — CreateTrainingJob with the built-in XGBoost image on the same CSV (already in
    kamado's S3) until the job is Completed, model.tar.gz uploaded (the job's
    TrainingEndTime, read by a DescribeTrainingJob poll that leaves the CPUs to the job).
It prints both wall times, their ratio (kamado / direct, lower is better; 1.00 = no overhead)
and the fixed overhead: the same comparison on a 100-row, one-round job, where nearly all of
kamado's time is its own (queue, job directory, process start, imports, upload). The very
first job also starts the image's fork server (kamado.engine.forkserver), which imports the
libraries every later job is forked with; its time is printed on its own line.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from gateway import clients, start_kamado, wait_training_job

console = Console()
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def make_csv(path: Path, rows: int, features: int = 10, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features)).astype(np.float32)
    logits = X[:, 0] * 1.5 - X[:, 1] + 0.5 * X[:, 2] * X[:, 3] + rng.normal(scale=0.5, size=rows)
    y = (logits > 0).astype(np.float32)
    np.savetxt(path, np.column_stack([y, X]), delimiter=",", fmt="%.5g")


def hyperparameters(rounds: int) -> dict[str, str]:
    return {"objective": "binary:logistic", "num_round": str(rounds), "max_depth": "6",
            "eta": "0.3", "tree_method": "hist", "eval_metric": "auc"}


def direct(csv: Path, rounds: int, out: Path) -> float:
    import pandas as pd
    import xgboost as xgb

    t = time.perf_counter()
    frame = pd.read_csv(csv, header=None)
    data = xgb.DMatrix(frame.iloc[:, 1:].to_numpy(np.float32), label=frame.iloc[:, 0].to_numpy())
    hp = hyperparameters(rounds)
    params = {k: v for k, v in hp.items() if k != "num_round"}
    booster = xgb.train(params, data, num_boost_round=rounds, evals=[(data, "train")],
                        verbose_eval=True)
    booster.save_model(str(out / "xgboost-model.json"))
    return time.perf_counter() - t


def on_kamado(sm, name: str, uri: str, rounds: int) -> float:
    started = time.time()
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn="arn:aws:iam::000000000000:role/bench", HyperParameters=hyperparameters(rounds),
        InputDataConfig=[{"ChannelName": "train", "ContentType": "text/csv", "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}}}],
        OutputDataConfig={"S3OutputPath": "s3://bench/output"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 3600})
    job = wait_training_job(sm, name)
    # TrainingEndTime is when the job turned Completed (model.tar.gz uploaded), on this
    # machine's clock: from the CreateTrainingJob call to there is what a user waits.
    return job["TrainingEndTime"].timestamp() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (median is shown)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        proc, endpoint, keys = start_kamado(tmp)
        try:
            sm, s3 = clients(endpoint, keys)
            s3.create_bucket(Bucket="bench")
            sizes = [("fixed overhead (100 rows, 1 round)", 100, 1)] + [
                (f"{rows:,} rows, {args.rounds} rounds", rows, args.rounds) for rows in args.rows]
            results, first = [], None
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("benchmark", total=len(sizes) * args.repeat * 2)
                for label, rows, rounds in sizes:
                    csv = tmp / f"train-{rows}.csv"
                    make_csv(csv, rows)
                    s3.upload_file(str(csv), "bench", f"data-{rows}/train.csv")
                    ours, theirs = [], []
                    for i in range(args.repeat):
                        progress.update(task, description=f"{label}: direct #{i + 1}")
                        out = tmp / f"direct-{rows}-{i}"
                        out.mkdir()
                        theirs.append(direct(csv, rounds, out))
                        progress.advance(task)
                        progress.update(task, description=f"{label}: kamado #{i + 1}")
                        ours.append(on_kamado(sm, f"bench-{rows}-{i}", f"s3://bench/data-{rows}/",
                                              rounds))
                        progress.advance(task)
                    results.append((label, statistics.median(theirs), statistics.median(ours)))
                    first = ours[0] if first is None else first
        finally:
            proc.terminate()
            proc.wait(30)

    table = Table(title="CreateTrainingJob → Completed vs xgboost.train in one process (median)")
    for col in ("data", "direct (s)", "kamado (s)", "kamado - direct (s)", "ratio"):
        table.add_column(col, justify="right")
    for label, theirs, ours in results:
        table.add_row(label, f"{theirs:.3f}", f"{ours:.3f}", f"{ours - theirs:+.3f}",
                      f"{ours / theirs:.2f}x")
    console.print(table)
    fixed = results[0][2] - results[0][1]
    console.print(f"first job after the server started: {first:.2f} s (it also waits for the "
                  "image's fork server to import its libraries)")
    console.print(f"fixed overhead: {fixed:.2f} s (target < 1.5 s); "
                  f"ratio at the largest size: {results[-1][2] / results[-1][1]:.2f}x (target < 1.10)")


if __name__ == "__main__":
    main()
