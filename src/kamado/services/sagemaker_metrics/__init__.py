"""sagemaker-metrics: the SageMaker Metrics data plane (BatchPutMetrics, BatchGetMetrics)."""
