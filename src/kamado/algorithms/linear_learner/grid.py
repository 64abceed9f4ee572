"""The settings of Linear Learner's parallel models.

AWS: "One model is trained according to the given training parameter (regularization,
optimizer, loss), and the rest by close parameters." Model 0 therefore has exactly the
job's values (its ``auto`` ones resolved); the others spread learning rate, wd and l1
around them — widely where the user left them ``auto``, closely where the user chose a
value — and, for ``positive_example_weight_mult=auto``, try both no weighting and the
balancing weight, so that selection on the validation data decides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kamado.algorithms.linear_learner.hyperparameters import AUTO_LEARNING_RATE

# Multipliers of the base learning rate: the base first, then alternately slower and faster.
_AUTO_LR_FACTORS = (1.0, 0.3, 3.0, 0.1, 0.5, 2.0, 0.03, 5.0)
_CLOSE_LR_FACTORS = (1.0, 0.5, 2.0, 0.25, 0.75, 1.5, 0.1, 4.0)
# (wd, l1) pairs in standardised units; the first is the ``auto`` base (AWS's best models
# are typically reported with wd 1e-4 and l1 0).
_AUTO_REG = ((1e-4, 0.0), (0.0, 0.0), (1e-2, 0.0), (1e-1, 0.0), (1e-3, 0.0), (1.0, 0.0),
             (1e-4, 1e-3), (1e-4, 1e-2))
_CLOSE_REG_FACTORS = (1.0, 0.5, 2.0, 0.1, 10.0, 0.25, 4.0, 0.0)


@dataclass
class ModelGrid:
    learning_rate: np.ndarray
    wd: np.ndarray
    l1: np.ndarray
    positive_weight: np.ndarray  # weight of positive examples (binary), else ones

    @property
    def size(self) -> int:
        return len(self.learning_rate)

    def describe(self, m: int, hp: dict) -> dict:
        """What AWS's ``Best model found for hyperparameters:`` line reports."""
        out = {"optimizer": hp["optimizer"], "learning_rate": float(self.learning_rate[m]),
               "wd": float(self.wd[m]), "l1": float(self.l1[m])}
        if hp["use_lr_scheduler"]:
            out.update(lr_scheduler_step=hp["lr_scheduler_step"],
                       lr_scheduler_factor=hp["lr_scheduler_factor"],
                       lr_scheduler_minimum_lr=hp["lr_scheduler_minimum_lr"])
        if hp["predictor_type"] == "binary_classifier":
            out["positive_example_weight_mult"] = float(self.positive_weight[m])
        return out


def _values(chosen, count: int, auto_values, close_factors) -> list[float]:
    if chosen == "auto":
        values = [auto_values[i % len(auto_values)] for i in range(count)]
    else:
        values = [chosen * close_factors[i % len(close_factors)] for i in range(count)]
    return [float(f"{v:.6g}") for v in values]  # 0.3, not 0.30000000000000004, in the log


def model_grid(hp: dict, y: np.ndarray) -> ModelGrid:
    count = hp["num_models"]
    base_lr = AUTO_LEARNING_RATE[hp["optimizer"]]
    n_lr = min(count, len(_AUTO_LR_FACTORS))
    lr_pool = _values(hp["learning_rate"], n_lr, [base_lr * f for f in _AUTO_LR_FACTORS],
                      _CLOSE_LR_FACTORS)
    # Regularisation varies slowest so that every setting meets every learning rate.
    n_reg = max(1, -(-count // n_lr))
    wd_pool = _values(hp["wd"], n_reg, [w for w, _ in _AUTO_REG], _CLOSE_REG_FACTORS)
    l1_pool = _values(hp["l1"], n_reg, [a for _, a in _AUTO_REG], _CLOSE_REG_FACTORS)
    lr = np.array([lr_pool[i % n_lr] for i in range(count)], float)
    wd = np.array([wd_pool[(i // n_lr) % n_reg] for i in range(count)], float)
    l1 = np.array([l1_pool[(i // n_lr) % n_reg] for i in range(count)], float)
    positive = np.ones(count)
    if hp["predictor_type"] == "binary_classifier":
        mult = hp["positive_example_weight_mult"]
        y = np.asarray(y)
        balanced = float((y == 0).sum()) / max(1.0, float((y == 1).sum()))
        if mult == "balanced":
            positive[:] = balanced
        elif mult == "auto":
            # Alternate whole halves of the grid, so both weightings see every setting.
            positive[count // 2:] = balanced if count > 1 else 1.0
        else:
            positive[:] = float(mult)
    return ModelGrid(lr, wd, l1, positive)
