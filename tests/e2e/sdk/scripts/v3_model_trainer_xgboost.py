"""SageMaker Python SDK v3: ModelTrainer with the built-in XGBoost image, against kamado.

Run inside the SDK's venv with AWS_PROFILE=kamado; argv[1] is a JSON object of inputs.
Prints the SDK's streamed logs, then one line ``KAMADO-SDK-RESULT <json>``.
"""

import json
import logging
import sys
import time
from importlib.metadata import version

from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
from sagemaker.train import ModelTrainer

# v3 streams the job's log through Python logging, which the application configures.
logging.basicConfig(stream=sys.stdout, format="%(name)s: %(message)s")
logging.getLogger("sagemaker").setLevel(logging.INFO)
args = json.loads(sys.argv[1])
sess = Session(default_bucket=args["bucket"])
image = image_uris.retrieve("xgboost", sess.boto_region_name, "1.7-1")

trainer = ModelTrainer(
    training_image=image,
    role=args["role"],
    sagemaker_session=sess,
    base_job_name=args["base_job_name"],
    compute=Compute(instance_type="ml.m5.large", instance_count=1),
    hyperparameters=args["hyperparameters"],
    output_data_config=OutputDataConfig(s3_output_path=f"s3://{args['bucket']}/v3-output"),
)
started = time.monotonic()
# Local directories: the SDK uploads them to the session's bucket itself.
trainer.train(input_data_config=[
    InputData(channel_name="train", data_source=args["train"], content_type="text/csv"),
    InputData(channel_name="validation", data_source=args["validation"], content_type="text/csv"),
], wait=True, logs=True)
fit_seconds = time.monotonic() - started
job = trainer._latest_training_job
job.refresh()
print("KAMADO-SDK-RESULT " + json.dumps({
    "sdk": version("sagemaker"), "image": image, "job_name": job.training_job_name,
    "status": job.training_job_status,
    "model_data": job.model_artifacts.s3_model_artifacts,
    "channels": {c.channel_name: c.data_source.s3_data_source.s3_uri
                 for c in job.input_data_config},
    "final_metrics": {m.metric_name: m.value for m in job.final_metric_data_list},
    "fit_seconds": fit_seconds}), flush=True)
