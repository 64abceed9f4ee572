"""The LightGBM image (``lightgbm``; AWS delivers it through JumpStart):
``python -m kamado.images.lightgbm_tabular train|serve``."""
