"""The built-in Linear Learner (``linear-learner`` images), as a plain numpy library.

    model = fit({"predictor_type": "regressor"}, X, y, validation=(X_val, y_val))
    predict(model, X)          # [{"score": 151.2}, …] — Linear Learner's inference output
    model.save(directory)      # model_algo-1; load_model(path) reads it back

Hyperparameters take AWS's names and string values (as a job's HyperParameters do);
:func:`metric_definitions` gives the MetricDefinitions SageMaker fills in for the image.
"""

from __future__ import annotations

import numpy as np

from kamado.algorithms.linear_learner.definitions import metric_definitions
from kamado.algorithms.linear_learner.evaluation import evaluate
from kamado.algorithms.linear_learner.hyperparameters import validate as validate_hyperparameters
from kamado.algorithms.log import JobLog
from kamado.algorithms.linear_learner.model import LinearModel, load_model, predict
from kamado.algorithms.linear_learner.trainer import Data, Result
from kamado.algorithms.linear_learner.trainer import fit as fit_resolved


def fit(hyperparameters: dict, X, y, *, validation: tuple | None = None,
        sample_weight=None, seed: int = 0, log: JobLog | None = None) -> LinearModel:
    """Train on arrays (X dense or scipy sparse); ``validation=(X_val, y_val)`` selects the
    model, calibrates the threshold and drives early stopping, as the validation channel
    does. Raises ClientError for invalid hyperparameters or labels."""
    hp = validate_hyperparameters(hyperparameters)
    train = Data(X, np.asarray(y, float), None if sample_weight is None
                 else np.asarray(sample_weight, float))
    val = None if validation is None else Data(validation[0], np.asarray(validation[1], float))
    return fit_resolved(hp, train, val, seed=seed, log=log).model


__all__ = ["Data", "JobLog", "LinearModel", "Result", "evaluate", "fit", "fit_resolved",
           "load_model", "metric_definitions", "predict", "validate_hyperparameters"]
