"""Training IP Insights: each mini-batch of (entity, address) pairs is the positives; for each,
``random_negative_sampling_rate`` negatives pair the entity with a uniformly random address and
``shuffled_negative_sampling_rate`` pair it with the address of another pair of the batch (a
random permutation). The loss is the logistic loss of the dot product (label 1 for the seen
pairs, 0 for the negatives), minimised by Adam (``learning_rate``; ``weight_decay`` as L2 on
the rows a batch uses and on the encoder's layers), lazily on the embedding tables' rows as
MXNet's Adam treats row-sparse gradients.

    model = fit(entities, ips, validate({"num_entity_vectors": "200", "vector_dim": "16"}))
"""

from __future__ import annotations

import time

import numpy as np

from kamado.algorithms.factorization_machines.optimizer import LazyAdam
from kamado.algorithms.ip_insights.addresses import ROWS, entity_rows
from kamado.algorithms.ip_insights.metrics import auc, batch_metrics
from kamado.algorithms.ip_insights.model import IPInsightsModel
from kamado.algorithms.log import JobLog, SilentLog

SEED = 0  # IP Insights has no seed hyperparameter; a fixed one makes reruns repeat
EPS = 1e-8


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def negatives(rng: np.random.Generator, entity_idx: np.ndarray, ips: np.ndarray, hp: dict,
              at_least_one: bool = False):
    """(entity rows, addresses, labels) of the positives followed by their negatives."""
    n = len(ips)
    random_rate = hp["random_negative_sampling_rate"]
    shuffled_rate = hp["shuffled_negative_sampling_rate"]
    if at_least_one and random_rate + shuffled_rate == 0:
        random_rate = 1
    parts_e, parts_ip = [entity_idx], [ips]
    for _ in range(random_rate):
        parts_e.append(entity_idx)
        parts_ip.append(rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32))
    for _ in range(shuffled_rate if n > 1 else 0):
        parts_e.append(entity_idx)
        parts_ip.append(ips[rng.permutation(n)])
    labels = np.zeros(n * len(parts_ip), np.float32)
    labels[:n] = 1
    return np.concatenate(parts_e), np.concatenate(parts_ip), labels


def _scatter(rows: np.ndarray, values: np.ndarray, per: int = 1):
    """(unique rows, the sum of the values per row); entry ``i`` of ``rows`` takes
    ``values[i // per]``. The sums are one sparse (unique rows × values) product: NumPy's
    ``add.at``, ``add.reduceat`` and ``cumsum`` are several times slower on 2-D values."""
    import scipy.sparse as sp

    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    indicator = sp.csr_matrix((np.ones(len(rows), values.dtype), order // per,
                               np.r_[starts, len(rows)]), shape=(len(starts), len(values)))
    return ordered[starts], np.asarray(indicator @ values, np.float32)


def initial_model(hp: dict, rng: np.random.Generator) -> IPInsightsModel:
    dim = hp["vector_dim"]
    scale = 1.0 / np.sqrt(dim)
    E = rng.normal(0, scale, (hp["num_entity_vectors"], dim)).astype(np.float32)
    # four prefix rows are summed: each a half of the entity's scale
    P = rng.normal(0, scale / 2, (ROWS, dim)).astype(np.float32)
    layers = [(rng.normal(0, 0.1 * scale, (dim, dim)).astype(np.float32),
               np.zeros(dim, np.float32)) for _ in range(hp["num_ip_encoder_layers"])]
    return IPInsightsModel(E, P, layers, {key: hp[key] for key in (
        "num_entity_vectors", "vector_dim", "num_ip_encoder_layers")})


def gradients(model: IPInsightsModel, e_rows: np.ndarray, ips: np.ndarray,
              labels: np.ndarray) -> tuple[np.ndarray, dict]:
    """(the pairs' probabilities, the gradients of the mean logistic loss): ``E`` and ``P`` as
    (rows, summed gradient per row), each layer's ``W{i}``/``b{i}`` dense."""
    e = model.E[e_rows]
    h, p_rows, trace = model.encode(ips, keep=True)
    prob = sigmoid(np.einsum("ij,ij->i", e, h))
    g = ((prob - labels) / len(labels)).astype(np.float32)[:, None]
    grads = {"E": _scatter(e_rows, g * h)}
    dh = g * e
    for i in reversed(range(len(model.layers))):
        W = model.layers[i][0]
        h_in, a = trace[i]
        du = dh * (1 - a * a)
        grads[f"W{i}"], grads[f"b{i}"] = (h_in.T @ du).astype(np.float32), du.sum(0)
        dh = dh + du @ W.T
    grads["P"] = _scatter(p_rows.ravel(), dh, per=p_rows.shape[1])
    return prob, grads


