"""The built-in K-Means (``kmeans`` images) on scikit-learn: a streaming mini-batch k-means
with extra centres, reduced to k by a weighted Lloyd's k-means.

    model = fit(X, {"k": 10})   # AWS's hyperparameter names; feature_dim from X
    model.predict(X)            # [{"closest_cluster": 3.0, "distance_to_cluster": 1.2}, …]
    model.save(directory)       # model_algo-1; load_model(path) reads it back

``job`` is the training job, ``inference`` the model server's handlers.
"""

from kamado.algorithms.kmeans.clustering import fit
from kamado.algorithms.kmeans.definitions import metric_definitions
from kamado.algorithms.kmeans.hyperparameters import validate
from kamado.algorithms.kmeans.model import FILE, KMeansModel, load_model


def predict(model: KMeansModel, X) -> list[dict]:
    """K-Means' inference output for each row of X (dense or scipy sparse)."""
    return model.predict(X)


__all__ = ["FILE", "KMeansModel", "fit", "load_model", "metric_definitions", "predict",
           "validate"]
