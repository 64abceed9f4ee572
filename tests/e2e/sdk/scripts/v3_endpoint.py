"""SageMaker Python SDK v3: train with ModelTrainer, then deploy and invoke twice — with the
SDK's resource classes (sagemaker.core.resources Model / EndpointConfig / Endpoint), and with
ModelBuilder(model=trainer).build() / .deploy() — against kamado.

Run inside the SDK's venv with AWS_PROFILE=kamado; argv[1] is a JSON object of inputs.
Prints one line ``KAMADO-SDK-RESULT <json>``.
"""

import json
import sys

from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.resources import Endpoint, EndpointConfig, Model
from sagemaker.core.shapes import ContainerDefinition, ProductionVariant
from sagemaker.core.training.configs import Compute, InputData
from sagemaker.serve import ModelBuilder
from sagemaker.train import ModelTrainer

args = json.loads(sys.argv[1])
sess = Session()
image = image_uris.retrieve("xgboost", sess.boto_region_name, "1.7-1")
trainer = ModelTrainer(training_image=image, role=args["role"], sagemaker_session=sess,
                       base_job_name=args["name"], hyperparameters=args["hyperparameters"],
                       compute=Compute(instance_type="ml.m5.large", instance_count=1))
trainer.train(input_data_config=[InputData(channel_name="train", data_source=args["train"],
                                           content_type="text/csv")], wait=True, logs=False)
job = trainer._latest_training_job
job.refresh()
model_data = job.model_artifacts.s3_model_artifacts

name = args["name"]
Model.create(model_name=name, execution_role_arn=args["role"],
             primary_container=ContainerDefinition(image=image, model_data_url=model_data))
EndpointConfig.create(endpoint_config_name=name, production_variants=[ProductionVariant(
    variant_name="AllTraffic", model_name=name, instance_type="ml.m5.large",
    initial_instance_count=1)])
endpoint = Endpoint.create(endpoint_name=name, endpoint_config_name=name)
endpoint.wait_for_status("InService", poll=1)
answer = endpoint.invoke(body=args["csv"], content_type="text/csv")
predictions = answer.body.read().decode()
endpoint.delete()

builder = ModelBuilder(model=trainer, image_uri=image, role_arn=args["role"],
                       instance_type="ml.m5.large", sagemaker_session=sess)
builder.build()
built = builder.deploy(endpoint_name=f"{name}-builder")
builder_predictions = built.invoke(body=args["csv"], content_type="text/csv").body.read().decode()
built.delete()
print()
print("KAMADO-SDK-RESULT " + json.dumps({
    "model_data": model_data, "status": endpoint.endpoint_status,
    "predictions": predictions, "builder_predictions": builder_predictions}), flush=True)