def step(model: IPInsightsModel, optimizers: dict, e_rows: np.ndarray, ips: np.ndarray,
         labels: np.ndarray) -> np.ndarray:
    """One Adam step on a batch of pairs; returns the pairs' probabilities before it."""
    prob, grads = gradients(model, e_rows, ips, labels)
    for name, table in (("E", model.E), ("P", model.P)):
        rows, total = grads[name]
        optimizers[name].step(table, total, rows)
    for i, (W, b) in enumerate(model.layers):
        optimizers[f"W{i}"].step(W, grads[f"W{i}"])
        optimizers[f"b{i}"].step(b, grads[f"b{i}"].astype(np.float32))
    return prob


def discriminator_auc(model: IPInsightsModel, entities: list[str], ips: np.ndarray, hp: dict,
                      seed: int = SEED) -> float:
    """AUC of the dot products of true pairs against negatives drawn as in training (a random
    address per pair when both sampling rates are 0), from a fixed seed."""
    rows = entity_rows(entities, model.num_entity_vectors)
    e_rows, all_ips, labels = negatives(np.random.default_rng(seed + 1), rows, ips, hp, True)
    scores = np.einsum("ij,ij->i", model.E[e_rows], model.encode(all_ips))
    return auc(scores, labels)


def fit(entities: list[str], ips: np.ndarray, hp: dict, validation=None, seed: int = SEED,
        log: JobLog | None = None) -> IPInsightsModel:
    """The model of ``hp`` (validated hyperparameters) on pairs (entity ids, uint32 addresses);
    ``validation`` = (entities, addresses) for the per-epoch discriminator AUC."""
    log = log or SilentLog()
    rng = np.random.default_rng(seed)
    model = initial_model(hp, rng)
    args = dict(eps=EPS, clip=None, rescale=1.0)
    lr, wd = hp["learning_rate"], hp["weight_decay"]
    optimizers = {"E": LazyAdam(model.E.shape, lr, wd, **args),
                  "P": LazyAdam(model.P.shape, lr, wd, **args)}
    for i, (W, b) in enumerate(model.layers):
        optimizers[f"W{i}"] = LazyAdam(W.shape, lr, wd, **args)
        optimizers[f"b{i}"] = LazyAdam(b.shape, lr, 0.0, **args)
    all_rows = entity_rows(entities, hp["num_entity_vectors"])
    ips = np.asarray(ips, np.uint32)
    n, batch, epochs = len(ips), hp["mini_batch_size"], hp["epochs"]
    interval = hp["batch_metrics_publish_interval"]
    for epoch in range(epochs):
        started = time.perf_counter()
        order = rng.permutation(n)
        sums = np.zeros(3)  # correct, cross entropy, pairs
        for number, start in enumerate(range(0, n, batch)):
            chosen = order[start:start + batch]
            e_rows, pair_ips, labels = negatives(rng, all_rows[chosen], ips[chosen], hp)
            prob = step(model, optimizers, e_rows, pair_ips, labels)
            accuracy, entropy = batch_metrics(prob, labels)
            sums += (accuracy * len(labels), entropy * len(labels), len(labels))
            if number % interval == 0:
                for name, kind, value in (("binary_classification_accuracy", "score", accuracy),
                                          ("binary_classification_cross_entropy", "loss",
                                           entropy)):
                    log.info(f"#quality_metric: host={log.host}, epoch={epoch}, "
                             f"batch={number} train {name} <{kind}>={float(value)!r}")
        elapsed = time.perf_counter() - started
        log.quality("train", "binary_classification_accuracy", "score", sums[0] / sums[2],
                    epoch=epoch)
        log.quality("train", "binary_classification_cross_entropy", "loss", sums[1] / sums[2],
                    epoch=epoch)
        if validation is not None:
            log.quality("validation", "discriminator_auc", "score",
                        discriminator_auc(model, validation[0], validation[1], hp), epoch=epoch)
        log.progress(100.0 * (epoch + 1) / epochs)
        log.throughput(n / max(elapsed, 1e-9))
    return model
