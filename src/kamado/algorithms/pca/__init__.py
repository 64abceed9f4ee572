"""The built-in PCA (``pca`` images): the exact covariance streamed over mini-batches
(``regular``) or scikit-learn's randomized SVD (``randomized``).

    model = fit(X, {"num_components": 5})   # AWS's names; feature_dim from X
    model.predict(X)     # [{"projection": [...]}, …] — least significant component first
    model.save(directory)                   # model_algo-1; load_model(path) reads it back

``job`` is the training job, ``inference`` the model server's handlers.
"""

from kamado.algorithms.pca.decomposition import fit
from kamado.algorithms.pca.definitions import metric_definitions
from kamado.algorithms.pca.hyperparameters import validate
from kamado.algorithms.pca.model import FILE, PCAModel, load_model


def predict(model: PCAModel, X) -> list[dict]:
    """PCA's inference output for each row of X (dense or scipy sparse)."""
    return model.predict(X)


__all__ = ["FILE", "PCAModel", "fit", "load_model", "metric_definitions", "predict",
           "validate"]
