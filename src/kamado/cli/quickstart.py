"""``kamado quickstart``: the whole loop on an embedded server, through boto3 as a user would —
train XGBoost on scikit-learn's bundled breast-cancer data, deploy it, invoke it, run a batch
transform over the held-out rows, and show what each step produced."""

from __future__ import annotations

import io
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Optional

import boto3
import typer
from botocore.config import Config as BotoConfig
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::{account}:role/kamado-quickstart"
BUCKET = "kamado-quickstart"
HYPERPARAMETERS = {"objective": "binary:logistic", "num_round": "50", "max_depth": "4",
                   "eta": "0.2", "eval_metric": "auc"}
STEPS = 6


def _csv(rows) -> bytes:
    import numpy as np

    buf = io.StringIO()
    np.savetxt(buf, rows, delimiter=",", fmt="%.10g")
    return buf.getvalue().encode()


def _wait(progress, task, describe, status_of, done, description: str,
          timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        current = describe()
        status = status_of(current)
        progress.update(task, description=f"{description} [dim]({status})[/dim]")
        if status in done:
            return current
        if time.monotonic() > deadline:
            raise typer.Exit(1)
        time.sleep(0.1)


def _fail(what: str, reason: str | None) -> None:
    console.print(f"[red]{what} failed:[/red] {reason}")
    raise typer.Exit(1)


def run(home: Optional[Path]) -> None:
    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    from kamado.server import embedded

    started = time.monotonic()
    with ExitStack() as stack:
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kamado-")))
        progress = stack.enter_context(Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=console))
        overall = progress.add_task("starting an embedded kamado server", total=STEPS)
        config, platform = stack.enter_context(embedded(home))
        keys = platform.access_key_id, platform.secret_for(platform.access_key_id)
        session = boto3.Session(aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
                                region_name=config.region)
        options = {"endpoint_url": config.endpoint_url,
                   "config": BotoConfig(retries={"max_attempts": 2})}
        s3, sm = session.client("s3", **options), session.client("sagemaker", **options)
        runtime = session.client("sagemaker-runtime", **options)
        role = ROLE.format(account=config.account_id)
        progress.console.print(f"kamado on [cyan]{config.endpoint_url}[/cyan], home {home}")
        progress.advance(overall)

        # 1. data
        progress.update(overall, description="uploading breast-cancer data to kamado's S3")
        X, y = load_breast_cancer(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25,
                                                            random_state=0, stratify=y)
        X_fit, X_val, y_fit, y_val = train_test_split(X_train, y_train, test_size=0.2,
                                                      random_state=0, stratify=y_train)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="data/train/train.csv",
                      Body=_csv(np.column_stack([y_fit, X_fit])))
        s3.put_object(Bucket=BUCKET, Key="data/validation/validation.csv",
                      Body=_csv(np.column_stack([y_val, X_val])))
        s3.put_object(Bucket=BUCKET, Key="data/test/test.csv", Body=_csv(X_test))
        progress.advance(overall)

        # 2. training
        job = f"quickstart-{int(time.time())}"
        channel = lambda name: {"ChannelName": name, "ContentType": "text/csv",  # noqa: E731
                                "DataSource": {"S3DataSource": {
                                    "S3DataType": "S3Prefix",
                                    "S3Uri": f"s3://{BUCKET}/data/{name}/"}}}
        sm.create_training_job(
            TrainingJobName=job, RoleArn=role, HyperParameters=HYPERPARAMETERS,
            AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            InputDataConfig=[channel("train"), channel("validation")],
            OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/output"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1,
                            "VolumeSizeInGB": 1},
            StoppingCondition={"MaxRuntimeInSeconds": 600})
        task = progress.add_task("training XGBoost", total=None)
        trained = _wait(progress, task, lambda: sm.describe_training_job(TrainingJobName=job),
                        lambda d: d.get("SecondaryStatus") or d["TrainingJobStatus"],
                        ("Completed", "Failed", "Stopped"), "training XGBoost")
        progress.remove_task(task)
        if trained["TrainingJobStatus"] != "Completed":
            _fail(f"training job {job}", trained.get("FailureReason"))
        metrics = {m["MetricName"]: m["Value"] for m in trained.get("FinalMetricDataList", [])}
        progress.console.print(f"trained [bold]{job}[/bold]: " + ", ".join(
            f"{k} {v:.4f}" for k, v in sorted(metrics.items())))
        progress.advance(overall)

        # 3. endpoint
        model_data = trained["ModelArtifacts"]["S3ModelArtifacts"]
        sm.create_model(ModelName=job, ExecutionRoleArn=role,
                        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": model_data})
        sm.create_endpoint_config(EndpointConfigName=job, ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": job, "InstanceType": "ml.m5.large",
            "InitialInstanceCount": 1}])
        sm.create_endpoint(EndpointName=job, EndpointConfigName=job)
        task = progress.add_task("deploying an endpoint", total=None)
        endpoint = _wait(progress, task, lambda: sm.describe_endpoint(EndpointName=job),
                         lambda d: d["EndpointStatus"], ("InService", "Failed"),
                         "deploying an endpoint")
        progress.remove_task(task)
        if endpoint["EndpointStatus"] != "InService":
            _fail(f"endpoint {job}", endpoint.get("FailureReason"))
        progress.advance(overall)

        # 4. real-time inference
        task = progress.add_task("invoking the endpoint row by row", total=len(X_test))
        served, latencies = [], []
        for row in X_test:
            t = time.perf_counter()
            answer = runtime.invoke_endpoint(EndpointName=job, ContentType="text/csv",
                                             Body=_csv(row[None, :]))
            latencies.append(time.perf_counter() - t)
            served.append(float(answer["Body"].read()))
            progress.advance(task)
        progress.remove_task(task)
        served = np.array(served)
        progress.advance(overall)

        # 5. batch transform
        sm.create_transform_job(
            TransformJobName=job, ModelName=job, BatchStrategy="MultiRecord",
            TransformInput={"DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/data/test/"}},
                "ContentType": "text/csv", "SplitType": "Line"},
            TransformOutput={"S3OutputPath": f"s3://{BUCKET}/transform", "AssembleWith": "Line"},
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
        task = progress.add_task("batch transform over the test rows", total=None)
        transform = _wait(progress, task,
                          lambda: sm.describe_transform_job(TransformJobName=job),
                          lambda d: d["TransformJobStatus"], ("Completed", "Failed", "Stopped"),
                          "batch transform over the test rows")
        progress.remove_task(task)
        if transform["TransformJobStatus"] != "Completed":
            _fail(f"transform job {job}", transform.get("FailureReason"))
        out = s3.get_object(Bucket=BUCKET, Key="transform/test.csv.out")["Body"].read().decode()
        batch = np.array([float(v) for v in out.split()])
        sm.delete_endpoint(EndpointName=job)
        progress.update(overall, description="done")
        progress.advance(overall)

    table = Table(title="kamado quickstart: XGBoost on breast cancer")
    table.add_column("step")
    table.add_column("result", justify="right")
    for name, value in sorted(metrics.items()):
        table.add_row(f"training {name}", f"{value:.4f}")
    table.add_row("endpoint test AUC", f"{roc_auc_score(y_test, served):.4f}")
    table.add_row("endpoint test accuracy", f"{accuracy_score(y_test, served > 0.5):.4f}")
    lat = np.array(latencies) * 1000
    table.add_row("InvokeEndpoint latency p50 / p99 (ms)",
                  f"{np.percentile(lat, 50):.2f} / {np.percentile(lat, 99):.2f}")
    agree = np.max(np.abs(batch - served)) if len(batch) == len(served) else float("nan")
    table.add_row("batch transform rows", f"{len(batch)}")
    table.add_row("max |transform − endpoint|", f"{agree:.2e}")
    table.add_row("total time (s)", f"{time.monotonic() - started:.1f}")
    console.print(table)
    if not len(batch) == len(served) or agree > 1e-6:
        console.print("[red]the batch transform and the endpoint disagree[/red]")
        raise typer.Exit(1)
