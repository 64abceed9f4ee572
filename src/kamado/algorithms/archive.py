"""``model_algo-1`` as kamado's first-party algorithms write it: a NumPy ``.npz`` (no pickle)
of the model's arrays plus a JSON ``meta`` entry that names the format and its version, so a
file of another algorithm or a newer kamado is refused with a reason, not misread."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

FILE = "model_algo-1"


def write(target: Path | str, meta: dict, arrays: dict) -> Path:
    """Write into a directory (as ``model_algo-1``) or to the file path given."""
    path = Path(target)
    if path.is_dir():
        path = path / FILE
    return savez(path, {"meta": np.array(json.dumps(meta)), **arrays})


def savez(path: Path, arrays: dict, streams: dict | None = None) -> Path:
    """An uncompressed ``.npz`` at exactly ``path`` (model.tar.gz compresses it once), as
    ``np.savez`` writes one. ``streams``: entries that ``write(file)`` fills straight in the
    archive — a library's own serializer (faiss) then writes a large model without first
    building a copy of it in memory; ``np.load`` hands such an entry back as bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, value in arrays.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
                np.lib.format.write_array(out, np.asanyarray(value), allow_pickle=False)
        for name, write in (streams or {}).items():
            with zf.open(name, "w", force_zip64=True) as out:
                write(out)
    return path


def read(source: Path | str, format: str, version: int, algorithm: str) -> tuple[dict, dict]:
    """(meta, arrays) of a file (or of the directory holding it, e.g. an extracted
    model.tar.gz); ValueError when it is not ``format`` at ``version`` or older."""
    path = Path(source)
    if path.is_dir():
        path = path / FILE
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"]))
            arrays = {k: archive[k] for k in archive.files if k != "meta"}
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{path.name} is not a kamado {algorithm} model: {exc}") from None
    if meta.get("format") != format or meta.get("version", 0) > version:
        raise ValueError(f"{path.name} is not a kamado {algorithm} model of a known version.")
    return meta, arrays
