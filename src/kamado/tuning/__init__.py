"""Automatic model tuning as a library: search spaces from AWS's ParameterRanges
(:mod:`.space`), Optuna-driven searches (:mod:`.search`) and what a tuning job reports of its
training jobs (:mod:`.progress`). No HTTP, no store."""
