"""The Factorization Machines image (``factorization-machines``):
``python -m kamado.images.factorization_machines train|serve``."""
