"""``model_algo-1`` as kamado's first-party algorithms write it: a NumPy ``.npz`` (no pickle)
of the model's arrays plus a JSON ``meta`` entry that names the format and its version, so a
file of another algorithm or a newer kamado is refused with a reason, not misread.

Files written before an algorithm named its format (k-NN, LDA, Factorization Machines and IP
Insights until 2026-12) have no such ``meta``; where the algorithm says so (``legacy``), they
read as version 0 of its format."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

FILE = "model_algo-1"


def write(target: Path | str, meta: dict, arrays: dict, streams: dict | None = None) -> Path:
    """Write into a directory (as ``model_algo-1``) or to the file path given; ``meta`` holds
    at least ``format`` and ``version``; ``streams`` as for :func:`_savez`."""
    path = Path(target)
    if path.is_dir():
        path = path / FILE
    return _savez(path, {"meta": np.array(json.dumps(meta)), **arrays}, streams)


def _savez(path: Path, arrays: dict, streams: dict | None = None) -> Path:
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


def read(source: Path | str, format: str, version: int, algorithm: str,
         required: tuple[str, ...] = (), legacy: bool = False) -> tuple[dict, dict]:
    """(meta, arrays) of a file (or of the directory holding it, e.g. an extracted
    model.tar.gz); ValueError when it is not ``format`` at ``version`` or older, or lacks one
    of the ``required`` arrays. ``legacy``: the algorithm wrote files without a format
    ``meta`` once; such a file is version 0 (refused otherwise)."""
    path = Path(source)
    if path.is_dir():
        path = path / FILE
    refused = f"{path.name} is not a kamado {algorithm} model"
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("it is one array, not an .npz archive")
        with loaded as archive:
            arrays = {k: archive[k] for k in archive.files}
        meta = arrays.get("meta")
        if isinstance(meta, np.ndarray) and meta.dtype.kind == "U" and meta.ndim == 0:
            meta = json.loads(str(arrays.pop("meta")))
        elif legacy:  # written before the algorithm named its format (LDA's was uint8)
            meta = {"format": format, "version": 0}
        else:
            raise ValueError("it names no format")
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{refused}: {exc}") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{refused}.")
    if meta.get("format") != format:
        raise ValueError(f"{refused} (its format is {meta.get('format')!r}).")
    if meta.get("version", 0) > version:
        raise ValueError(f"{refused} of a known version (version {meta.get('version')}; this "
                         f"kamado reads up to {version}).")
    missing = [name for name in required if name not in arrays]
    if missing:
        raise ValueError(f"{refused}: it has no {', '.join(missing)}.")
    return meta, arrays
