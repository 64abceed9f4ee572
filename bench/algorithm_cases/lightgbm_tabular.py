"""LightGBM (JumpStart): kamado's job against ``lightgbm.train`` called directly on the same
CSV files (pandas reads them, as a user would) with AWS's defaults and the same early
stopping; and one CSV record answered by each."""

from __future__ import annotations

import io

import numpy as np

from algorithm_cases import Case, Data, tabular

# what the direct side imports before its clock starts, as a fork server does for a job
LIBRARIES = ("pandas", "lightgbm")

ROUNDS = 100
PARAMS = dict(objective="binary", metric="binary_logloss", learning_rate=0.1, num_leaves=64,
              feature_fraction=0.9, bagging_fraction=0.9, bagging_freq=1, max_depth=6,
              min_data_in_leaf=3, max_delta_step=0.0, lambda_l1=0.0, lambda_l2=0.0,
              boosting="gbdt", min_gain_to_split=0.0, scale_pos_weight=1.0,
              tree_learner="serial", feature_fraction_bynode=1.0, is_unbalance=False,
              max_bin=255, tweedie_variance_power=1.5, num_threads=0, verbosity=1)


def make(rows: int, seed: int) -> Data:
    return tabular.make(rows, seed, train="train")


def fit(paths):
    import lightgbm as lgb

    X, y = tabular.read(paths["train"])
    Xv, yv = tabular.read(paths["validation"])
    train = lgb.Dataset(X, y)
    return lgb.train(PARAMS, train, ROUNDS,
                     valid_sets=[lgb.Dataset(Xv, yv, reference=train)],
                     valid_names=["validation"],
                     callbacks=[lgb.log_evaluation(1), lgb.early_stopping(10)])


def predict(booster, request: bytes):
    X = np.loadtxt(io.BytesIO(request), delimiter=",", dtype=np.float32, ndmin=2)
    return {"probabilities": booster.predict(X, num_iteration=booster.best_iteration).tolist()}


CASES = [Case(
    name="LightGBM", image="lightgbm", rows=200_000, make=make,
    hyperparameters={"num_boost_round": str(ROUNDS)},
    fit=fit, predict=predict,
    notes="binary, 20 features, AWS's defaults, 100 rounds with early stopping on a "
          "validation channel; the direct side reads the CSV with pandas")]
