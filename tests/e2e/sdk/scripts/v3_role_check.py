"""SageMaker Python SDK v3: does ModelTrainer accept an execution role with the SDK's role
validation left on (its default)? It asks IAM: SimulatePrincipalPolicy, then GetRole.

Run inside the SDK's venv with AWS_PROFILE=kamado; argv[1] is a JSON object of inputs.
Prints one line ``KAMADO-SDK-RESULT <json>``.
"""

import json
import sys

from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session
from sagemaker.train import ModelTrainer

args = json.loads(sys.argv[1])
sess = Session()
error = None
try:
    trainer = ModelTrainer(
        training_image=image_uris.retrieve("xgboost", sess.boto_region_name, "1.7-1"),
        role=args["role"], sagemaker_session=sess, hyperparameters={"num_round": 1})
    role = trainer.role
except Exception as exc:  # reported in the result line; the test decides
    error, role = f"{type(exc).__name__}: {exc}", None
print("KAMADO-SDK-RESULT " + json.dumps({"role": role, "error": error}), flush=True)
