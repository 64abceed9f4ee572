"""Linear Learner's training: all parallel models in one set of arrays (weights ``W[d, m, k]``,
biases ``b[m, k]``), so one matrix product per mini-batch serves every model.

Per epoch: shuffled mini-batches, each model stepped by its own optimiser settings; then the
objective of every model on (a sample of) the training data and on the validation data.
Each model keeps a snapshot of its best epoch; training stops early when the best model's
loss stops improving. Finally the best snapshot is chosen on the validation data (else the
training data) — for a binary classifier by ``binary_classifier_model_selection_criteria``,
with its threshold calibrated — and becomes a :class:`LinearModel` on raw features.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from kamado.algorithms.linear_learner.calibration import calibrate
from kamado.algorithms.linear_learner.checkpoint import Checkpointer
from kamado.algorithms.linear_learner.grid import ModelGrid, model_grid
from kamado.algorithms.log import JobLog, SilentLog
from kamado.algorithms.linear_learner.losses import OBJECTIVE_NAMES, LossParams, loss_and_grad
from kamado.algorithms.linear_learner.model import LinearModel
from kamado.algorithms.linear_learner.optimizers import Optimizer
from kamado.algorithms.linear_learner.scaling import Scaler, fit_scaler
from kamado.images.program import ClientError

TRAIN_EVAL_ROWS = 20_000         # the per-epoch train objective reads at most this many rows
AUTO_CALIBRATION_ROWS = 200_000  # num_calibration_samples=auto reads at most this many rows
CHUNK_ROWS = 16_384              # rows per block when scoring every model on a whole channel


@dataclass
class Data:
    X: object                     # 2-D ndarray or scipy sparse matrix
    y: np.ndarray
    w: np.ndarray | None = None   # per-record weights, if the data has them

    @property
    def rows(self) -> int:
        return self.X.shape[0]


@dataclass
class Result:
    model: LinearModel
    selected: int                 # index of the chosen parallel model
    settings: dict                # its hyperparameters (AWS's "Best model found for …")
    epochs_completed: int
    stopped_early: bool
    resumed_from: int | None      # epochs already done by an earlier run, if resumed


# --- checks ------------------------------------------------------------------------------------
def check_data(hp: dict, data: Data, channel: str, feature_dim: int | None = None) -> None:
    kind, y = hp["predictor_type"], data.y
    values = data.X.data if hasattr(data.X, "toarray") else data.X
    if not np.all(np.isfinite(values)):
        raise ClientError(f"Channel {channel}: the features contain NaN or infinite values.")
    if feature_dim is not None and data.X.shape[1] != feature_dim:
        raise ClientError(f"Channel {channel} has {data.X.shape[1]} features; the train channel "
                          f"has {feature_dim}.")
    if not np.all(np.isfinite(y)):
        raise ClientError(f"Channel {channel}: the labels contain NaN or infinite values.")
    if kind == "binary_classifier" and not np.isin(y, (0, 1)).all():
        bad = y[~np.isin(y, (0, 1))][0]
        raise ClientError(f"Channel {channel}: label {bad:g} is not valid for a binary "
                          "classifier; labels must be 0 or 1.")
    if kind == "multiclass_classifier":
        K = hp["num_classes"]
        ok = (y == np.round(y)) & (y >= 0) & (y < K)
        if not ok.all():
            raise ClientError(f"Channel {channel}: label {y[~ok][0]:g} is not valid; labels must "
                              f"be integers from 0 to {K - 1} (num_classes={K}).")


# --- all models at once ----------------------------------------------------------------------
def _dtype(X) -> type:
    # Products run in the data's precision: float32 data with float64 weights would make
    # numpy leave BLAS for a loop several times slower; the parameters stay float64.
    return np.float32 if X.dtype == np.float32 else np.float64


def _scores(X, W: np.ndarray, b: np.ndarray, scaler: Scaler) -> np.ndarray:
    """S[row, model, output] on standardised features, computed from the raw rows X: the
    scaling is folded into the weights so that sparse X is never densified."""
    d, M, K = W.shape
    dtype = _dtype(X)
    W_eff = W / scaler.scale[:, None, None]
    b_eff = b - (scaler.mean @ W_eff.reshape(d, M * K)).reshape(M, K)
    S = np.asarray(X @ W_eff.reshape(d, M * K).astype(dtype, copy=False))
    return S.reshape(-1, M, K) + b_eff.astype(dtype)


def _backprop(X, G: np.ndarray, scaler: Scaler) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of W and b from dLoss/dS = G[row, model, output]."""
    B, M, K = G.shape
    G2 = G.reshape(B, M * K).astype(_dtype(X), copy=False)
    # For dense rows G2ᵀX is the BLAS-friendly layout (several times faster than XᵀG2).
    gW = np.asarray(X.T @ G2 if hasattr(X, "toarray") else (G2.T @ X).T, float)
    gb = G2.sum(axis=0, dtype=float)
    gW -= np.outer(scaler.mean, gb)
    gW /= scaler.scale[:, None]
    return gW.reshape(-1, M, K), gb.reshape(M, K)


