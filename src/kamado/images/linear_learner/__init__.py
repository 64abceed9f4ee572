"""The Linear Learner image (``linear-learner``)."""
