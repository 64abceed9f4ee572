"""The built-in k-NN (builtin-algorithms.md §3.5) on faiss: ``fit`` and ``load_model`` for
library use; ``job`` is the training job, ``inference`` the model server's handlers."""

from kamado.algorithms.knn.hyperparameters import validate
from kamado.algorithms.knn.model import FILE, KNNModel, fit, load_model, majority

__all__ = ["FILE", "KNNModel", "fit", "load_model", "majority", "validate"]
