"""SageMaker Python SDK v2: train the built-in XGBoost, deploy it, predict through the Predictor
with its CSV serializer, then delete the endpoint — against kamado.

Run inside the SDK's venv with AWS_PROFILE=kamado; argv[1] is a JSON object of inputs.
Prints one line ``KAMADO-SDK-RESULT <json>``.
"""

import json
import sys
import time

import sagemaker
from sagemaker.deserializers import CSVDeserializer
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.serializers import CSVSerializer

args = json.loads(sys.argv[1])
sess = sagemaker.Session()          # bucket and role come from the SDK's config file
train = sess.upload_data(args["train"], key_prefix="deploy/train")
estimator = Estimator(
    image_uri=sagemaker.image_uris.retrieve("xgboost", sess.boto_region_name, "1.7-1"),
    instance_count=1, instance_type="ml.m5.large",
    hyperparameters=args["hyperparameters"], sagemaker_session=sess)
estimator.fit({"train": TrainingInput(train, content_type="text/csv")}, wait=True, logs=False,
              job_name=args["job_name"])

started = time.monotonic()
predictor = estimator.deploy(initial_instance_count=1, instance_type="ml.m5.large",
                             endpoint_name=args["endpoint_name"], serializer=CSVSerializer(),
                             deserializer=CSVDeserializer())
deploy_seconds = time.monotonic() - started
predictions = predictor.predict(args["rows"])
endpoint = sess.sagemaker_client.describe_endpoint(EndpointName=args["endpoint_name"])
predictor.delete_model()      # first: it finds the model through the endpoint config,
predictor.delete_endpoint()   # which this deletes too
try:  # deletion is asynchronous: Deleting, then gone
    status_after_delete = sess.sagemaker_client.describe_endpoint(
        EndpointName=args["endpoint_name"])["EndpointStatus"]
except Exception as exc:  # noqa: BLE001 - reported; the test decides
    status_after_delete = f"{type(exc).__name__}: {exc}"
print()  # the SDK's deploy progress ("!") leaves the line open
print("KAMADO-SDK-RESULT " + json.dumps({
    "model_data": estimator.model_data, "endpoint_status": endpoint["EndpointStatus"],
    "variant": endpoint["ProductionVariants"][0]["VariantName"],
    "predictions": predictions, "status_after_delete": status_after_delete, "deploy_seconds": deploy_seconds}), flush=True)
