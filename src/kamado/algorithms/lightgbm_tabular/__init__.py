"""The JumpStart LightGBM built-in (``lightgbm`` image; builtin-algorithms.md §3.19), as a
plain library over ``lightgbm``:

    model = fit({"num_boost_round": "50"}, X, y, validation=(X_val, y_val))
    predict(model, X)          # probabilities (classification) or predictions (regression)
    model.save(directory)      # model.pkl (joblib) + kamado-tabular.json; load_model reads it

Hyperparameters take AWS's names and string values, as a job's HyperParameters do.
"""

from kamado.algorithms.lightgbm_tabular.definitions import metric_definitions
from kamado.algorithms.lightgbm_tabular.hyperparameters import validate as validate_hyperparameters
from kamado.algorithms.lightgbm_tabular.model import LightGBMModel, fit, load_model, predict

__all__ = ["LightGBMModel", "fit", "load_model", "metric_definitions", "predict",
           "validate_hyperparameters"]
