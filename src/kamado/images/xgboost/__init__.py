"""The XGBoost image: the built-in algorithm, or framework script mode when the job names a
``sagemaker_program`` (AWS's ``sagemaker-xgboost`` images do both)."""
