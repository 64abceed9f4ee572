"""Anomaly scores: the collusive displacement (CoDisp) a query point would have if it were
inserted into each tree, in expectation over the insertion's random cut, averaged over the
trees. The trees are not changed.

Inserting x into a tree (RRCF's InsertPoint) starts at the root. At a node v with bounding
box B, a cut is drawn in the box B' of B and x (dimension ∝ range, value uniform). It
separates x from B with probability

    p(v) = ext(v) / (span(v) + ext(v)),    ext(v) = Σ_d max(lo_d − x_d, x_d − hi_d, 0),

(span = Σ_d range of B; ext is the L1 distance from x to B, so p = 0 while x is inside B);
then x becomes a leaf next to v. Otherwise x follows v's own cut down. At a leaf p = 1,
unless x equals the leaf's point (it then joins the leaf).

CoDisp(x) = max over the ancestors C of x's leaf (below the root) of |sibling(C)| / |C|. If x
is cut off at v, the levels are: {x} against v (|v|/1), then, for v and each ancestor u of
v below the root, (u with x) against u's sibling: |sibling(u)| / (|u| + 1). So

    CoDisp if separated at v = max(|v|, max over u on the path root→v of |sib(u)|/(|u|+1)),

and a duplicate of a leaf's point gets the second term alone; both are fixed per node
(:meth:`Forest.prepare`). The expectation over the insertion's cut is

    E[CoDisp] = Σ_k p(v_k) Π_{j<k} (1 − p(v_j)) · separated(v_k)  (+ Π(1 − p) · duplicate)

over the path v_0 (root), v_1, … that x follows by the existing cuts — exact, not sampled, so
a score does not depend on a random draw.

Two walks compute the same numbers. Few queries (an endpoint's request): all (query, tree)
pairs step down together, one level per step, each step gathering every pair's node (pairs
that reached a leaf drop out). Many
queries (batch transform, a test channel): tree by tree, node by node, the queries at a node
as one contiguous block of their features (features by rows), split by the node's cut into
its children's blocks: no per-pair gathers of boxes, long contiguous arithmetic, and the
per-node Python cost spread over thousands of queries.
"""

from __future__ import annotations

import numpy as np

from kamado.algorithms.random_cut_forest.forest import Forest

# pairs (query, tree) walked at once: their temporaries stay in cache (more is slower)
_PAIRS = 1 << 15
# from this many queries on, the node-by-node walk is the quicker (it visits every node of
# every tree: about a second and a half of fixed cost for 100 trees of 256 samples)
_BLOCK_WALK = 1 << 15
# queries per block walk: the block's features stay in cache (a larger one is slower)
_BLOCK = 1 << 17
# The walks work in float32, as the data and the boxes are (scores good to about 1e-6), and
# add up in float64.
_ZERO, _ONE = np.float32(0), np.float32(1)


def codisp(forest: Forest, X: np.ndarray) -> np.ndarray:
    """(n, trees) float64: each tree's expected CoDisp of each row of X."""
    return _walk(forest, X, per_tree=True)


def scores(forest: Forest, X: np.ndarray) -> np.ndarray:
    """(n,) float64: the mean over trees of the expected CoDisp of each row of X."""
    return _walk(forest, X, per_tree=False) / forest.num_trees


