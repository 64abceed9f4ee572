"""Linear Learner's training: several linear models at once (different learning rates and
regularisation, vectorised over a leading model axis), mini-batch Adam/SGD/RMSProp, early
stopping on the validation loss, and the best model chosen — and, for a binary classifier, its
threshold calibrated — by ``binary_classifier_model_selection_criteria``."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from kamado.algorithms.linear_learner.metrics import threshold_for
from kamado.algorithms.linear_learner.model import LinearModel
from kamado.images.program import ClientError

OBJECTIVE_NAME = {"logistic": "binary_classification_cross_entropy_objective",
                  "hinge_loss": "binary_classification_hinge_loss_objective",
                  "softmax_loss": "multiclass_cross_entropy_objective",
                  "squared_loss": "square_loss_objective",
                  "absolute_loss": "absolute_loss_objective",
                  "eps_insensitive_squared_loss": "eps_insensitive_squared_loss_objective",
                  "eps_insensitive_absolute_loss": "eps_insensitive_absolute_loss_objective",
                  "quantile_loss": "quantile_loss_objective", "huber_loss": "huber_loss_objective"}


@dataclass
class Split:
    X: np.ndarray
    y: np.ndarray


def _log(text: str) -> None:
    stamp = time.strftime("%m/%d/%Y %H:%M:%S")
    print(f"[{stamp} INFO 140000000000000] {text}", flush=True)


def _loss_and_grad(loss: str, S: np.ndarray, y: np.ndarray, hp: dict, weights: np.ndarray):
    """Per-model mean loss (M,) and dLoss/dScore (M, B, K) for scores S (M, B, K)."""
    if loss == "logistic":
        s = S[..., 0]
        p = 1.0 / (1.0 + np.exp(-np.clip(s, -30, 30)))
        ll = -(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))
        return (ll * weights).mean(axis=1), ((p - y) * weights)[..., None]
    if loss == "hinge_loss":
        s, sign = S[..., 0], 2 * y - 1
        active = sign * s < hp["margin"]
        value = np.maximum(0, hp["margin"] - sign * s)
        return (value * weights).mean(axis=1), (-(sign * active) * weights)[..., None]
    if loss == "softmax_loss":
        shifted = S - S.max(axis=2, keepdims=True)
        P = np.exp(shifted)
        P /= P.sum(axis=2, keepdims=True)
        onehot = np.eye(S.shape[2])[y.astype(int)]
        ll = -np.log((P * onehot).sum(axis=2) + 1e-12)
        return (ll * weights).mean(axis=1), (P - onehot) * weights[..., None]
    r = S[..., 0] - y
    if loss == "squared_loss":
        value, grad = 0.5 * r ** 2, r
    elif loss == "absolute_loss":
        value, grad = np.abs(r), np.sign(r)
    elif loss == "huber_loss":
        d = hp["huber_delta"]
        value = np.where(np.abs(r) <= d, 0.5 * r ** 2, d * (np.abs(r) - 0.5 * d))
        grad = np.clip(r, -d, d)
    elif loss == "quantile_loss":
        q = hp["quantile"]
        value = np.maximum(q * -r, (q - 1) * -r)
        grad = np.where(r > 0, 1 - q, -q)
    else:
        eps = hp["loss_insensitivity"]
        excess = np.maximum(np.abs(r) - eps, 0)
        if loss == "eps_insensitive_squared_loss":
            value, grad = 0.5 * excess ** 2, np.sign(r) * excess
        else:
            value, grad = excess, np.sign(r) * (excess > 0)
    return (value * weights).mean(axis=1), (grad * weights)[..., None]


def _grid(hp: dict, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Learning rate, wd and l1 per model: what the user fixed, else a spread around sensible
    values (Linear Learner's parallel models explore exactly these)."""
    rates = [0.1, 0.03, 0.01, 0.3, 0.05, 0.003, 0.02, 0.2]
    decays = [0.0, 1e-4, 1e-3, 1e-2]
    lr = np.array([hp["learning_rate"] if hp["learning_rate"] != "auto" else rates[i % len(rates)]
                   for i in range(count)])
    wd = np.array([hp["wd"] if hp["wd"] != "auto" else decays[(i // 2) % len(decays)]
                   for i in range(count)])
    l1 = np.array([hp["l1"] if hp["l1"] != "auto" else 0.0 for _ in range(count)])
    return lr, wd, l1


def _example_weights(hp: dict, y: np.ndarray, kind: str) -> np.ndarray:
    if kind == "binary_classifier":
        mult = hp["positive_example_weight_mult"]
        if mult in ("auto", "balanced"):
            pos = max(1.0, float((y == 1).sum()))
            mult = float((y == 0).sum()) / pos if mult == "balanced" else 1.0
        return np.where(y == 1, float(mult), 1.0)
    if kind == "multiclass_classifier" and hp["balance_multiclass_weights"]:
        counts = np.bincount(y.astype(int), minlength=hp["num_classes"]).astype(float)
        per_class = len(y) / (hp["num_classes"] * np.maximum(counts, 1))
        return per_class[y.astype(int)]
    return np.ones(len(y))


def _check_labels(kind: str, y: np.ndarray, hp: dict, channel: str) -> None:
    if kind == "binary_classifier" and not np.isin(y, (0, 1)).all():
        raise ClientError(f"Channel {channel}: a binary classifier's labels must be 0 or 1.")
    if kind == "multiclass_classifier":
        if not (np.equal(np.mod(y, 1), 0).all() and y.min() >= 0 and y.max() < hp["num_classes"]):
            raise ClientError(f"Channel {channel}: labels must be integers in [0, "
                              f"{hp['num_classes'] - 1}] for num_classes={hp['num_classes']}.")


def fit(hp: dict, train: Split, validation: Split | None = None, *, seed: int = 0,
        log=_log) -> LinearModel:
    kind, loss = hp["predictor_type"], hp["loss"]
    X, y = np.asarray(train.X, np.float64), np.asarray(train.y, np.float64)
    n, d = X.shape
    if hp["feature_dim"] != "auto" and hp["feature_dim"] != d:
        raise ClientError(f"Hyperparameter feature_dim is {hp['feature_dim']} but the train "
                          f"channel has {d} features.")
    _check_labels(kind, y, hp, "train")
    if validation is not None:
        _check_labels(kind, validation.y, hp, "validation")
    K = hp.get("num_classes", 1) if kind == "multiclass_classifier" else 1
    rng = np.random.default_rng(seed)

    # Feature and label scaling, from at most num_point_for_scaler rows.
    sample = X[:hp["num_point_for_scaler"]]
    mean = sample.mean(axis=0) if hp["normalize_data"] is not False else np.zeros(d)
    std = sample.std(axis=0) if hp["normalize_data"] is not False else np.ones(d)
    std = np.where(std > 0, std, 1.0)
    scale_label = kind == "regressor" and hp["normalize_label"] is not False
    y_mean = float(y[:hp["num_point_for_scaler"]].mean()) if scale_label else 0.0
    y_std = float(y[:hp["num_point_for_scaler"]].std() or 1.0) if scale_label else 1.0
    Xs = (X - mean) / std
    ys = (y - y_mean) / y_std
    Vs = None
    if validation is not None:
        Vs = ((np.asarray(validation.X, np.float64) - mean) / std,
              (np.asarray(validation.y, np.float64) - y_mean) / y_std)

    M = hp["num_models"] if hp["num_models"] != "auto" else 8
    lr, wd, l1 = _grid(hp, M)
    if hp["init_method"] == "normal":
        W = rng.normal(0, hp["init_sigma"], size=(M, d, K))
    else:
        W = rng.uniform(-hp["init_scale"], hp["init_scale"], size=(M, d, K))
    b = np.full((M, K), float(hp["init_bias"]))
    use_bias = hp["use_bias"]
    optimizer = "adam" if hp["optimizer"] == "auto" else hp["optimizer"]
    beta1 = 0.9 if hp.get("beta_1", "auto") == "auto" else hp["beta_1"]
    beta2 = 0.999 if hp.get("beta_2", "auto") == "auto" else hp["beta_2"]
    momentum = 0.0 if hp.get("momentum", "auto") == "auto" else hp["momentum"]
    mW, vW, mb, vb = np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), np.zeros_like(b)
    weights = _example_weights(hp, y, kind)
    batch = min(hp["mini_batch_size"], n)
    epochs = hp["epochs"]
    best_val, patience_left, step = np.inf, hp["early_stopping_patience"], 0
    objective = OBJECTIVE_NAME[loss]
    started = time.perf_counter()
    seen_rows = 0
    for epoch in range(epochs):
        order = rng.permutation(n)
        decay = 0.95 ** epoch if hp["use_lr_scheduler"] else 1.0
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            xb = Xs[idx]
            S = np.einsum("bd,mdk->mbk", xb, W) + b[:, None, :]
            _, G = _loss_and_grad(loss, S, ys[idx], hp, weights[idx])
            gW = np.einsum("bd,mbk->mdk", xb, G) / len(idx) + wd[:, None, None] * W
            gb = G.mean(axis=1) if use_bias else np.zeros_like(b)
            step += 1
            rate = (lr * decay)[:, None, None]
            if optimizer == "adam":
                mW = beta1 * mW + (1 - beta1) * gW
                vW = beta2 * vW + (1 - beta2) * gW ** 2
                mb = beta1 * mb + (1 - beta1) * gb
                vb = beta2 * vb + (1 - beta2) * gb ** 2
                c1, c2 = 1 - beta1 ** step, 1 - beta2 ** step
                W -= rate * (mW / c1) / (np.sqrt(vW / c2) + 1e-8)
                b -= rate[:, :, 0] * (mb / c1) / (np.sqrt(vb / c2) + 1e-8)
            elif optimizer == "rmsprop":
                vW = 0.9 * vW + 0.1 * gW ** 2
                vb = 0.9 * vb + 0.1 * gb ** 2
                W -= rate * gW / (np.sqrt(vW) + 1e-8)
                b -= rate[:, :, 0] * gb / (np.sqrt(vb) + 1e-8)
            else:
                mW = momentum * mW + gW
                mb = momentum * mb + gb
                W -= rate * mW
                b -= rate[:, :, 0] * mb
            if (l1 > 0).any():  # proximal step: exact zeros, as an L1 penalty should give
                shrink = (rate[:, 0, 0] * l1)[:, None, None]
                W = np.sign(W) * np.maximum(np.abs(W) - shrink, 0)
            seen_rows += len(idx)
        train_loss = _objective(loss, Xs, ys, W, b, hp, weights)
        log(f"#quality_metric: host=algo-1, epoch={epoch}, train {objective} <loss>="
            f"{train_loss.min():.6g}")
        if Vs is not None:
            val_loss = _objective(loss, Vs[0], Vs[1], W, b, hp, _example_weights(hp, Vs[1], kind))
            best_now = float(val_loss.min())
            log(f"#quality_metric: host=algo-1, epoch={epoch}, validation {objective} <loss>="
                f"{best_now:.6g}")
            if best_now < best_val * (1 - hp["early_stopping_tolerance"]):
                best_val, patience_left = best_now, hp["early_stopping_patience"]
            else:
                patience_left -= 1
                if patience_left <= 0:
                    log(f"Early stopping at epoch {epoch}: the validation loss has not improved "
                        f"by {hp['early_stopping_tolerance']} for "
                        f"{hp['early_stopping_patience']} epochs")
                    log("#progress_metric: host=algo-1, completed 100 % of epochs")
                    break
        log(f"#progress_metric: host=algo-1, completed {int(100 * (epoch + 1) / epochs)} % of epochs")
    elapsed = max(time.perf_counter() - started, 1e-9)
    log(f"#throughput_metric: host=algo-1, train throughput={seen_rows / elapsed:.1f} records/second")

    # Back to the original feature (and label) space, one LinearModel per candidate.
    candidates = []
    for m in range(M):
        Wm = W[m] / std[:, None]
        bm = b[m] - (mean / std) @ W[m]
        if scale_label:
            Wm, bm = Wm * y_std, bm * y_std + y_mean
        candidates.append(LinearModel(kind, Wm, bm, 0.5, loss, max(K, 2)))
    select_on = validation if validation is not None else train
    return _select(candidates, select_on, hp, W, b, Vs if Vs is not None else (Xs, ys), weights)


def _objective(loss, Xs, ys, W, b, hp, weights) -> np.ndarray:
    rows = min(len(ys), 20000)
    S = np.einsum("bd,mdk->mbk", Xs[:rows], W) + b[:, None, :]
    value, _ = _loss_and_grad(loss, S, ys[:rows], hp, weights[:rows])
    return value


def _select(candidates, data: Split, hp, W, b, scaled, weights) -> LinearModel:
    kind = hp["predictor_type"]
    losses = _objective(hp["loss"], scaled[0], scaled[1], W, b, hp,
                        _example_weights(hp, scaled[1], kind))
    criterion = hp["binary_classifier_model_selection_criteria"]
    if kind != "binary_classifier" or criterion in ("loss_function", "cross_entropy_loss"):
        return candidates[int(np.nanargmin(losses))]
    best, best_score = None, -np.inf
    y = np.asarray(data.y)
    for model in candidates:
        probs = np.array([p["score"] for p in model.predict(data.X)])
        threshold, score = threshold_for(probs, y, criterion, hp)
        if score > best_score:
            best, best_score = model, score
            best.threshold = threshold
    return best
