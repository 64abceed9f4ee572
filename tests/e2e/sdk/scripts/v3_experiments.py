"""SageMaker Python SDK v3: experiment tracking with ``sagemaker.core.experiments.Run`` and the
``sagemaker.core.resources.TrialComponent`` resource class against kamado.

Run inside the SDK's venv with AWS_PROFILE=kamado; argv[1] is a JSON object of inputs.
Logs two runs as the v2 script does (v3 keeps the same Run API under sagemaker.core), adds to
the first with ``load_run``, then reads back through ``list_runs``,
``sagemaker.core.analytics.ExperimentAnalytics`` and the resource class
(``TrialComponent.get``, ``batch_put_metrics``, ``TrialComponent.batch_get_metrics``).
Prints one line ``KAMADO-SDK-RESULT <json>``.
"""

import datetime as dt
import json
import sys
from importlib.metadata import version
from pathlib import Path

from sagemaker.core.analytics import ExperimentAnalytics
from sagemaker.core.experiments.run import Run, list_runs, load_run
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.resources import TrialComponent
from sagemaker.core.shapes import MetricQuery, RawMetricData

args = json.loads(sys.argv[1])
sess = Session()                    # bucket and role come from the SDK's config file
experiment = args["experiment"]
y_true, y_score = args["y_true"], args["y_score"]
y_pred = [int(s >= 0.5) for s in y_score]
notes = Path("notes.txt")
notes.write_text("kamado experiment notes\n")

result = {"sdk": version("sagemaker"), "runs": {}}
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

first = next(iter(args["runs"]))
with load_run(experiment_name=experiment, run_name=first, sagemaker_session=sess) as run:
    run.log_metric(name="loss", value=args["resumed_loss"],
                   step=len(args["runs"][first]["losses"]))
    run.log_parameter("resumed", "yes")
    result["loaded"] = run._trial_component.trial_component_name

# The resource class: the run's trial component, its metrics put and read directly.
tc_name = result["runs"][first]["trial_component"]
tc = TrialComponent.get(trial_component_name=tc_name, session=sess.boto_session)
result["resource"] = {
    "name": tc.trial_component_name, "arn": tc.trial_component_arn,
    "status": tc.status.primary_status,
    "parameters": sorted(tc.parameters),
    "metrics": sorted({m.metric_name for m in tc.metrics}),
}
# Steps from 1: the resource class's serializer leaves out a Step of 0 (a falsy value).
tc.batch_put_metrics(metric_data=[
    RawMetricData(metric_name="f1", timestamp=dt.datetime.now(dt.timezone.utc), step=i,
                  value=value) for i, value in enumerate(args["f1"], start=1)],
    session=sess.boto_session)
got = TrialComponent.batch_get_metrics(metric_queries=[
    MetricQuery(metric_name="f1", resource_arn=tc.trial_component_arn, metric_stat="Avg",
                period="IterationNumber", x_axis_type="IterationNumber"),
    MetricQuery(metric_name="loss", resource_arn=tc.trial_component_arn, metric_stat="Last",
                period="IterationNumber", x_axis_type="IterationNumber")],
    session=sess.boto_session)
result["batch_get"] = [{"status": r.status, "x": r.x_axis_values, "y": r.metric_values}
                       for r in got.metric_query_results]

result["list_runs"] = sorted(r.run_name for r in list_runs(experiment_name=experiment,
                                                            sagemaker_session=sess))
frame = ExperimentAnalytics(experiment_name=experiment, sagemaker_session=sess).dataframe()
result["columns"] = list(frame.columns)
result["rows"] = json.loads(frame.to_json(orient="records"))
print("KAMADO-SDK-RESULT " + json.dumps(result, default=str))
