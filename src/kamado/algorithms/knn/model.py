"""The k-NN model: a faiss index of sampled training points, their labels, and the optional
projection applied before indexing; and how it answers a query.

Answers, per query row: ``predicted_label`` — for a classifier the label most frequent among
the k nearest neighbours, a tie going to the tied label whose nearest occurrence is closest
(kamado's rule; AWS documents none); for a regressor the mean of their labels — and, when
verbose, ``distances`` and ``labels`` of those neighbours, nearest first, as faiss reports
them (squared Euclidean distances for L2; inner products, largest first, for INNER_PRODUCT
and COSINE).

The artifact ``model_algo-1`` is one ``.npz`` (no pickle, :mod:`kamado.algorithms.archive`,
format ``kamado-knn``): the faiss index as ``faiss.write_index`` writes it (a raw entry), the
labels, the settings and the projection's arrays.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from kamado.algorithms import archive
from kamado.algorithms.knn.reduction import Projection
from kamado.images.program import ClientError

FILE = archive.FILE
FORMAT, VERSION = "kamado-knn", 1
SEED = 0  # k-NN has no seed hyperparameter; a fixed one makes reruns repeat


def _faiss():
    import faiss

    return faiss


def sample(rows: int, size: int, seed: int = SEED) -> np.ndarray | None:
    """Row numbers of a uniform sample without replacement (sorted), or None for all rows."""
    if size >= rows:
        return None
    return np.sort(np.random.default_rng(seed).choice(rows, size, replace=False))


def _dense(X) -> np.ndarray:
    X = X.toarray() if hasattr(X, "toarray") else X
    return np.ascontiguousarray(X, dtype=np.float32)


def nlists(hp: dict) -> int:
    value = hp["faiss_index_ivf_nlists"]
    return max(1, int(round(math.sqrt(hp["sample_size"])))) if value == "auto" else value


def nprobe(lists: int) -> int:
    """Lists searched per query (kamado's choice; AWS exposes no setting): an eighth of them,
    at least 8, so IVF indexes keep a recall close to the exact search."""
    return min(lists, max(8, lists // 8))


def build_index(hp: dict, X: np.ndarray):
    """An untrained faiss index for ``hp`` over X's width; (index, needs_training)."""
    faiss = _faiss()
    dim = X.shape[1]
    metric = faiss.METRIC_L2 if hp["index_metric"] == "L2" else faiss.METRIC_INNER_PRODUCT
    if hp["index_type"] == "faiss.Flat":
        return faiss.IndexFlat(dim, metric)
    lists = nlists(hp)
    quantizer = faiss.IndexFlat(dim, metric)
    if hp["index_type"] == "faiss.IVFFlat":
        index = faiss.IndexIVFFlat(quantizer, dim, lists, metric)
    else:
        # 8-bit codes need 256 training points per sub-quantizer; fewer points, fewer bits
        bits = max(1, min(8, int(math.log2(max(2, X.shape[0])))))
        index = faiss.IndexIVFPQ(quantizer, dim, lists, hp["faiss_index_pq_m"], bits)
    index.nprobe = nprobe(lists)
    return index


class KNNModel:
    def __init__(self, index, labels: np.ndarray, settings: dict,
                 projection: Projection | None = None):
        self.index, self.labels, self.settings = index, labels, settings
        self.projection = projection

    @property
    def feature_dim(self) -> int:
        return self.settings["feature_dim"]

    @property
    def k(self) -> int:
        return self.settings["k"]

    def prepare(self, X) -> np.ndarray:
        """Query rows as the index holds its points: projected, then unit length for COSINE."""
        X = self.projection.apply(X) if self.projection is not None else _dense(X)
        if self.settings["index_metric"] != "COSINE":
            return np.ascontiguousarray(X, dtype=np.float32)
        X = np.array(X, dtype=np.float32, order="C")  # normalize_L2 works in place: a copy
        _faiss().normalize_L2(X)
        return X

    def search(self, X, batch: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(distances, neighbour labels), each rows × k, nearest first."""
        batch = batch or self.settings.get("mini_batch_size", 5000)
        k = min(self.k, self.index.ntotal)
        distances, labels = [], []
        for start in range(0, X.shape[0], batch):
            D, ids = self.index.search(self.prepare(X[start:start + batch]), k)
            distances.append(D)
            # an IVF index can find fewer than k points (id -1); they count as absent
            labels.append(np.where(ids >= 0, self.labels[np.maximum(ids, 0)], np.nan))
        return np.concatenate(distances), np.concatenate(labels)

    def vote(self, neighbours: np.ndarray) -> np.ndarray:
        if self.settings["predictor_type"] == "regressor":
            return np.nanmean(neighbours, axis=1).astype(np.float32)
        return np.array([majority(row[~np.isnan(row)]) for row in neighbours], np.float32)

    def predict_labels(self, X) -> np.ndarray:
        return self.vote(self.search(X)[1])

    def predict(self, X, verbose: bool = False) -> list[dict]:
        distances, neighbours = self.search(X)
        labels = self.vote(neighbours)
        if not verbose:
            return [{"predicted_label": float(v)} for v in labels]
        return [{"predicted_label": float(v), "distances": d[~np.isnan(n)].tolist(),
                 "labels": n[~np.isnan(n)].tolist()}
                for v, d, n in zip(labels, distances, neighbours)]

    # --- artifact --------------------------------------------------------------------------
    def save(self, directory) -> Path:
        faiss = _faiss()
        arrays = {"labels": self.labels,
                  "settings": np.frombuffer(json.dumps(self.settings).encode(), np.uint8)}
        if self.projection is not None:
            arrays["projection"] = np.frombuffer(self.projection.kind.encode(), np.uint8)
            arrays.update({f"projection_{k}": v for k, v in self.projection.arrays.items()})
        # faiss writes the index into the archive as it goes (serialize_index would build
        # all of it in a growing buffer first: three times as long for a 40 MB index)
        index = {"index": lambda out: faiss.write_index(self.index,
                                                        faiss.PyCallbackIOWriter(out.write))}
        return archive.write(directory, {"format": FORMAT, "version": VERSION}, arrays,
                             streams=index)


def majority(labels: np.ndarray) -> float:
    """The most frequent label; among tied ones, the one met first (nearest)."""
    if len(labels) == 0:
        return float("nan")
    values, first, counts = np.unique(labels, return_index=True, return_counts=True)
    tied = counts == counts.max()
    return float(values[tied][np.argmin(first[tied])])


def fit(X, y, hp: dict, seed: int = SEED) -> KNNModel:
    """The model of ``hp`` (validated hyperparameters) on rows X with labels y."""
    y = np.asarray(y, np.float32)
    rows = sample(X.shape[0], hp["sample_size"], seed)
    if rows is not None:
        X, y = X[rows], y[rows]
    projection = None
    if hp["dimension_reduction_type"] is not None:
        projection = Projection.draw(hp["dimension_reduction_type"], X.shape[1],
                                     hp["dimension_reduction_target"], seed)
    settings = {key: hp[key] for key in ("feature_dim", "k", "predictor_type", "index_type",
                                          "index_metric", "mini_batch_size")}
    model = KNNModel(None, y, settings, projection)
    if projection is None and not hasattr(X, "toarray"):
        points = model.prepare(X)  # one row-major copy, as faiss wants it
    else:  # sparse rows are densified (and projected) a batch at a time
        batch = hp["mini_batch_size"]
        points = np.concatenate([model.prepare(X[s:s + batch])
                                 for s in range(0, X.shape[0], batch)])
    index = build_index(hp, points)
    if not index.is_trained:
        lists = nlists(hp)
        if lists > points.shape[0]:
            raise ClientError(f"Hyperparameter faiss_index_ivf_nlists: {lists} lists need at "
                              f"least as many sampled points; there are {points.shape[0]}. "
                              "Lower faiss_index_ivf_nlists or give more data.")
        index.train(points)  # faiss's k-means has a fixed seed of its own
    index.add(points)
    model.index = index
    return model


def load_model(path) -> KNNModel:
    _, arrays = archive.read(path, FORMAT, VERSION, "k-NN",
                             required=("index", "labels", "settings"), legacy=True)
    projection = None
    if "projection" in arrays:
        projection = Projection(arrays["projection"].tobytes().decode(),
                                {k[len("projection_"):]: v for k, v in arrays.items()
                                 if k.startswith("projection_")})
    stored = arrays["index"]  # bytes as written since 2026-12; a uint8 array before
    index = _faiss().deserialize_index(
        np.frombuffer(stored, np.uint8) if isinstance(stored, bytes) else stored)
    settings = json.loads(arrays["settings"].tobytes().decode())
    return KNNModel(index, arrays["labels"], settings, projection)
