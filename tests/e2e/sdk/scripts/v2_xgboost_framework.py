"""SageMaker Python SDK v2: the XGBoost framework estimator (script mode), against kamado.

Run inside the SDK's venv with AWS_PROFILE=kamado and SAGEMAKER_USER_CONFIG_OVERRIDE naming a
config that sets the default bucket and role; argv[1] is a JSON object of inputs. Prints the
SDK's streamed logs, then one line ``KAMADO-SDK-RESULT <json>``.
"""

import json
import sys
import time

import sagemaker
from sagemaker.inputs import TrainingInput
from sagemaker.xgboost import XGBoost

args = json.loads(sys.argv[1])
sess = sagemaker.Session()          # bucket and role come from the SDK's config file
bucket = sess.default_bucket()
train = sess.upload_data(args["train"], key_prefix="xgb-script/train")
validation = sess.upload_data(args["validation"], key_prefix="xgb-script/validation")

estimator = XGBoost(
    entry_point="train.py",
    source_dir=args["source_dir"],
    framework_version="1.7-1",
    instance_count=1,
    instance_type="ml.m5.large",
    hyperparameters=args["hyperparameters"],
    sagemaker_session=sess,
)
started = time.monotonic()
estimator.fit({"train": TrainingInput(train, content_type="text/csv"),
               "validation": TrainingInput(validation, content_type="text/csv")},
              wait=True, logs=True, job_name=args["job_name"])
fit_seconds = time.monotonic() - started
job = estimator.latest_training_job.describe()
print("KAMADO-SDK-RESULT " + json.dumps({
    "sdk": sagemaker.__version__, "bucket": bucket, "role": job["RoleArn"],
    "image": job["AlgorithmSpecification"]["TrainingImage"],
    "hyperparameters": job["HyperParameters"], "status": job["TrainingJobStatus"],
    "model_data": estimator.model_data, "fit_seconds": fit_seconds}), flush=True)
