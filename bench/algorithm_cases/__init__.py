"""The cases of ``bench/algorithms.py``: one module per built-in algorithm, each defining
``CASES`` (a list of :class:`Case`).

A case says how to make its data, which hyperparameters the kamado job gets, and what a user
would otherwise run: the underlying library called directly on the same files with the same
settings (``fit``), and that model's answer to one inference request (``predict``). The
harness times both sides in one run and prints the ratios.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np


@dataclass
class Data:
    files: dict[str, bytes]        # channel name -> the one file of that channel
    content_type: str | None       # the channels' ContentType (None: RecordIO, as the SDK)
    request: bytes                 # one InvokeEndpoint body (a single record)
    request_type: str              # its ContentType
    accept: str = "application/json"


@dataclass
class Case:
    name: str                                     # as the table prints it, e.g. "K-Means"
    image: str                                    # kamado's short image name, e.g. "kmeans"
    rows: int                                     # training rows
    make: Callable[[int, int], Data]              # (rows, seed) -> the data
    hyperparameters: dict[str, str]
    fit: Callable[[dict[str, Path]], object]      # channel -> file path; the direct model
    predict: Callable[[object, bytes], object]    # (direct model, request) -> its answer
    notes: str = ""
    extra: dict = field(default_factory=dict)


def csv(X, y=None, fmt: str = "%.6g") -> bytes:
    """Rows as AWS's algorithms read CSV: no header, the label (when given) first."""
    buf = io.StringIO()
    np.savetxt(buf, X if y is None else np.column_stack([y, X]), delimiter=",", fmt=fmt)
    return buf.getvalue().encode()
