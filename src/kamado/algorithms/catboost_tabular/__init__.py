"""The JumpStart CatBoost built-in (``catboost`` image; builtin-algorithms.md §3.20), as a
plain library over ``catboost``:

    model = fit({"iterations": "50"}, X, y, validation=(X_val, y_val))
    predict(model, X)          # probabilities (classification) or predictions (regression)
    model.save(directory)      # model.cbm (CatBoost's format) + kamado-tabular.json

Hyperparameters take AWS's names and string values, as a job's HyperParameters do.
"""

from kamado.algorithms.catboost_tabular.definitions import metric_definitions
from kamado.algorithms.catboost_tabular.hyperparameters import validate as validate_hyperparameters
from kamado.algorithms.catboost_tabular.model import CatBoostModel, fit, load_model, predict

__all__ = ["CatBoostModel", "fit", "load_model", "metric_definitions", "predict",
           "validate_hyperparameters"]
