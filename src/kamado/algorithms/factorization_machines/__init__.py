"""The built-in Factorization Machines (builtin-algorithms.md §3.7) in NumPy/SciPy: ``fit``
and ``load_model`` for library use; ``job`` is the training job, ``inference`` the model
server's handlers."""

from kamado.algorithms.factorization_machines.hyperparameters import validate
from kamado.algorithms.factorization_machines.model import FILE, FMModel, load_model
from kamado.algorithms.factorization_machines.trainer import fit

__all__ = ["FILE", "FMModel", "fit", "load_model", "validate"]
