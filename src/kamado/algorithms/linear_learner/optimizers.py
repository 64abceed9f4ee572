"""The optimisers Linear Learner offers (adam, rmsprop, sgd with momentum), stepping all
parallel models at once, with each model's own learning rate, L2 (``wd``) and proximal L1.

Parameters are ``W[d, m, k]`` and ``b[m, k]``; rates and penalties are per model ``[m]``.
The state is plain arrays so that a checkpoint can hold it.
"""

from __future__ import annotations

import numpy as np


class Optimizer:
    def __init__(self, name: str, shape_w: tuple, shape_b: tuple, *, beta_1: float,
                 beta_2: float, momentum: float):
        self.name, self.beta_1, self.beta_2, self.momentum = name, beta_1, beta_2, momentum
        self.step_count = 0
        self.state = {"mW": np.zeros(shape_w), "mb": np.zeros(shape_b)}
        if name in ("adam", "rmsprop"):
            self.state.update(vW=np.zeros(shape_w), vb=np.zeros(shape_b))

    def learning_rates(self, base: np.ndarray, hp: dict) -> np.ndarray:
        """AWS's step schedule: every lr_scheduler_step updates the rate is multiplied by
        lr_scheduler_factor, never going below lr_scheduler_minimum_lr."""
        if not hp["use_lr_scheduler"]:
            return base
        decayed = base * hp["lr_scheduler_factor"] ** (self.step_count // hp["lr_scheduler_step"])
        return np.maximum(decayed, np.minimum(base, hp["lr_scheduler_minimum_lr"]))

    def update(self, W, b, gW, gb, lr, bias_lr) -> None:
        """One step in place; gW/gb already include the L2 terms."""
        self.step_count += 1
        s, t = self.state, self.step_count
        lr_w = lr[None, :, None]
        lr_b = bias_lr[:, None]
        if self.name == "adam":
            b1, b2 = self.beta_1, self.beta_2
            for m, v, g in (("mW", "vW", gW), ("mb", "vb", gb)):
                s[m] *= b1
                s[m] += (1 - b1) * g
                s[v] *= b2
                s[v] += (1 - b2) * g * g
            c1, c2 = 1 - b1 ** t, 1 - b2 ** t
            W -= lr_w * (s["mW"] / c1) / (np.sqrt(s["vW"] / c2) + 1e-8)
            b -= lr_b * (s["mb"] / c1) / (np.sqrt(s["vb"] / c2) + 1e-8)
        elif self.name == "rmsprop":
            rho = 0.9
            for v, g in (("vW", gW), ("vb", gb)):
                s[v] *= rho
                s[v] += (1 - rho) * g * g
            W -= lr_w * gW / (np.sqrt(s["vW"]) + 1e-8)
            b -= lr_b * gb / (np.sqrt(s["vb"]) + 1e-8)
        else:
            s["mW"] *= self.momentum
            s["mW"] += gW
            s["mb"] *= self.momentum
            s["mb"] += gb
            W -= lr_w * s["mW"]
            b -= lr_b * s["mb"]

    def shrink(self, W, lr: np.ndarray, l1: np.ndarray) -> None:
        """The proximal step of the L1 penalty: soft-thresholding, which gives exact zeros
        (a subgradient step would only make weights hover around zero). Adam and RMSProp
        scale each coordinate's step by 1/sqrt(v); the threshold is scaled the same way
        (the preconditioned proximal step), else their normalised steps would dwarf it and
        nothing would ever reach zero."""
        if not (l1 > 0).any():
            return
        amount = (lr * l1)[None, :, None]
        if self.name == "adam":
            amount = amount / (np.sqrt(self.state["vW"] / (1 - self.beta_2 ** self.step_count))
                               + 1e-8)
        elif self.name == "rmsprop":
            amount = amount / (np.sqrt(self.state["vW"]) + 1e-8)
        np.copyto(W, np.sign(W) * np.maximum(np.abs(W) - amount, 0.0))

    def state_dict(self) -> dict:
        return {"step_count": np.array(self.step_count),
                **{f"opt_{k}": v for k, v in self.state.items()}}

    def load_state_dict(self, arrays: dict) -> None:
        self.step_count = int(arrays["step_count"])
        for key in self.state:
            self.state[key] = np.array(arrays[f"opt_{key}"], dtype=float)
