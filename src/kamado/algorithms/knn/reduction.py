"""The dimension reductions k-NN applies before indexing (``dimension_reduction_type``).

``sign``: a random projection with entries ±1/√target (Achlioptas' database-friendly
Johnson–Lindenstrauss matrix). ``fjlt``: a fast Johnson–Lindenstrauss transform as the
subsampled randomized Hadamard transform — random signs, a Walsh–Hadamard transform over
the features zero-padded to a power of two, then ``target`` of its coordinates, scaled so
that distances are preserved in expectation. Both are drawn from a fixed seed and stored with
the model, so inference projects queries exactly as training projected the index.
"""

from __future__ import annotations

import numpy as np


def _hadamard(X: np.ndarray) -> np.ndarray:
    """The orthonormal Walsh–Hadamard transform of each row (row length a power of two)."""
    rows, n = X.shape
    h = 1
    while h < n:
        blocks = X.reshape(rows, n // (2 * h), 2, h)
        a, b = blocks[:, :, 0, :], blocks[:, :, 1, :]
        X = np.stack((a + b, a - b), axis=2).reshape(rows, n)
        h *= 2
    return X / np.sqrt(n)


class Projection:
    """A stored projection: ``kind`` and its arrays (see the module's doc)."""

    def __init__(self, kind: str, arrays: dict[str, np.ndarray]):
        self.kind, self.arrays = kind, arrays

    @classmethod
    def draw(cls, kind: str, dim: int, target: int, seed: int = 0) -> "Projection":
        rng = np.random.default_rng(seed)
        if kind == "sign":
            matrix = rng.choice(np.array([-1.0, 1.0], np.float32), size=(dim, target))
            return cls(kind, {"matrix": matrix / np.float32(np.sqrt(target))})
        if kind == "fjlt":
            padded = 1 << max(0, (dim - 1).bit_length())
            return cls(kind, {"signs": rng.choice(np.array([-1.0, 1.0], np.float32), padded),
                              "coordinates": np.sort(rng.choice(padded, target, replace=False))})
        raise ValueError(f"unknown dimension reduction {kind!r}")

    @property
    def target(self) -> int:
        if self.kind == "sign":
            return self.arrays["matrix"].shape[1]
        return len(self.arrays["coordinates"])

    def apply(self, X) -> np.ndarray:
        if self.kind == "sign":
            return np.asarray(X @ self.arrays["matrix"], dtype=np.float32)
        X = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
        signs, coordinates = self.arrays["signs"], self.arrays["coordinates"]
        padded = np.zeros((X.shape[0], len(signs)), np.float64)
        padded[:, :X.shape[1]] = X
        mixed = _hadamard(padded * signs)
        scale = np.sqrt(len(signs) / len(coordinates))
        return (mixed[:, coordinates] * scale).astype(np.float32)
