"""The built-in LDA (builtin-algorithms.md §3.9) on scikit-learn's LatentDirichletAllocation:
``fit`` and ``load_model`` for library use; ``job`` is the training job, ``inference`` the
model server's handlers."""

from kamado.algorithms.lda.hyperparameters import validate
from kamado.algorithms.lda.model import FILE, LDAModel, estimator, fit, load_model

__all__ = ["FILE", "LDAModel", "estimator", "fit", "load_model", "validate"]
