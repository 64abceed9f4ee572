"""The k-NN image (``knn``): ``python -m kamado.images.knn train|serve``."""
