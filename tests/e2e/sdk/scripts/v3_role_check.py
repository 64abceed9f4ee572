"""SageMaker Python SDK v3: does ModelTrainer accept an execution role with the SDK's role
validation left on (its default)? It asks IAM: SimulatePrincipalPolicy, then GetRole.

Run inside the SDK's venv with AWS_PROFILE=kamado; argv[1] is a JSON object of inputs
(``roles``: the role ARNs to try). Prints one line ``KAMADO-SDK-RESULT <json>``: for each role,
the role the trainer took, or the error it raised.
"""

import json
import sys

from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session
from sagemaker.train import ModelTrainer

args = json.loads(sys.argv[1])
sess = Session()
results = {}
for requested in args["roles"]:
    error = role = None
    try:
        trainer = ModelTrainer(
            training_image=image_uris.retrieve("xgboost", sess.boto_region_name, "1.7-1"),
            role=requested, sagemaker_session=sess, hyperparameters={"num_round": 1})
        role = trainer.role
    except Exception as exc:  # reported in the result line; the test decides
        error = f"{type(exc).__name__}: {exc}"
    results[requested] = {"role": role, "error": error}
print("KAMADO-SDK-RESULT " + json.dumps(results), flush=True)
