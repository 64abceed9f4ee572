"""The PCA image (``pca``): ``python -m kamado.images.pca train|serve``."""