def _mean_objective(hp, data: Data, rows: np.ndarray | None, W, b, scaler: Scaler,
                    params: LossParams) -> np.ndarray:
    """Each model's objective on data (or the given rows of it), in the label's units."""
    idx = np.arange(data.rows) if rows is None else rows
    total = np.zeros(W.shape[1])
    weight = 0.0
    for start in range(0, len(idx), CHUNK_ROWS):
        part = idx[start:start + CHUNK_ROWS]
        S = _scores(data.X[part], W, b, scaler) * scaler.label_scale + scaler.label_mean
        values, _ = loss_and_grad(hp["loss"], S, data.y[part], params, grad=False)
        w = np.ones(len(part)) if data.w is None else data.w[part]
        total += w @ values.astype(float)
        weight += float(w.sum())
    with np.errstate(invalid="ignore"):
        out = total / max(weight, 1e-300)
    return np.where(np.isfinite(out), out, np.inf)


def _all_scores(data: Data, rows: np.ndarray, W, b, scaler: Scaler) -> np.ndarray:
    return np.concatenate([_scores(data.X[rows[s:s + CHUNK_ROWS]], W, b, scaler)
                           for s in range(0, len(rows), CHUNK_ROWS)])


def _extract(W, b, m: int, scaler: Scaler, hp: dict) -> tuple[np.ndarray, np.ndarray]:
    """Model m on raw features and in label units."""
    weights = W[:, m, :] / scaler.scale[:, None]
    bias = b[m] - scaler.mean @ weights
    if hp["predictor_type"] == "regressor":
        weights = weights * scaler.label_scale
        bias = bias * scaler.label_scale + scaler.label_mean
    return weights, bias


class _Weights:
    """Per-record, per-model training weights: the data's own weights, times the positive
    example weight (binary; it differs between models with ``auto``) or the class weight
    (``balance_multiclass_weights``)."""

    def __init__(self, hp: dict, data: Data, grid: ModelGrid):
        self.base = data.w
        self.y = data.y
        self.positive = grid.positive_weight if hp["predictor_type"] == "binary_classifier" \
            and not np.all(grid.positive_weight == 1.0) else None
        self.per_class = None
        if hp["predictor_type"] == "multiclass_classifier" and hp["balance_multiclass_weights"]:
            K = hp["num_classes"]
            counts = np.bincount(data.y.astype(np.intp), minlength=K).astype(float)
            self.per_class = len(data.y) / (K * np.maximum(counts, 1.0))

    def batch(self, idx: np.ndarray, models: int) -> np.ndarray | None:
        w = None if self.base is None else self.base[idx].astype(float)
        if self.per_class is not None:
            cw = self.per_class[self.y[idx].astype(np.intp)]
            w = cw if w is None else w * cw
        if self.positive is not None:
            pw = np.where(self.y[idx][:, None] == 1, self.positive[None, :], 1.0)
            return pw if w is None else pw * w[:, None]
        return None if w is None else np.repeat(w[:, None], models, axis=1)


