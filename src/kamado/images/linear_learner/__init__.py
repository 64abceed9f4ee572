"""The Linear Learner image (``linear-learner``):
``python -m kamado.images.linear_learner train``."""
