"""The built-in IP Insights (builtin-algorithms.md §3.8) in NumPy: ``fit`` and ``load_model``
for library use; ``job`` is the training job, ``inference`` the model server's handlers."""

from kamado.algorithms.ip_insights.addresses import parse_ipv4
from kamado.algorithms.ip_insights.hyperparameters import validate
from kamado.algorithms.ip_insights.model import FILE, IPInsightsModel, load_model
from kamado.algorithms.ip_insights.trainer import discriminator_auc, fit

__all__ = ["FILE", "IPInsightsModel", "discriminator_auc", "fit", "load_model", "parse_ipv4",
           "validate"]
