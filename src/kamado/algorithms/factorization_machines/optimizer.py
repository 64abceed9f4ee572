"""Adam with lazy row updates, as MXNet's Adam updates a row-sparse gradient: only the rows a
mini-batch touched have their moments and values changed (an untouched feature keeps its
weight, rather than decaying). One instance per model part, each with that part's learning
rate and weight decay (``bias_lr``/``bias_wd``, ``linear_*``, ``factors_*``).

Per update, MXNet's order: gradient × ``rescale_grad``, clipped to ±``clip_gradient``, plus
``wd`` × weight; then the moments and a bias-corrected step of ``lr``.
"""

from __future__ import annotations

import numpy as np

BETA1, BETA2 = 0.9, 0.999


class LazyAdam:
    def __init__(self, shape, lr: float, wd: float, eps: float, clip: float | None,
                 rescale: float):
        self.m = np.zeros(shape, np.float32)
        self.v = np.zeros(shape, np.float32)
        self.lr, self.wd, self.eps, self.clip, self.rescale = lr, wd, eps, clip, rescale
        self.t = 0

    def step(self, param: np.ndarray, grad: np.ndarray, rows: np.ndarray | None = None) -> None:
        """``param[rows] -= …`` for a gradient of those rows (all rows when None)."""
        self.t += 1
        g = grad * np.float32(self.rescale) if self.rescale != 1.0 else grad
        if self.clip is not None:
            g = np.clip(g, -self.clip, self.clip)
        current = param if rows is None else param[rows]
        if self.wd:
            g = g + np.float32(self.wd) * current
        m = self.m if rows is None else self.m[rows]
        v = self.v if rows is None else self.v[rows]
        m = BETA1 * m + (1 - BETA1) * g
        v = BETA2 * v + (1 - BETA2) * g * g
        lr = self.lr * np.sqrt(1 - BETA2 ** self.t) / (1 - BETA1 ** self.t)
        update = (lr * m / (np.sqrt(v) + self.eps)).astype(np.float32)
        if rows is None:
            self.m[...], self.v[...] = m, v
            param -= update
        else:
            self.m[rows], self.v[rows] = m, v
            param[rows] = current - update
