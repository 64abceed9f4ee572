"""The points each tree is built on: a reservoir sample of the train channel, dealt out to
the trees.

AWS: "A random sample of the input data is first determined and then partitioned according
to the number of trees in the forest"; "when the training data is too large, reservoir
sampling is used". So: one reservoir of ``num_trees × num_samples_per_tree`` records over the
whole stream (Algorithm R, so the data may arrive in batches of any size and need not fit in
memory), shuffled and dealt into disjoint per-tree samples. When the channel holds fewer
records than that, every tree instead draws its own ``num_samples_per_tree`` records (all of
them when there are fewer) without replacement from the whole channel.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np


class Reservoir:
    """Algorithm R, vectorised per batch: record i (0-based, over the whole stream) replaces
    slot j ~ U{0..i} when j < size. Within a batch several records can draw the same slot;
    the last of them wins, as it would one record at a time."""

    def __init__(self, size: int, rng: np.random.Generator):
        self.size, self.rng = size, rng
        self.seen = 0
        self.items: np.ndarray | None = None

    def add(self, batch: np.ndarray) -> None:
        batch = np.asarray(batch)
        if self.items is None:
            self.items = np.empty((self.size,) + batch.shape[1:], batch.dtype)
        fill = max(0, min(self.size - self.seen, len(batch)))
        self.items[self.seen:self.seen + fill] = batch[:fill]
        rest = batch[fill:]
        if len(rest):
            index = self.seen + fill + np.arange(len(rest), dtype=np.float64)
            slot = np.floor(self.rng.random(len(rest)) * (index + 1)).astype(np.int64)
            chosen = np.flatnonzero(slot < self.size)
            if len(chosen):
                # the last record drawing a slot is the one left in it
                slots, first_from_end = np.unique(slot[chosen][::-1], return_index=True)
                self.items[slots] = rest[chosen[::-1][first_from_end]]
        self.seen += len(batch)

    def sample(self) -> np.ndarray:
        return self.items[:min(self.seen, self.size)]


def tree_samples(batches: Iterable[np.ndarray], num_trees: int, per_tree: int,
                 rng: np.random.Generator) -> np.ndarray:
    """(num_trees, n, d) float32: each tree's points, n = min(per_tree, records)."""
    reservoir = Reservoir(num_trees * per_tree, rng)
    for batch in batches:
        reservoir.add(np.asarray(batch, np.float32))
    pool = reservoir.sample()
    if len(pool) == 0:
        raise ValueError("no records to sample")
    if len(pool) == num_trees * per_tree:
        return pool[rng.permutation(len(pool))].reshape(num_trees, per_tree, -1)
    n = min(per_tree, len(pool))
    picks = np.stack([rng.choice(len(pool), n, replace=False) for _ in range(num_trees)])
    return pool[picks]
