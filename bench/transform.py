"""Batch transform throughput: a CSV transformed by a kamado transform job against what a user
would otherwise write — read the CSV with pandas and call ``Booster.predict`` on it in one
process — side by side in one run.

    pip install -e ".[bench]" && python bench/transform.py [--rows 100000 1000000]

For each size it prints records/second both ways and their ratio (kamado / direct, higher is
better; target at 1M rows: at least 0.8). kamado's time is from CreateTransformJob until the job
is Completed with every ``.out`` object written (the job's TransformEndTime, read by a relaxed
poll that leaves the CPUs to the job), so it includes starting the model servers, reading the
input from kamado's S3, splitting it into mini-batches, and writing the output back.
"""

from __future__ import annotations

import argparse
import io
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import xgboost as xgb
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from gateway import clients, start_kamado

console = Console()
XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
FEATURES = 10


def make_rows(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, FEATURES)).astype(np.float32)
    y = (X[:, 0] * 1.5 - X[:, 1] + rng.normal(scale=0.5, size=rows) > 0).astype(np.float32)
    return X, y


def tarball(booster: xgb.Booster) -> bytes:
    raw = bytes(booster.save_raw("ubj"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    return buf.getvalue()


def direct(booster: xgb.Booster, csv: Path) -> tuple[float, np.ndarray]:
    import pandas as pd

    started = time.perf_counter()
    frame = pd.read_csv(csv, header=None)
    predictions = booster.predict(xgb.DMatrix(frame.to_numpy(np.float32)))
    return time.perf_counter() - started, predictions


def on_kamado(sm, s3, name: str, key: str) -> tuple[float, np.ndarray]:
    started = time.time()
    sm.create_transform_job(
        TransformJobName=name, ModelName="bench", BatchStrategy="MultiRecord",
        MaxConcurrentTransforms=2,
        TransformInput={"DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://bench/{key}"}},
            "ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"S3OutputPath": f"s3://bench/out/{name}", "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    while True:
        job = sm.describe_transform_job(TransformJobName=name)
        if job["TransformJobStatus"] in ("Completed", "Failed", "Stopped"):
            break
        time.sleep(0.1)  # the moment it completed is on the job; polling harder steals CPU
    if job["TransformJobStatus"] != "Completed":
        raise SystemExit(f"{name}: {job['TransformJobStatus']}: {job.get('FailureReason')}")
    seconds = job["TransformEndTime"].timestamp() - started
    out = s3.get_object(Bucket="bench", Key=f"out/{name}/rows.csv.out")["Body"].read()
    return seconds, np.array(out.split(), dtype=np.float64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    X, y = make_rows(20_000, seed=1)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 6, "tree_method": "hist"},
                        xgb.DMatrix(X, label=y), num_boost_round=50)
    results = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        proc, endpoint, keys = start_kamado(tmp)
        try:
            sm, s3 = clients(endpoint, keys)
            s3.create_bucket(Bucket="bench")
            s3.put_object(Bucket="bench", Key="model.tar.gz", Body=tarball(booster))
            sm.create_model(ModelName="bench", PrimaryContainer={
                "Image": XGBOOST, "ModelDataUrl": "s3://bench/model.tar.gz"},
                ExecutionRoleArn="arn:aws:iam::000000000000:role/bench")
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("benchmark", total=len(args.rows) * 2)
                for rows in args.rows:
                    progress.update(task, description=f"{rows:,} rows: writing the CSV")
                    csv = tmp / f"rows-{rows}.csv"
                    np.savetxt(csv, make_rows(rows)[0], delimiter=",", fmt="%.6g")
                    s3.upload_file(str(csv), "bench", f"in-{rows}/rows.csv")
                    progress.update(task, description=f"{rows:,} rows: pandas + predict")
                    theirs, expected = direct(booster, csv)
                    progress.advance(task)
                    progress.update(task, description=f"{rows:,} rows: kamado transform job")
                    ours, served = on_kamado(sm, s3, f"bench-{rows}", f"in-{rows}/")
                    progress.advance(task)
                    if len(served) != rows or np.max(np.abs(served - expected)) > 1e-5:
                        raise SystemExit(f"{rows} rows: the transform's output differs from "
                                         "Booster.predict")
                    results.append((rows, theirs, ours))
        finally:
            proc.terminate()
            proc.wait(30)

    table = Table(title="CSV → predictions: kamado transform job vs pandas + Booster.predict")
    for col in ("rows", "direct (s)", "direct rec/s", "kamado (s)", "kamado rec/s", "ratio"):
        table.add_column(col, justify="right")
    for rows, theirs, ours in results:
        table.add_row(f"{rows:,}", f"{theirs:.2f}", f"{rows / theirs:,.0f}", f"{ours:.2f}",
                      f"{rows / ours:,.0f}", f"{theirs / ours:.2f}x")
    console.print(table)
    rows, theirs, ours = results[-1]
    console.print(f"throughput ratio at {rows:,} rows (kamado / direct): {theirs / ours:.2f} "
                  "(target >= 0.8)")


if __name__ == "__main__":
    main()
