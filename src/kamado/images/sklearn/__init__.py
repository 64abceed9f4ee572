"""The scikit-learn framework image: script mode (``sagemaker-scikit-learn``)."""
