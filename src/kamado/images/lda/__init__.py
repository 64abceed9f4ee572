"""The LDA image (``lda``): ``python -m kamado.images.lda train|serve``."""
