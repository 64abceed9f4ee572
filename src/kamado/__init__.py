"""kamado: a self-hosted machine-learning platform that speaks the SageMaker wire APIs."""

__version__ = "0.1.0"
