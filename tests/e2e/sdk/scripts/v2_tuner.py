"""SageMaker Python SDK v2: HyperparameterTuner over an Estimator with the built-in XGBoost
image, against kamado.

Run inside the SDK's venv with AWS_PROFILE=kamado; argv[1] is a JSON object of inputs.
Tunes eta and max_depth (fit waits), then reads the result the ways the SDK offers:
best_training_job(), analytics().dataframe(), describe(), best_estimator(),
TrainingJobAnalytics on the best job, and — when asked — HyperparameterTuner.attach(name).
What fails is reported, not raised, where a test decides about it. Prints one line
``KAMADO-SDK-RESULT <json>``.
"""

import json
import sys
import time

import sagemaker
from sagemaker.estimator import Estimator
from sagemaker.analytics import TrainingJobAnalytics
from sagemaker.inputs import TrainingInput
from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

args = json.loads(sys.argv[1])
sess = sagemaker.Session()          # bucket and role come from the SDK's config file
prefix = args["job_name"]
train = sess.upload_data(args["train"], key_prefix=f"{prefix}/train")
validation = sess.upload_data(args["validation"], key_prefix=f"{prefix}/validation")

estimator = Estimator(
    image_uri=sagemaker.image_uris.retrieve("xgboost", sess.boto_region_name, "1.7-1"),
    instance_count=1, instance_type="ml.m5.large",
    output_path=f"s3://{sess.default_bucket()}/{prefix}/output",
    hyperparameters=args["hyperparameters"], sagemaker_session=sess)
tuner = HyperparameterTuner(
    estimator, objective_metric_name="validation:auc",
    hyperparameter_ranges={"eta": ContinuousParameter(0.05, 0.5),
                           "max_depth": IntegerParameter(2, 6)},
    max_jobs=4, max_parallel_jobs=2, **args["tuner"])
started = time.monotonic()
tuner.fit({"train": TrainingInput(train, content_type="text/csv"),
           "validation": TrainingInput(validation, content_type="text/csv")},
          job_name=args["job_name"], wait=True)
fit_seconds = time.monotonic() - started

frame = tuner.analytics().dataframe()
description = tuner.describe()
best = tuner.best_training_job()
result = {
    "sdk": sagemaker.__version__, "tuning_job": tuner.latest_tuning_job.name,
    "status": description["HyperParameterTuningJobStatus"],
    "best_training_job": best,
    "best_objective": description["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"],
    "counters": description["TrainingJobStatusCounters"],
    "columns": sorted(frame.columns),
    "rows": json.loads(json.dumps(frame.to_dict(orient="records"), default=str)),
    "fit_seconds": fit_seconds,
}
try:  # Estimator.attach(best job): DescribeTrainingJob read back into an Estimator
    result["best_estimator"] = {"model_data": tuner.best_estimator().model_data, "error": None}
except Exception as exc:  # noqa: BLE001 - reported; the test decides
    result["best_estimator"] = {"model_data": None, "error": f"{type(exc).__name__}: {exc}"}
try:  # the best job's validation:auc curve, which the SDK reads from CloudWatch metrics
    curve = TrainingJobAnalytics(best, metric_names=["validation:auc"],
                                 sagemaker_session=sess).dataframe()
    result["training_job_analytics"] = {"values": curve["value"].tolist(), "error": None}
except Exception as exc:  # noqa: BLE001 - reported; the test decides
    result["training_job_analytics"] = {"values": None, "error": f"{type(exc).__name__}: {exc}"}
if args.get("attach"):
    attached = HyperparameterTuner.attach(args["job_name"], sagemaker_session=sess)
    result["attached"] = {
        "best_training_job": attached.best_training_job(),
        "strategy": attached.strategy, "max_jobs": attached.max_jobs,
        "max_parallel_jobs": attached.max_parallel_jobs,
        "objective_metric_name": attached.objective_metric_name,
        "ranges": sorted(r["Name"] for kind in attached.hyperparameter_ranges().values()
                         for r in kind),
        "estimator_image": attached.estimator.training_image_uri(),
        "estimator_hyperparameters": attached.estimator.hyperparameters(),
    }
print("KAMADO-SDK-RESULT " + json.dumps(result), flush=True)
