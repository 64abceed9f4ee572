"""SageMaker Python SDK v3: ModelTrainer with SourceCode (script mode) on the scikit-learn
image, against kamado.

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
from sagemaker.core.training.configs import Compute, InputData, SourceCode
from sagemaker.train import ModelTrainer

# v3 streams the job's log through Python logging, which the application configures.
logging.basicConfig(stream=sys.stdout, format="%(name)s: %(message)s")
logging.getLogger("sagemaker").setLevel(logging.INFO)
args = json.loads(sys.argv[1])
sess = Session()                    # bucket and role come from the SDK's config file
image = image_uris.retrieve("sklearn", sess.boto_region_name, "1.2-1")

trainer = ModelTrainer(
    training_image=image,
    sagemaker_session=sess,
    base_job_name=args["base_job_name"],
    compute=Compute(instance_type="ml.m5.large", instance_count=1),
    source_code=SourceCode(source_dir=args["source_dir"], entry_script="train.py"),
    hyperparameters=args["hyperparameters"],
)
started = time.monotonic()
error = None
try:
    trainer.train(input_data_config=[
        InputData(channel_name="train", data_source=args["train"]),
        InputData(channel_name="validation", data_source=args["validation"]),
    ], wait=True, logs=True)
except Exception as exc:  # reported in the result line; the test decides
    error = f"{type(exc).__name__}: {exc}"
fit_seconds = time.monotonic() - started
job = trainer._latest_training_job
job.refresh()
spec = job.algorithm_specification
artifacts = job.model_artifacts
output_path = job.output_data_config.s3_output_path.rstrip("/")
print("KAMADO-SDK-RESULT " + json.dumps({
    "sdk": version("sagemaker"), "image": image, "job_name": job.training_job_name,
    "status": job.training_job_status, "error": error,
    "failure_reason": job.failure_reason if isinstance(job.failure_reason, str) else None,
    "entrypoint": list(spec.container_entrypoint or []),
    "arguments": list(spec.container_arguments or []),
    "model_data": getattr(artifacts, "s3_model_artifacts", None) if job.training_job_status
    == "Completed" else None,
    "output_data": f"{output_path}/{job.training_job_name}/output/output.tar.gz",
    "fit_seconds": fit_seconds}), flush=True)
