"""CatBoost (JumpStart): kamado's job against ``CatBoostClassifier`` called directly on the
same CSV files (pandas reads them, as a user would) with AWS's defaults, the validation file
as eval_set; and one CSV record answered by each."""

from __future__ import annotations

import io

import numpy as np

from algorithm_cases import Case, Data, tabular

# what the direct side imports before its clock starts, as a fork server does for a job
LIBRARIES = ("pandas", "catboost")

ITERATIONS = 100
PARAMS = dict(iterations=ITERATIONS, learning_rate=0.1, depth=6, l2_leaf_reg=3.0,
              random_strength=1.0, rsm=1.0, sampling_frequency="PerTreeLevel",
              bagging_temperature=1.0, grow_policy="SymmetricTree", random_seed=1,
              thread_count=-1, verbose=1, loss_function="Logloss", eval_metric="Logloss",
              early_stopping_rounds=5, scale_pos_weight=1.0, allow_writing_files=False)


def make(rows: int, seed: int) -> Data:
    return tabular.make(rows, seed, train="training")


def fit(paths):
    import catboost

    X, y = tabular.read(paths["training"])
    model = catboost.CatBoostClassifier(**PARAMS)
    model.fit(X, y, eval_set=tabular.read(paths["validation"]), use_best_model=True)
    return model


def predict(model, request: bytes):
    X = np.loadtxt(io.BytesIO(request), delimiter=",", dtype=np.float32, ndmin=2)
    return {"probabilities": model.predict_proba(X)[:, 1].tolist()}


CASES = [Case(
    name="CatBoost", image="catboost", rows=50_000, make=make,
    hyperparameters={"iterations": str(ITERATIONS), "learning_rate": "0.1"},
    fit=fit, predict=predict,
    notes="binary, 20 features, AWS's defaults but learning_rate 0.1, 100 iterations with "
          "early stopping on a validation channel; the direct side reads the CSV with pandas")]
