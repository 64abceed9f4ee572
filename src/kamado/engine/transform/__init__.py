"""Batch transform: a job's input objects split into records, sent in mini-batches to model
servers started from its model, and the answers assembled into one ``.out`` object per input
object (inference-contract.md §12)."""
