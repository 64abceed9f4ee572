"""XGBoost framework (script mode) entry point: what a user hands to sagemaker.xgboost.XGBoost."""

import argparse
import os

import numpy as np
import xgboost as xgb

parser = argparse.ArgumentParser()
parser.add_argument("--num_round", type=int, default=10)
parser.add_argument("--max_depth", type=int, default=6)
parser.add_argument("--eta", type=float, default=0.3)
parser.add_argument("--objective", default="binary:logistic")
parser.add_argument("--eval_metric", default="auc")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
parser.add_argument("--validation", default=os.environ["SM_CHANNEL_VALIDATION"])
args = parser.parse_args()


def load(directory):
    data = np.vstack([np.loadtxt(os.path.join(directory, name), delimiter=",", ndmin=2)
                      for name in sorted(os.listdir(directory))])
    return xgb.DMatrix(data[:, 1:], label=data[:, 0])


dtrain, dvalid = load(args.train), load(args.validation)
params = {"objective": args.objective, "max_depth": args.max_depth, "eta": args.eta,
          "eval_metric": args.eval_metric, "seed": args.seed}
booster = xgb.train(params, dtrain, num_boost_round=args.num_round,
                    evals=[(dtrain, "train"), (dvalid, "validation")])
booster.save_model(os.path.join(args.model_dir, "xgboost-model"))
print(f"kamado-sdk-xgboost-script: saved {args.num_round} rounds", flush=True)
