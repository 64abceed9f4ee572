"""Training state saved after every epoch, so that a job restarted with the same checkpoint
directory (managed spot training, a retried job) resumes where it stopped.

One ``.npz`` per host (checkpoint locations are shared by all hosts of a job), written to a
temporary name and renamed, so a job killed mid-write leaves the previous state intact. A
state from a different job (other hyperparameters or data shape) is ignored, not resumed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np


def fingerprint(hp: dict, shape: tuple, seed: int) -> str:
    text = json.dumps({"hp": hp, "shape": list(shape), "seed": seed}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Checkpointer:
    def __init__(self, directory: Path | str, fingerprint: str, host: str = "algo-1"):
        self.path = Path(directory) / f"linear-learner-{host}.npz"
        self.fingerprint = fingerprint

    def load(self) -> tuple[dict, dict] | None:
        """(arrays, meta) of a saved state of this same job, else None."""
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                arrays = {k: archive[k] for k in archive.files}
        except (OSError, ValueError):
            return None
        try:
            meta = json.loads(str(arrays.pop("meta")))
        except (KeyError, ValueError):
            return None
        if meta.get("fingerprint") != self.fingerprint:
            return None
        return arrays, meta

    def save(self, arrays: dict, meta: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, meta=np.array(json.dumps({**meta, "fingerprint": self.fingerprint})),
                 **arrays)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_bytes(buf.getvalue())
        os.replace(tmp, self.path)
