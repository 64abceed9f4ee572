"""Batch transform throughput: a 10,000-row CSV transformed by kamado against the same rows
through xgboost.Booster.predict in this process (what a user would otherwise write).

    python bench/transform.py [--rows 10000]

Prints records/second for MultiRecord and SingleRecord jobs (the job's own time,
TransformStartTime → TransformEndTime, which includes starting the model server, and the
time from CreateTransformJob to Completed as a client sees it) and for Booster.predict.
"""

from __future__ import annotations

import argparse
import io
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import xgboost as xgb
from sklearn.datasets import load_breast_cancer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import KamadoServer  # noqa: E402

XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def tarball(booster: xgb.Booster) -> bytes:
    raw = bytes(booster.save_raw("ubj"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    X, y = load_breast_cancer(return_X_y=True)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3},
                        xgb.DMatrix(X, label=y), num_boost_round=20)
    rows = np.tile(X, (args.rows // len(X) + 1, 1))[:args.rows]
    buf = io.StringIO()
    np.savetxt(buf, rows, delimiter=",", fmt="%.10g")
    body = buf.getvalue().encode()

    started = time.perf_counter()
    booster.predict(xgb.DMatrix(np.loadtxt(io.BytesIO(body), delimiter=",")))
    direct = args.rows / (time.perf_counter() - started)
    print(f"Booster.predict (parse CSV + predict): {direct:,.0f} records/s")

    with tempfile.TemporaryDirectory() as tmp:
        server = KamadoServer(Path(tmp) / "home").start()
        try:
            s3, sm = server.client("s3"), server.client("sagemaker")
            s3.create_bucket(Bucket="bench")
            s3.put_object(Bucket="bench", Key="model.tar.gz", Body=tarball(booster))
            s3.put_object(Bucket="bench", Key="in/rows.csv", Body=body)
            sm.create_model(ModelName="m", PrimaryContainer={
                "Image": XGBOOST, "ModelDataUrl": "s3://bench/model.tar.gz"},
                ExecutionRoleArn="arn:aws:iam::000000000000:role/bench")
            for strategy in ("MultiRecord", "SingleRecord"):
                name = f"bench-{strategy.lower()}"
                created = time.perf_counter()
                sm.create_transform_job(
                    TransformJobName=name, ModelName="m", BatchStrategy=strategy,
                    TransformInput={"DataSource": {"S3DataSource": {
                        "S3DataType": "S3Prefix", "S3Uri": "s3://bench/in/"}},
                        "ContentType": "text/csv", "SplitType": "Line"},
                    TransformOutput={"S3OutputPath": f"s3://bench/{name}/"},
                    TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
                while True:
                    job = sm.describe_transform_job(TransformJobName=name)
                    if job["TransformJobStatus"] in ("Completed", "Failed", "Stopped"):
                        break
                    time.sleep(0.02)
                seen = time.perf_counter() - created
                assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
                spent = (job["TransformEndTime"] - job["TransformStartTime"]).total_seconds()
                print(f"kamado {strategy}: job {args.rows / spent:,.0f} records/s "
                      f"({spent:.2f} s), create→Completed {args.rows / seen:,.0f} records/s "
                      f"({seen:.2f} s); Booster.predict is {direct * spent / args.rows:.0f}x "
                      "faster")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