# --- training ------------------------------------------------------------------------------------
def fit(hp: dict, train: Data, validation: Data | None = None, *, seed: int = 0,
        log: JobLog | None = None, checkpointer: Checkpointer | None = None) -> Result:
    """Train on ``train`` with resolved hyperparameters (see hyperparameters.validate)."""
    log = log or SilentLog()
    kind, loss = hp["predictor_type"], hp["loss"]
    n, d = train.X.shape
    if n == 0:
        raise ClientError("Channel train has no records.")
    if hp["feature_dim"] != "auto" and hp["feature_dim"] != d:
        raise ClientError(f"Hyperparameter feature_dim is {hp['feature_dim']} but the records of "
                          f"channel train have {d} features.")
    check_data(hp, train, "train")
    if validation is not None:
        check_data(hp, validation, "validation", d)
    K = hp["num_classes"] if kind == "multiclass_classifier" else 1
    M = hp["num_models"]
    objective = OBJECTIVE_NAMES[loss]
    rng = np.random.default_rng(seed)

    scaler = fit_scaler(train.X, train.y, hp, rng)
    grid = model_grid(hp, train.y)
    train_params = LossParams.from_hyperparameters(hp, scaler.label_scale)
    report_params = LossParams.from_hyperparameters(hp)
    y_std = (train.y.astype(float) - scaler.label_mean) / scaler.label_scale
    weights = _Weights(hp, train, grid)
    if hp["init_method"] == "normal":
        W = rng.normal(0.0, hp["init_sigma"], size=(d, M, K))
    else:
        W = rng.uniform(-hp["init_scale"], hp["init_scale"], size=(d, M, K))
    b = np.full((M, K), float(hp["init_bias"]) if hp["use_bias"] else 0.0)
    opt = Optimizer(hp["optimizer"], W.shape, b.shape, beta_1=hp["beta_1"],
                    beta_2=hp["beta_2"], momentum=hp["momentum"])
    train_rows = np.arange(n) if n <= TRAIN_EVAL_ROWS else np.sort(
        rng.choice(n, TRAIN_EVAL_ROWS, replace=False))

    best_W, best_b = W.copy(), b.copy()
    best_loss = np.full(M, np.inf)
    best_overall, stale, start_epoch, stopped = np.inf, 0, 0, False
    seen, busy = 0, 0.0
    resumed_from = None
    if checkpointer is not None:
        saved = checkpointer.load()
        if saved is not None:
            arrays, meta = saved
            W, b, best_W, best_b = (arrays[k].astype(float) for k in ("W", "b", "best_W", "best_b"))
            best_loss = arrays["best_loss"].astype(float)
            scaler = Scaler.from_arrays(arrays)
            y_std = (train.y.astype(float) - scaler.label_mean) / scaler.label_scale
            train_params = LossParams.from_hyperparameters(hp, scaler.label_scale)
            opt.load_state_dict(arrays)
            rng.bit_generator.state = meta["rng"]
            best_overall, stale = meta["best_overall"], meta["stale"]
            start_epoch, stopped = meta["epochs_completed"], meta["stopped"]
            seen, busy = meta["seen"], meta["busy"]
            resumed_from = start_epoch
            log.info(f"Resuming from the checkpoint saved after epoch {start_epoch - 1} "
                     f"({checkpointer.path.name}).")

    batch = min(hp["mini_batch_size"], n)
    epochs = hp["epochs"]
    lr_bias_mult, wd_bias_mult = hp["bias_lr_mult"], hp["bias_wd_mult"]
    epoch = start_epoch - 1
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for epoch in range(start_epoch, epochs if not stopped else start_epoch):
            started = time.perf_counter()
            order = rng.permutation(n)
            for start in range(0, n, batch):
                idx = order[start:start + batch]
                Xb = train.X[idx]
                S = _scores(Xb, W, b, scaler)
                _, G = loss_and_grad(loss, S, y_std[idx], train_params, values=False)
                wb = weights.batch(idx, M)
                if wb is not None:
                    G *= wb[:, :, None].astype(G.dtype)
                G /= len(idx)
                gW, gb = _backprop(Xb, G, scaler)
                gW += grid.wd[None, :, None] * W
                if hp["use_bias"]:
                    gb += (wd_bias_mult * grid.wd)[:, None] * b
                else:
                    gb[:] = 0.0
                lr = opt.learning_rates(grid.learning_rate, hp)
                opt.update(W, b, gW, gb, lr, lr * lr_bias_mult)
                opt.shrink(W, lr, grid.l1)
                seen += len(idx)
            busy += time.perf_counter() - started

            train_loss = _mean_objective(hp, train, train_rows, W, b, scaler, report_params)
            log.quality("train", objective, "loss", float(train_loss.min()), epoch=epoch)
            criterion = train_loss
            if validation is not None:
                criterion = _mean_objective(hp, validation, None, W, b, scaler, report_params)
                log.quality("validation", objective, "loss", float(criterion.min()), epoch=epoch)
            better = criterion < best_loss
            best_W[:, better], best_b[better], best_loss[better] = W[:, better], b[better], \
                criterion[better]
            now = float(criterion.min())
            log.early_stopping(epoch, objective, now)
            if not np.isfinite(best_overall) or \
                    (best_overall - now) > hp["early_stopping_tolerance"] * abs(best_overall):
                best_overall, stale = now, 0
                log.info(f"Epoch {epoch}: Loss improved. Updating best model")
            else:
                stale += 1
                log.info(f"Epoch {epoch}: Loss has not improved for {stale} epochs.")
            stopped = stale >= hp["early_stopping_patience"] and epoch + 1 < epochs
            if stopped:
                log.info("Early stop condition met. Stopping training.")
            log.progress(100 if stopped else int(100 * (epoch + 1) / epochs))
            if checkpointer is not None:
                checkpointer.save(
                    {"W": W, "b": b, "best_W": best_W, "best_b": best_b, "best_loss": best_loss,
                     **scaler.arrays(), **opt.state_dict()},
                    {"epochs_completed": epoch + 1, "best_overall": best_overall, "stale": stale,
                     "stopped": bool(stopped), "seen": seen, "busy": busy,
                     "rng": rng.bit_generator.state})
            if stopped:
                break
    if resumed_from is not None and epoch < start_epoch:
        log.progress(100)  # the earlier run had finished training; only selection remains
    log.throughput(seen / busy if busy > 0 else 0.0)

    selected, threshold = _select(hp, validation if validation is not None else train,
                                  best_W, best_b, best_loss, scaler, rng, log)
    w_m, b_m = _extract(best_W, best_b, selected, scaler, hp)
    settings = grid.describe(selected, hp)
    model = LinearModel(kind, w_m, b_m, loss, threshold, max(K, 2) if kind != "regressor" else 1,
                        scaler.arrays(), settings)
    completed = max(epoch + 1, start_epoch)
    return Result(model, selected, settings, completed, bool(stopped), resumed_from)


