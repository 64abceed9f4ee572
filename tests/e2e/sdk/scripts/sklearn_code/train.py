"""scikit-learn (script mode) entry point: what a user hands to sagemaker.sklearn.SKLearn."""

import argparse
import json
import os

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

parser = argparse.ArgumentParser()
# The toolkit passes a one-letter hyperparameter as "-C 0.5", as on SageMaker.
parser.add_argument("-C", "--C", type=float, default=1.0)
parser.add_argument("--max-iter", type=int, default=100)
parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
parser.add_argument("--output-data-dir", default=os.environ.get("SM_OUTPUT_DATA_DIR"))
parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
args = parser.parse_args()


def load(directory):
    data = np.vstack([np.loadtxt(os.path.join(directory, name), delimiter=",", ndmin=2)
                      for name in sorted(os.listdir(directory))])
    return data[:, 1:], data[:, 0]


X_train, y_train = load(args.train)
X_valid, y_valid = load(args.validation)
model = make_pipeline(StandardScaler(), LogisticRegression(C=args.C, max_iter=args.max_iter))
model.fit(X_train, y_train)
joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
proba = model.predict_proba(X_valid)[:, 1]
with open(os.path.join(args.output_data_dir, "predictions.json"), "w") as fh:
    json.dump({"proba": proba.tolist(), "C": args.C}, fh)
accuracy = float(((proba > 0.5) == y_valid).mean())
print(f"kamado-sdk-sklearn-script: C={args.C} validation accuracy {accuracy:.4f}", flush=True)
