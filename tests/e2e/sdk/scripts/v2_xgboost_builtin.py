"""SageMaker Python SDK v2: Estimator with the built-in XGBoost image, against kamado.

Run inside the SDK's venv with AWS_PROFILE=kamado; argv[1] is a JSON object of inputs.
Prints the SDK's streamed logs, then one line ``KAMADO-SDK-RESULT <json>``.
"""

import json
import sys
import time

import sagemaker
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput

args = json.loads(sys.argv[1])
sess = sagemaker.Session(default_bucket=args["bucket"])
region = sess.boto_region_name
image = sagemaker.image_uris.retrieve("xgboost", region, "1.7-1")

train = sess.upload_data(args["train"], key_prefix="cancer/train")
validation = sess.upload_data(args["validation"], key_prefix="cancer/validation")

estimator = Estimator(
    image_uri=image,
    role=args["role"],
    instance_count=1,
    instance_type="ml.m5.large",
    output_path=f"s3://{args['bucket']}/xgb-output",
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
    "sdk": sagemaker.__version__, "image": image, "job_name": job["TrainingJobName"],
    "train": train, "validation": validation,
    "status": job["TrainingJobStatus"], "model_data": estimator.model_data,
    "final_metrics": {m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", [])},
    "fit_seconds": fit_seconds}), flush=True)
