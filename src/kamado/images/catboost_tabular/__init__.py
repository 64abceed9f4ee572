"""The CatBoost image (``catboost``; AWS delivers it through JumpStart):
``python -m kamado.images.catboost_tabular train|serve``."""