def _select(hp, data: Data, W, b, losses, scaler, rng, log) -> tuple[int, float]:
    """The chosen model and its threshold (binary; 0.5 for probabilities, 0 for margins)."""
    kind, criterion = hp["predictor_type"], hp["binary_classifier_model_selection_criteria"]
    default = 0.5 if hp["loss"] == "logistic" else 0.0
    order = np.argsort(losses, kind="stable")
    if kind != "binary_classifier" or criterion == "loss_function":
        return int(order[0]), default
    rows = np.arange(data.rows)
    limit = hp["num_calibration_samples"]
    limit = AUTO_CALIBRATION_ROWS if limit == "auto" else limit
    if len(rows) > limit:
        rows = np.sort(rng.choice(rows, limit, replace=False))
    with np.errstate(over="ignore", invalid="ignore"):
        S = _all_scores(data, rows, W, b, scaler)[:, :, 0]
        if hp["loss"] == "logistic":
            S = 0.5 * (1.0 + np.tanh(0.5 * S))
    y = data.y[rows].astype(float)
    best, best_quality, best_threshold = int(order[0]), -np.inf, default
    for m in order:  # by loss, so that equal quality keeps the lower-loss model
        if not np.all(np.isfinite(S[:, m])):
            continue
        threshold, quality = calibrate(S[:, m], y, criterion, hp, default)
        if quality > best_quality + 1e-12:
            best, best_quality, best_threshold = int(m), quality, threshold
    if criterion in ("precision_at_target_recall", "recall_at_target_precision") and \
            best_quality < 1.0:
        target = "recall" if criterion == "precision_at_target_recall" else "precision"
        log.warning(f"No model reaches the target {target} "
                    f"{hp['target_' + target]:g}; using the one that comes closest.")
    return best, best_threshold
