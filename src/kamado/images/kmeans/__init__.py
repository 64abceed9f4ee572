"""The K-Means image (``kmeans``): ``python -m kamado.images.kmeans train|serve``."""
