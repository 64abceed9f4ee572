"""The Random Cut Forest image (``randomcutforest``):
``python -m kamado.images.random_cut_forest train|serve``."""
