"""The scikit-learn framework image (``sagemaker-scikit-learn``): script mode only."""

FRAMEWORK_MODULE = "sagemaker_sklearn_container.training:main"
