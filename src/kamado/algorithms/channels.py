"""The channels of a built-in algorithm's training job, read the way AWS's first-party
algorithms read them (builtin-algorithms.md §2.1).

``text/csv`` has no header and ``label_size`` leading label columns (1 unless the content type
says ``label_size=0``); ``application/x-recordio-protobuf`` is what a channel without a
ContentType holds (the SDK's RecordSet sends none). Every problem is a ClientError that names
the channel, because that is what the user has to fix.

    check(env, "K-Means", allowed=("train", "test"))
    train = read(env, "train", "K-Means", label="ignored", feature_dim=hp["feature_dim"])
"""

from __future__ import annotations

from kamado.algorithms.data import (CSV, RECORDIO, Dataset, all_finite, load_channel,
                                    parse_content_type)
from kamado.images.environment import TrainingEnvironment
from kamado.images.program import ClientError

_NAMES = {CSV: "text/csv", RECORDIO: "application/x-recordio-protobuf"}


def check(env: TrainingEnvironment, algorithm: str, allowed: tuple[str, ...],
          required: tuple[str, ...] = ("train",)) -> None:
    """Refuse channels the algorithm does not use, and missing required ones."""
    unknown = [c for c in env.channels if c not in allowed]
    if unknown:
        listed = ", ".join(f"{c} (required)" if c in required else c for c in allowed)
        raise ClientError(f"Channel {unknown[0]} is not used by {algorithm}; its channels are "
                          f"{listed}.")
    for channel in required:
        if channel not in env.input_data_config:
            raise ClientError(f"{algorithm} requires a {channel} channel.")


def widen(X, width: int):
    """Sparse records reach only their last non-zero feature; give them the model's width."""
    if hasattr(X, "toarray") and X.shape[1] < width:
        import scipy.sparse as sp

        return sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], width))
    return X


def read(env: TrainingEnvironment, channel: str, algorithm: str, *, label: str = "required",
         feature_dim: int | None = None, formats: tuple[str, ...] = (CSV, RECORDIO),
         default: str = RECORDIO, dense: bool = False) -> Dataset:
    """One channel as a Dataset (float32 X, dense or CSR; y float32 or None).

    ``label``: "required" (a ClientError when the data has none), "optional", or "ignored"
    (unsupervised: y dropped). ``feature_dim``: every record must have this many features.
    ``dense``: sparse input is densified (for algorithms whose library needs arrays)."""
    content_type = env.content_type(channel)
    mime, _ = parse_content_type(content_type, default)
    if mime not in formats:
        raise ClientError(f"Channel {channel}: content type {content_type} is not supported by "
                          f"{algorithm}; use {' or '.join(_NAMES.get(f, f) for f in formats)}.")
    ds = load_channel(env.channel_dir(channel), content_type, default=default)
    if ds.rows == 0:
        raise ClientError(f"Channel {channel} has no records.")
    if label == "required" and ds.y is None:
        raise ClientError(f"Channel {channel} has no labels; {algorithm} needs the label in the "
                          "first CSV column or in each record's label.")
    if label == "ignored":
        ds.y = None
    X = ds.X if feature_dim is None else widen(ds.X, feature_dim)
    if feature_dim is not None and X.shape[1] != feature_dim:
        hint = (" (for CSV without labels, declare ContentType text/csv;label_size=0)"
                if mime == CSV and label == "ignored" and X.shape[1] == feature_dim - 1
                else "")
        raise ClientError(f"Channel {channel}: the records have {X.shape[1]} features but "
                          f"feature_dim is {feature_dim}{hint}.")
    if dense and hasattr(X, "toarray"):
        X = X.toarray()
    values = X.data if hasattr(X, "toarray") else X
    if not all_finite(values):
        raise ClientError(f"Channel {channel} has missing or infinite feature values; "
                          f"{algorithm} needs a number for every feature.")
    ds.X = X
    return ds
