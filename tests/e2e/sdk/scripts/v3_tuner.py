"""SageMaker Python SDK v3: sagemaker.train.tuner.HyperparameterTuner over a ModelTrainer with
the built-in XGBoost image, against kamado.

Run inside the SDK's venv with AWS_PROFILE=kamado; argv[1] is a JSON object of inputs.
Tunes eta and max_depth (tune waits), then reads the result through the tuner
(best_training_job, analytics, describe) and the resource classes (HyperParameterTuningJob,
TrainingJob). Prints one line ``KAMADO-SDK-RESULT <json>``.
"""

import json
import sys
import time
from importlib.metadata import version

from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.parameter import ContinuousParameter, IntegerParameter
from sagemaker.core.resources import HyperParameterTuningJob, TrainingJob
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
from sagemaker.train import ModelTrainer
from sagemaker.train.tuner import HyperparameterTuner

args = json.loads(sys.argv[1])
sess = Session()                    # bucket and role come from the SDK's config file
prefix = args["job_name"]
# The tuner passes InputData through as S3 URIs (it does not upload local directories as
# ModelTrainer.train does), so upload first.
train = sess.upload_data(args["train"], key_prefix=f"{prefix}/train")
validation = sess.upload_data(args["validation"], key_prefix=f"{prefix}/validation")

trainer = ModelTrainer(
    training_image=image_uris.retrieve("xgboost", sess.boto_region_name, "1.7-1"),
    sagemaker_session=sess,
    base_job_name=prefix,
    compute=Compute(instance_type="ml.m5.large", instance_count=1),
    hyperparameters=args["hyperparameters"],
    output_data_config=OutputDataConfig(
        s3_output_path=f"s3://{sess.default_bucket()}/{prefix}/output"),
)
tuner = HyperparameterTuner(
    trainer, objective_metric_name="validation:auc",
    hyperparameter_ranges={"eta": ContinuousParameter(0.05, 0.5),
                           "max_depth": IntegerParameter(2, 6)},
    max_jobs=4, max_parallel_jobs=2, **args["tuner"])
started = time.monotonic()
tuner.tune(inputs=[InputData(channel_name="train", data_source=train, content_type="text/csv"),
                   InputData(channel_name="validation", data_source=validation,
                             content_type="text/csv")],
           job_name=args["job_name"], wait=True)
tune_seconds = time.monotonic() - started

job = tuner.describe()              # a refreshed sagemaker.core.resources.HyperParameterTuningJob
best = tuner.best_training_job()
frame = tuner.analytics().dataframe()
# The same job through the resource classes alone.
again = HyperParameterTuningJob.get(args["job_name"])
children = list(again.get_all_training_jobs())
best_job = TrainingJob.get(best)
print("KAMADO-SDK-RESULT " + json.dumps({
    "sdk": version("sagemaker"), "tuning_job": job.hyper_parameter_tuning_job_name,
    "status": job.hyper_parameter_tuning_job_status,
    "strategy": job.hyper_parameter_tuning_job_config.strategy,
    "best_training_job": best,
    "best_objective": job.best_training_job.final_hyper_parameter_tuning_job_objective_metric.value,
    "completed": job.training_job_status_counters.completed,
    "rows": json.loads(json.dumps(frame.to_dict(orient="records"), default=str)),
    "columns": sorted(frame.columns),
    "children": {c.training_job_name: {
        "status": c.training_job_status, "tuned": c.tuned_hyper_parameters,
        "objective": c.final_hyper_parameter_tuning_job_objective_metric.value}
        for c in children},
    "best_job": {"status": best_job.training_job_status,
                 "hyperparameters": best_job.hyper_parameters,
                 "model_data": best_job.model_artifacts.s3_model_artifacts,
                 "final_metrics": {m.metric_name: m.value
                                   for m in best_job.final_metric_data_list}},
    "tune_seconds": tune_seconds}), flush=True)
