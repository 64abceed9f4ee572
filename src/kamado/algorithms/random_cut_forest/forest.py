"""The random cut trees (Guha, Mishra, Roy, Schrijvers, ICML 2016), built all at once and
kept as flat arrays.

A tree is built on its sample by cutting each node's points: the dimension is chosen with
probability proportional to its range (max − min) in the node's bounding box, the cut value
uniformly within that range; points with ``x[dim] <= cut`` go left. A node whose points are
all the same point is a leaf holding that point with its multiplicity (``size``).

Every node of every tree is one row of the flat arrays (a tree's nodes contiguous, parents
before children): ``left``/``right`` (-1 at a leaf), ``dim``, ``cut``, ``size`` (points
under it), and the bounding box ``lo``/``hi`` (feature_dim wide). All trees grow together,
one level per step, with NumPy over all nodes of that level: the points of a node are a
contiguous run of one permutation, so bounding boxes are segment reductions and a cut is a
stable partition of its run.

Derived per node (:meth:`Forest.prepare`), what scoring needs so that it never walks back up
a tree: ``span`` (sum of the box's ranges), ``separated`` (the collusive displacement of a
point that the insertion cuts off at this node, see :mod:`.scoring`) and ``duplicate`` (that
of a point equal to this leaf's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ARRAYS = ("roots", "left", "right", "dim", "cut", "size", "lo", "hi")
# From this many features on, scoring reads the boxes as they are stored (a node's box one
# contiguous row); below, a transposed copy (each feature one contiguous row) is quicker.
WIDE = 16


@dataclass
class Forest:
    roots: np.ndarray   # (trees,) int32
    left: np.ndarray    # (nodes,) int32, -1 at leaves
    right: np.ndarray   # (nodes,) int32, -1 at leaves
    dim: np.ndarray     # (nodes,) int32, -1 at leaves
    cut: np.ndarray     # (nodes,) float32
    size: np.ndarray    # (nodes,) int32
    lo: np.ndarray      # (nodes, d) float32
    hi: np.ndarray      # (nodes, d) float32
    derived: dict = field(default_factory=dict, repr=False)

    @property
    def num_trees(self) -> int:
        return len(self.roots)

    @property
    def feature_dim(self) -> int:
        return self.lo.shape[1]

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in ARRAYS}

    def prepare(self) -> "Forest":
        """The per-node quantities scoring reads (computed once, not stored in the model)."""
        if self.derived:
            return self
        n = len(self.size)
        size = self.size.astype(np.float64)
        parent = np.full(n, -1, np.int64)
        internal = np.flatnonzero(self.left >= 0)
        parent[self.left[internal]] = internal
        parent[self.right[internal]] = internal
        # ratio of a node: |sibling| / (|node| + 1), the displacement term of the query point
        # and this node's points together; its prefix maximum from the root down is the most
        # that any ancestor level adds to the query's collusive displacement.
        ratio = np.zeros(n)
        child = np.flatnonzero(parent >= 0)
        ratio[child] = (size[parent[child]] - size[child]) / (size[child] + 1.0)
        above = np.zeros(n)
        frontier = self.roots.astype(np.int64)
        while len(frontier):
            inner = frontier[self.left[frontier] >= 0]
            kids = np.concatenate([self.left[inner], self.right[inner]]).astype(np.int64)
            above[kids] = np.maximum(above[parent[kids]], ratio[kids])
            frontier = kids
        self.derived = {
            "span": (self.hi.astype(np.float64) - self.lo).sum(axis=1).astype(np.float32),
            "separated": np.maximum(size, above).astype(np.float32),
            "duplicate": above.astype(np.float32),
        }
        if self.feature_dim < WIDE:
            # features by rows: scoring works on long contiguous rows (see .scoring)
            self.derived["loT"] = np.ascontiguousarray(self.lo.T)
            self.derived["hiT"] = np.ascontiguousarray(self.hi.T)
        return self


def build(samples: np.ndarray, rng: np.random.Generator) -> Forest:
    """One tree per row of ``samples`` (trees, n, d): as many trees at once as keep a level's
    copy of their points under ``_BUILD_VALUES`` values (all of them, unless the records are
    wide), then the groups joined."""
    trees, n, d = samples.shape
    group = max(1, _BUILD_VALUES // (n * d))
    parts = [_build(samples[i:i + group], rng) for i in range(0, trees, group)]
    return parts[0] if len(parts) == 1 else _join(parts)


# values (points × features) of one level's working copy while building
_BUILD_VALUES = 1 << 24


def _join(parts: list[Forest]) -> Forest:
    offsets = np.cumsum([0] + [len(f.size) for f in parts[:-1]]).astype(np.int32)

    def child(name):
        return np.concatenate([np.where(getattr(f, name) >= 0, getattr(f, name) + o, -1)
                               for f, o in zip(parts, offsets)]).astype(np.int32)

    return Forest(roots=np.concatenate([f.roots + o for f, o in zip(parts, offsets)]),
                  left=child("left"), right=child("right"),
                  **{name: np.concatenate([getattr(f, name) for f in parts])
                     for name in ("dim", "cut", "size", "lo", "hi")})


def _build(samples: np.ndarray, rng: np.random.Generator) -> Forest:
    """Level by level over all the trees of ``samples``."""
    trees, n, d = samples.shape
    X = np.ascontiguousarray(samples, np.float32).reshape(trees * n, d)
    capacity = trees * (2 * n - 1)
    left = np.full(capacity, -1, np.int32)
    right = np.full(capacity, -1, np.int32)
    dim = np.full(capacity, -1, np.int32)
    cut = np.zeros(capacity, np.float32)
    size = np.zeros(capacity, np.int32)
    owner = np.zeros(capacity, np.int32)
    lo = np.empty((capacity, d), np.float32)
    hi = np.empty((capacity, d), np.float32)

    order = np.arange(trees * n)           # positions -> points; a node's points are a run
    starts = np.arange(trees) * n           # the runs of this level's nodes
    sizes = np.full(trees, n)
    nodes = np.arange(trees)
    owner[:trees], size[:trees] = nodes, n
    count = trees
    while len(nodes):
        offsets = np.cumsum(sizes) - sizes
        pos = np.repeat(starts - offsets, sizes) + np.arange(sizes.sum())
        pts = order[pos]
        Xa = X[pts]
        lo_s = np.minimum.reduceat(Xa, offsets, axis=0)
        hi_s = np.maximum.reduceat(Xa, offsets, axis=0)
        lo[nodes], hi[nodes] = lo_s, hi_s
        ranges = hi_s.astype(np.float64) - lo_s
        split = np.flatnonzero(ranges.sum(axis=1) > 0)   # others: one point (or copies of it)
        if not len(split):
            break
        ranges, lo_s, hi_s = ranges[split], lo_s[split], hi_s[split]
        # the dimension with probability ∝ its range, the cut uniform within it
        cum = np.cumsum(ranges, axis=1)
        # below the total even after rounding, so that u falls in a range that is not empty
        u = np.minimum(rng.random(len(split)) * cum[:, -1], np.nextafter(cum[:, -1], 0))
        q = (cum <= u[:, None]).sum(axis=1)
        row = np.arange(len(split))
        value = lo_s[row, q] + (u - (cum[row, q] - ranges[row, q]))
        bottom, top = lo_s[row, q], hi_s[row, q]
        # rounding may leave the range: its lowest point must go left, its highest right
        c = np.clip(value.astype(np.float32), bottom, np.nextafter(top, np.float32(-np.inf)))
        parents = nodes[split]
        dim[parents], cut[parents] = q, c

        member = np.repeat(np.isin(np.arange(len(nodes)), split), sizes)
        seg = np.repeat(np.arange(len(split)), sizes[split])
        Xs, pos_s, pts_s = Xa[member], pos[member], pts[member]
        goes_right = Xs[np.arange(len(seg)), q[seg]] > c[seg]
        order[pos_s] = pts_s[np.argsort(seg * 2 + goes_right, kind="stable")]
        n_right = np.bincount(seg, weights=goes_right, minlength=len(split)).astype(np.int64)
        n_left = sizes[split] - n_right

        kids = count + np.arange(2 * len(split))
        count += 2 * len(split)
        left[parents], right[parents] = kids[0::2], kids[1::2]
        owner[kids] = np.repeat(owner[parents], 2)
        size[kids[0::2]], size[kids[1::2]] = n_left, n_right
        starts = np.stack([starts[split], starts[split] + n_left], axis=1).ravel()
        sizes = np.stack([n_left, n_right], axis=1).ravel()
        nodes = kids
    return _renumber(owner[:count], left[:count], right[:count], dim[:count], cut[:count],
                     size[:count], lo[:count], hi[:count])


def _renumber(owner, left, right, dim, cut, size, lo, hi) -> Forest:
    """Each tree's nodes contiguous (in the order they were made: parents first)."""
    order = np.argsort(owner, kind="stable")
    new = np.empty(len(order), np.int32)
    new[order] = np.arange(len(order), dtype=np.int32)
    inner = left >= 0
    left = np.where(inner, new[np.maximum(left, 0)], -1).astype(np.int32)
    right = np.where(inner, new[np.maximum(right, 0)], -1).astype(np.int32)
    roots = new[:owner.max() + 1]   # node t was made as the root of tree t
    return Forest(roots=roots, left=left[order], right=right[order],
                  dim=dim[order], cut=cut[order], size=size[order],
                  lo=np.ascontiguousarray(lo[order]), hi=np.ascontiguousarray(hi[order]))
