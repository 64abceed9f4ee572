"""SageMaker Python SDK v2: the SKLearn framework estimator (script mode), against kamado.

Run inside the SDK's venv with AWS_PROFILE=kamado and SAGEMAKER_USER_CONFIG_OVERRIDE naming a
config that sets the default bucket and role; argv[1] is a JSON object of inputs. Prints the
SDK's streamed logs, then one line ``KAMADO-SDK-RESULT <json>``.
"""

import json
import sys
import time

import sagemaker
from sagemaker.sklearn import SKLearn

args = json.loads(sys.argv[1])
sess = sagemaker.Session()          # bucket and role come from the SDK's config file
train = sess.upload_data(args["train"], key_prefix="sklearn/train")
validation = sess.upload_data(args["validation"], key_prefix="sklearn/validation")

estimator = SKLearn(
    entry_point="train.py",
    source_dir=args["source_dir"],
    framework_version="1.2-1",
    py_version="py3",
    instance_count=1,
    instance_type="ml.m5.large",
    hyperparameters=args["hyperparameters"],
    sagemaker_session=sess,
)
started = time.monotonic()
estimator.fit({"train": train, "validation": validation}, wait=True, logs=True,
              job_name=args["job_name"])
fit_seconds = time.monotonic() - started
job = estimator.latest_training_job.describe()
print("KAMADO-SDK-RESULT " + json.dumps({
    "sdk": sagemaker.__version__, "role": job["RoleArn"],
    "image": job["AlgorithmSpecification"]["TrainingImage"],
    "status": job["TrainingJobStatus"], "model_data": estimator.model_data,
    "output_data": f"{job['OutputDataConfig']['S3OutputPath'].rstrip('/')}/"
                   f"{job['TrainingJobName']}/output/output.tar.gz",
    "fit_seconds": fit_seconds}), flush=True)
