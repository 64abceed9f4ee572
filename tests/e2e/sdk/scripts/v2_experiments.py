"""SageMaker Python SDK v2: experiment tracking with ``sagemaker.experiments.Run`` against
kamado.

Run inside the SDK's venv with AWS_PROFILE=kamado; argv[1] is a JSON object of inputs.
Logs two runs (parameters, a loss curve by step, a final metric, an input artifact, a file, a
confusion matrix, an ROC curve, a precision-recall curve), adds to the first with
``load_run``, trains the built-in XGBoost inside a third run (the job's trial component joins
the run group), then reads everything back the ways the SDK offers: ``list_runs`` and
``ExperimentAnalytics(...).dataframe()``. Prints one line ``KAMADO-SDK-RESULT <json>``.
"""

import json
import sys
import time
from pathlib import Path

import sagemaker
from sagemaker.analytics import ExperimentAnalytics
from sagemaker.estimator import Estimator
from sagemaker.experiments.run import Run, list_runs, load_run
from sagemaker.inputs import TrainingInput

args = json.loads(sys.argv[1])
sess = sagemaker.Session()          # bucket and role come from the SDK's config file
experiment = args["experiment"]
y_true, y_score = args["y_true"], args["y_score"]
y_pred = [int(s >= 0.5) for s in y_score]
notes = Path("notes.txt")
notes.write_text("kamado experiment notes\n")

result = {"sdk": sagemaker.__version__, "runs": {}}
for run_name, spec in args["runs"].items():
    with Run(experiment_name=experiment, run_name=run_name, sagemaker_session=sess) as run:
        run.log_parameters(spec["parameters"])
        run.log_parameter("optimizer", "adam")
        for step, loss in enumerate(spec["losses"]):
            run.log_metric(name="loss", value=loss, step=step)
        run.log_metric(name="accuracy", value=spec["accuracy"])
        run.log_artifact(name="dataset", value=args["dataset_uri"], media_type="text/csv",
                         is_output=False)
        run.log_file(str(notes), name="notes", is_output=True)
        run.log_confusion_matrix(y_true, y_pred, title="confusion-matrix")
        run.log_roc_curve(y_true, y_score, title="roc-curve")
        run.log_precision_recall(y_true, y_score, title="precision-recall", positive_label=1)
        result["runs"][run_name] = {"experiment_config": run.experiment_config,
                                    "trial_component": run._trial_component.trial_component_name}

# load_run: the same run again, by name; what it logs adds to what is there.
first = next(iter(args["runs"]))
with load_run(experiment_name=experiment, run_name=first, sagemaker_session=sess) as run:
    run.log_metric(name="loss", value=args["resumed_loss"],
                   step=len(args["runs"][first]["losses"]))
    run.log_parameter("resumed", "yes")
    result["loaded"] = run._trial_component.trial_component_name

# A training job started inside a run: the SDK passes the run's ExperimentConfig.
train = sess.upload_data(args["train"], key_prefix=f"{experiment}/train")
validation = sess.upload_data(args["validation"], key_prefix=f"{experiment}/validation")
estimator = Estimator(
    image_uri=sagemaker.image_uris.retrieve("xgboost", sess.boto_region_name, "1.7-1"),
    instance_count=1, instance_type="ml.m5.large",
    output_path=f"s3://{sess.default_bucket()}/{experiment}/output",
    hyperparameters=args["hyperparameters"], sagemaker_session=sess)
with Run(experiment_name=experiment, run_name="xgboost", sagemaker_session=sess) as run:
    run.log_parameter("algorithm", "xgboost")
    started = time.monotonic()
    estimator.fit({"train": TrainingInput(train, content_type="text/csv"),
                   "validation": TrainingInput(validation, content_type="text/csv")},
                  job_name=args["job_name"], wait=True, logs=False)
    result["fit_seconds"] = time.monotonic() - started
    result["job_experiment_config"] = sess.sagemaker_client.describe_training_job(
        TrainingJobName=args["job_name"]).get("ExperimentConfig")

result["list_runs"] = sorted(r.run_name for r in list_runs(experiment_name=experiment,
                                                            sagemaker_session=sess))
frame = ExperimentAnalytics(experiment_name=experiment, sagemaker_session=sess).dataframe()
result["columns"] = list(frame.columns)
result["rows"] = json.loads(frame.to_json(orient="records"))
only = ExperimentAnalytics(experiment_name=experiment, sagemaker_session=sess,
                           parameter_names=["learning_rate"], metric_names=["loss"]).dataframe()
result["filtered_columns"] = list(only.columns)
print("KAMADO-SDK-RESULT " + json.dumps(result, default=str))
