"""What AWS's JumpStart tabular algorithms (LightGBM, CatBoost; builtin-algorithms.md §1.3,
§3.19, §3.20) share: CSV channels with the label first and an optional
``categorical_index.json``, the choice between classification and regression, the
``model.tar.gz`` side file that says what a model is, and the inference response shapes."""