def _walk(forest: Forest, X: np.ndarray, per_tree: bool) -> np.ndarray:
    """Each tree's value of a point is summed from the root down, and a point's trees are
    summed one after the other in tree order, by either walk: a score does not depend on the
    batch it came in."""
    forest.prepare()
    X = np.asarray(X, np.float32)
    n, trees = X.shape[0], forest.num_trees
    out = np.zeros((n, trees) if per_tree else n)
    narrow = "loT" in forest.derived
    # The node walk only for narrow records: wide ones make blocks small, and then its
    # per-node cost is not spread over enough of them.
    blocks = narrow and n >= _BLOCK_WALK
    step = _BLOCK if blocks else max(1, _PAIRS // (trees * max(1, X.shape[1] // 8)))
    for start in range(0, n, step):
        chunk = X[start:start + step]
        chunk = np.ascontiguousarray(chunk.T if narrow else chunk)
        if blocks:
            values = _walk_blocks(forest, chunk, per_tree)
        else:
            values = _walk_pairs(forest, chunk)
            if not per_tree:
                values = _sum_trees(values.T)
        out[start:start + len(values)] = values
    return out


def _sum_trees(per_tree: np.ndarray) -> np.ndarray:
    """(trees, q) -> (q,), adding tree after tree (the order the node walk adds them in)."""
    total = np.zeros(per_tree.shape[1])
    for values in per_tree:
        total += values
    return total


def _walk_blocks(forest: Forest, XT: np.ndarray, per_tree: bool) -> np.ndarray:
    """Tree by tree, node by node; XT (d, q). (q, trees), or (q,) summed over the trees."""
    derived = forest.derived
    loT, hiT = derived["loT"], derived["hiT"]
    span, separated, duplicate = (derived["span"].tolist(), derived["separated"].tolist(),
                                  derived["duplicate"].tolist())
    left, right = forest.left.tolist(), forest.right.tolist()
    dim, cut = forest.dim.tolist(), forest.cut.tolist()
    q = XT.shape[1]
    every = np.zeros((q, forest.num_trees)) if per_tree else None
    total = np.zeros(q)
    for tree, root in enumerate(forest.roots.tolist()):
        acc = np.zeros(q)
        stack = [(root, np.arange(q, dtype=np.int32), XT, np.ones(q, np.float32))]
        while stack:
            v, ids, x, alive = stack.pop()
            gap = loT[:, v:v + 1] - x
            np.maximum(gap, x - hiT[:, v:v + 1], out=gap)
            np.maximum(gap, _ZERO, out=gap)
            ext = gap.sum(axis=0)
            child = left[v]
            if child < 0:
                # a leaf's box is its point: cut off for sure (p = 1) unless x is that point
                acc[ids] += np.where(ext > 0, alive * separated[v], alive * duplicate[v])
                continue
            outside = np.flatnonzero(ext)              # p = 0 for the others (inside the box)
            if len(outside):
                e, live = ext.take(outside), alive.take(outside)
                p = e / (span[v] + e)
                acc[ids.take(outside)] += live * p * separated[v]
                alive[outside] = live * (_ONE - p)     # alive is this node's own array
            goes_right = x[dim[v]] > cut[v]
            order = np.argsort(goes_right, kind="stable")   # left ones first, in order
            split = len(order) - int(np.count_nonzero(goes_right))
            ids, x, alive = ids.take(order), x.take(order, axis=1), alive.take(order)
            if split < len(order):
                stack.append((right[v], ids[split:], x[:, split:], alive[split:]))
            if split:
                stack.append((child, ids[:split], x[:, :split], alive[:split]))
        total += acc
        if per_tree:
            every[:, tree] = acc
    return every if per_tree else total


def _walk_pairs(forest: Forest, Xc: np.ndarray) -> np.ndarray:
    """(q, trees): all (query, tree) pairs level by level. Narrow records come features by
    rows (Xc (d, q), boxes (d, nodes)), so that every step works on long contiguous rows
    (NumPy reduces a short last axis slowly); wide ones as they are (Xc (q, d), boxes
    (nodes, d)), so that a gathered box is one contiguous row."""
    derived = forest.derived
    span, separated, duplicate = derived["span"], derived["separated"], derived["duplicate"]
    narrow = "loT" in derived
    lo, hi = (derived["loT"], derived["hiT"]) if narrow else (forest.lo, forest.hi)
    along, features = (1, 0) if narrow else (0, 1)    # the axis of pairs, of features
    left, right, dim, cut = forest.left, forest.right, forest.dim, forest.cut
    q, d, trees = Xc.shape[along], Xc.shape[features], forest.num_trees
    pair = np.arange(q * trees)                        # query-major: pair = query*trees + tree
    query = pair // trees
    node = np.tile(forest.roots, q)
    alive = np.ones(q * trees, np.float32)             # P(not separated above this node)
    total = np.zeros(q * trees)
    while len(node):
        x = Xc.take(query, axis=along)
        gap = lo.take(node, axis=along)
        gap -= x
        np.maximum(gap, x - hi.take(node, axis=along), out=gap)
        np.maximum(gap, _ZERO, out=gap)
        ext = gap.sum(axis=features)
        whole = span.take(node) + ext
        leaf = left.take(node) < 0
        p = np.divide(ext, whole, out=np.zeros_like(ext), where=whole > 0)
        gain = alive * p * separated.take(node)
        gain += np.where(leaf & (ext == 0), alive * duplicate.take(node), 0.0)
        total[pair] += gain                            # each pair appears once per level
        keep = np.flatnonzero(~leaf)
        node, query, pair = node.take(keep), query.take(keep), pair.take(keep)
        alive = alive.take(keep) * (_ONE - p.take(keep))
        x = x.take(keep, axis=along)
        m, feature = len(node), dim.take(node).astype(np.int64)
        at = feature * m + np.arange(m) if narrow else np.arange(m) * d + feature
        node = np.where(x.ravel().take(at) > cut.take(node), right.take(node),
                        left.take(node))
    return total.reshape(q, trees)
