"""Random Cut Forest as a library: the trees are random cut trees (dimension ∝ range), the
vectorised scores equal a literal, object-by-object reference of RRCF's insertion and
collusive displacement, the reservoir is Algorithm R, and the job's and the server's pieces
(hyperparameters, test metrics, model file, request and response formats)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from kamado.algorithms import recordio
from kamado.algorithms.random_cut_forest import (build, evaluate, fit, load_model, scoring,
                                                 threshold, validate_hyperparameters)
from kamado.algorithms.random_cut_forest import inference
from kamado.algorithms.random_cut_forest.sampling import Reservoir, tree_samples
from kamado.images.program import ClientError
from kamado.serving.errors import BadRequestError, UnsupportedAcceptError


# --- a literal reference: trees of objects, insertion and CoDisp as the paper states them ------
class Node:
    def __init__(self, *, point=None, count=0, dim=None, cut=None, children=()):
        self.point, self.count, self.dim, self.cut = point, count, dim, cut
        self.children, self.parent = list(children), None
        for child in self.children:
            child.parent = self

    def size(self) -> int:
        return self.count if not self.children else sum(c.size() for c in self.children)

    def points(self) -> np.ndarray:
        if not self.children:
            return np.repeat(self.point[None, :].astype(np.float64), self.count, axis=0)
        return np.concatenate([c.points() for c in self.children])


def reference_tree(forest, root: int) -> Node:
    """The tree as objects; a leaf's point is its (degenerate) box, its count its size."""
    if forest.left[root] < 0:
        return Node(point=forest.lo[root].copy(), count=int(forest.size[root]))
    return Node(dim=int(forest.dim[root]), cut=float(forest.cut[root]),
                children=(reference_tree(forest, forest.left[root]),
                          reference_tree(forest, forest.right[root])))


def literal_codisp(leaf: Node) -> float:
    """max over the ancestors C of the point's leaf (below the root) of |sibling(C)| / |C|."""
    ratios, node = [], leaf
    while node.parent is not None:
        sibling = next(c for c in node.parent.children if c is not node)
        ratios.append(sibling.size() / node.size())
        node = node.parent
    return max(ratios) if ratios else 0.0


def path(root: Node, x) -> list[Node]:
    nodes = [root]
    while nodes[-1].children:
        v = nodes[-1]
        nodes.append(v.children[0] if x[v.dim] <= v.cut else v.children[1])
    return nodes


def codisp_after(root: Node, index: int, x, merge: bool) -> float:
    """Copy the tree, insert x at the index-th node of its path (cut off next to it, or into
    it when it is a leaf holding x), and read x's CoDisp off the changed tree."""
    root = copy.deepcopy(root)
    v = path(root, x)[index]
    if merge:
        v.count += 1
        return literal_codisp(v)
    parent = v.parent
    leaf = Node(point=np.asarray(x, np.float64), count=1)
    branch = Node(children=(leaf, v))
    if parent is not None:
        parent.children[parent.children.index(v)] = branch
        branch.parent = parent
    return literal_codisp(leaf)


def expected_codisp(root: Node, x) -> float:
    """E[CoDisp] over RRCF's InsertPoint: at each node of the path, the chance the random cut
    of the box grown by x falls outside the node's own box."""
    x = np.asarray(x, np.float64)
    total, alive = 0.0, 1.0
    for index, v in enumerate(path(root, x)):
        pts = v.points()
        own = (pts.max(0) - pts.min(0)).sum()
        grown = (np.maximum(pts.max(0), x) - np.minimum(pts.min(0), x)).sum()
        if grown == 0:
            total += alive * codisp_after(root, index, x, merge=True)
            break
        p = (grown - own) / grown
        if p > 0:
            total += alive * p * codisp_after(root, index, x, merge=False)
        alive *= 1 - p
    return total


def sampled_codisp(root: Node, x, rng) -> float:
    """One random insertion, drawn as RRCF's InsertPoint draws it."""
    x = np.asarray(x, np.float64)
    for index, v in enumerate(path(root, x)):
        pts = v.points()
        lo, hi = pts.min(0), pts.max(0)
        glo, ghi = np.minimum(lo, x), np.maximum(hi, x)
        ranges = ghi - glo
        if ranges.sum() == 0:
            return codisp_after(root, index, x, merge=True)
        d = rng.choice(len(x), p=ranges / ranges.sum())
        c = glo[d] + rng.random() * ranges[d]
        if c < lo[d] or c >= hi[d]:
            return codisp_after(root, index, x, merge=False)
    raise AssertionError("an insertion always ends at a leaf")


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(7)
    points = rng.normal(size=(40, 2)).astype(np.float32)
    points[5] = points[3]                      # a duplicate: a leaf of two
    samples = tree_samples([points], 3, 12, np.random.default_rng(1))
    samples[0, 1] = samples[0, 0]
    forest = build(samples, np.random.default_rng(2))
    queries = np.vstack([points[:6], samples[0, :1], [[4.0, -3.0], [0.1, 0.2]],
                         rng.normal(size=(5, 2))]).astype(np.float32)
    return forest, samples, queries


def assert_random_cut_trees(forest, samples):
    for t, root in enumerate(forest.roots):
        tree = reference_tree(forest, root)
        assert sorted(map(tuple, tree.points())) == sorted(map(tuple, samples[t].astype(float)))
        stack = [(tree, root)]
        while stack:
            node, i = stack.pop()
            pts = node.points()
            assert np.array_equal(forest.lo[i], pts.min(0)) and np.array_equal(forest.hi[i],
                                                                                pts.max(0))
            assert forest.size[i] == len(pts)
            if node.children:
                d, c = node.dim, forest.cut[i]
                assert forest.lo[i, d] <= c < forest.hi[i, d]
                assert (node.children[0].points()[:, d] <= c).all()
                assert (node.children[1].points()[:, d] > c).all()
                stack += [(node.children[0], forest.left[i]), (node.children[1], forest.right[i])]
            else:
                assert len(np.unique(pts, axis=0)) == 1   # a leaf: one point, its copies


def test_trees_are_random_cut_trees_of_their_samples(small):
    forest, samples, _ = small
    assert_random_cut_trees(forest, samples)


def test_vectorised_scores_equal_the_literal_reference(small):
    forest, _, queries = small
    per_tree = scoring.codisp(forest, queries)
    for t, root in enumerate(forest.roots):
        tree = reference_tree(forest, root)
        expected = [expected_codisp(tree, x) for x in queries]
        # float32 gaps (as the data): equal to about 1e-8 relative
        np.testing.assert_allclose(per_tree[:, t], expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(scoring.scores(forest, queries), per_tree.mean(axis=1))


def test_expected_codisp_is_the_mean_of_random_insertions(small):
    forest, _, queries = small
    tree = reference_tree(forest, forest.roots[1])
    rng = np.random.default_rng(3)
    for x in (queries[7], queries[8]):
        draws = np.array([sampled_codisp(tree, x, rng) for _ in range(1500)])
        error = max(draws.std() / np.sqrt(len(draws)), 1e-9)
        assert abs(draws.mean() - expected_codisp(tree, x)) < 5 * error


def test_both_walks_give_the_same_scores(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 3)).astype(np.float32)
    X[100:150] = X[:50]
    forest = build(tree_samples([X], 50, 64, np.random.default_rng(1)),
                   np.random.default_rng(2))
    monkeypatch.setattr(scoring, "_BLOCK_WALK", 1)            # node by node, in one block
    blocks, block_scores = scoring.codisp(forest, X), scoring.scores(forest, X)
    monkeypatch.setattr(scoring, "_BLOCK_WALK", 10 ** 9)      # pairs, in chunks
    assert np.array_equal(blocks, scoring.codisp(forest, X))
    # summed in the same order: a score does not depend on the walk or the batch
    assert np.array_equal(block_scores, scoring.scores(forest, X))
    assert np.array_equal(block_scores[:7], scoring.scores(forest, X[:7]))


def test_cut_dimension_is_chosen_in_proportion_to_its_range():
    # two points 1 apart on dimension 0 and 3 apart on dimension 1: Isolation Forest would
    # cut each half the time; a random cut tree cuts dimension 1 three times in four
    samples = np.tile(np.array([[[0.0, 0.0], [1.0, 3.0]]], np.float32), (4000, 1, 1))
    forest = build(samples, np.random.default_rng(5))
    dims, cuts = forest.dim[forest.roots], forest.cut[forest.roots]
    assert 0.72 < np.mean(dims == 1) < 0.78
    assert abs(cuts[dims == 1].mean() - 1.5) < 0.1 and abs(cuts[dims == 0].mean() - 0.5) < 0.05


@pytest.mark.parametrize("batch", [1, 7, 1000])
def test_reservoir_is_algorithm_r_whatever_the_batches(batch):
    data = np.arange(300.0)[:, None]
    rng = np.random.default_rng(11)
    slots = data[:20].copy()
    for i in range(20, len(data)):              # one record at a time, as Algorithm R reads
        j = int(np.floor(rng.random() * (i + 1)))
        if j < 20:
            slots[j] = data[i]
    reservoir = Reservoir(20, np.random.default_rng(11))
    for start in range(0, len(data), batch):
        reservoir.add(data[start:start + batch])
    assert np.array_equal(reservoir.sample(), slots)


def test_tree_samples_are_disjoint_when_the_data_is_large_enough():
    data = np.arange(5000.0, dtype=np.float32)[:, None]
    samples = tree_samples([data[:2000], data[2000:]], 4, 100, np.random.default_rng(0))
    assert samples.shape == (4, 100, 1) and len(np.unique(samples)) == 400
    few = tree_samples([data[:30]], 3, 100, np.random.default_rng(0))
    assert few.shape == (3, 30, 1) and all(len(np.unique(s)) == 30 for s in few)


def anomalies(rows=3000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    X = np.column_stack([np.sin(t / 40), np.cos(t / 40), 0.1 * rng.normal(size=rows)])
    X += 0.05 * rng.normal(size=X.shape)
    y = (rng.random(rows) < 0.03).astype(float)
    X[y == 1] += rng.choice([-1, 1], size=(int(y.sum()), 3)) * rng.uniform(1, 3, (int(y.sum()), 3))
    return X.astype(np.float32), y


def test_injected_anomalies_score_high_and_models_repeat(tmp_path):
    X, y = anomalies()
    model = fit({"feature_dim": "3", "num_trees": "50"}, X)
    scores = model.scores(X)
    assert roc_auc_score(y, scores) >= 0.9
    again = fit({"feature_dim": "3", "num_trees": "50"}, X)
    assert np.array_equal(again.scores(X[:50]), scores[:50])   # a fixed seed
    model.save(tmp_path)
    loaded = load_model(tmp_path)
    assert np.array_equal(loaded.scores(X[:50]), scores[:50])
    assert [r["score"] for r in loaded.predict(X[:3])] == scores[:3].tolist()


def test_hyperparameters_as_aws_documents_them():
    hp = validate_hyperparameters({"feature_dim": "4", "mini_batch_size": "1000"})
    assert hp["num_trees"] == 100 and hp["num_samples_per_tree"] == 256
    assert hp["eval_metrics"] == ["accuracy", "precision_recall_fscore"]
    for value in ('["accuracy"]', "['accuracy']", "accuracy"):
        assert validate_hyperparameters({"feature_dim": "4", "eval_metrics": value})[
            "eval_metrics"] == ["accuracy"]
    with pytest.raises(ClientError, match=r"num_trees: value 10 is not in \[50, 1000\]"):
        validate_hyperparameters({"feature_dim": "4", "num_trees": "10"})
    with pytest.raises(ClientError, match=r"num_samples_per_tree: value 4096 is not in "):
        validate_hyperparameters({"feature_dim": "4", "num_samples_per_tree": "4096"})
    with pytest.raises(ClientError, match=r"feature_dim: value 10001 is not in \[1, 10000\]"):
        validate_hyperparameters({"feature_dim": "10001"})
    with pytest.raises(ClientError, match="feature_dim is required by Random Cut Forest"):
        validate_hyperparameters({})
    with pytest.raises(ClientError, match="eval_metrics: 'auc' is not valid; allowed values: a "
                                          "list of accuracy, precision_recall_fscore"):
        validate_hyperparameters({"feature_dim": "4", "eval_metrics": '["accuracy", "auc"]'})
    with pytest.raises(ClientError, match="Hyperparameter k is not a hyperparameter of Random"):
        validate_hyperparameters({"feature_dim": "4", "k": "3"})


def test_test_metrics_use_three_sigma_of_the_test_scores():
    rng = np.random.default_rng(1)
    scores = np.concatenate([rng.normal(1, 0.2, 500), [9, 10, 0.5, 11]])
    labels = np.zeros(len(scores))
    labels[-4:] = 1
    cut = threshold(scores)
    assert cut == pytest.approx(scores.mean() + 3 * scores.std())
    flagged = scores > cut
    got = dict(evaluate(scores, labels, ["accuracy", "precision_recall_fscore"]))
    assert got == pytest.approx({"accuracy": accuracy_score(labels, flagged),
                                 "precision": precision_score(labels, flagged),
                                 "recall": recall_score(labels, flagged),
                                 "f1": f1_score(labels, flagged)})
    assert [n for n, _ in evaluate(scores, labels, ["accuracy"])] == ["accuracy"]


def test_handlers_read_every_request_type_and_write_every_response(tmp_path):
    X, _ = anomalies(800)
    fit({"feature_dim": "3", "num_trees": "50"}, X).save(tmp_path)
    model = inference.model_fn(tmp_path)
    expected = model.scores(X[:3])
    bodies = {"text/csv": "\n".join(",".join(map(repr, r.tolist())) for r in X[:3]),
              "application/json": json.dumps({"instances": [{"features": r.tolist()}
                                                            for r in X[:3]]}),
              "application/jsonlines": "\n".join(json.dumps({"features": r.tolist()})
                                                 for r in X[:3]),
              "application/x-recordio-protobuf": b"".join(
                  recordio.frame(recordio.encode_record(r)) for r in X[:3])}
    for content_type, body in bodies.items():
        scores = inference.predict_fn(inference.input_fn(body, content_type), model)
        np.testing.assert_allclose(scores, expected)
    body, mime = inference.output_fn(expected, "application/json")
    assert mime == "application/json" and json.loads(body) == {
        "scores": [{"score": s} for s in expected.tolist()]}
    body, _ = inference.output_fn(expected, "application/jsonlines")
    assert [json.loads(line)["score"] for line in body.decode().splitlines()] == expected.tolist()
    body, _ = inference.output_fn(expected, "application/x-recordio-protobuf")
    import io
    records = list(recordio.read_records(io.BytesIO(body)))
    assert len(records) == 3
    with pytest.raises(UnsupportedAcceptError):
        inference.output_fn(expected, "text/csv")
    with pytest.raises(BadRequestError, match="expects 3 features per record"):
        inference.predict_fn(inference.input_fn("1,2\n", "text/csv"), model)
    with pytest.raises(BadRequestError, match="CSV line 1"):
        inference.input_fn("1,a,2\n", "text/csv")
    with pytest.raises(BadRequestError, match="missing or infinite"):
        inference.predict_fn(inference.input_fn("1,,2\n", "text/csv"), model)


def test_job_writes_the_model_and_aws_test_lines(tmp_path, capsys):
    import re

    from kamado.algorithms.random_cut_forest import definitions, job
    from kamado.images.environment import TrainingEnvironment

    X, y = anomalies(1200, seed=4)
    for channel, rows in (("train", X), ("test", np.column_stack([y, X]))):
        (tmp_path / "input" / "data" / channel).mkdir(parents=True)
        np.savetxt(tmp_path / "input" / "data" / channel / "part.csv", rows, delimiter=",",
                   fmt="%.10g")
    hp = {"feature_dim": "3", "num_trees": "50", "num_samples_per_tree": "100"}
    env = TrainingEnvironment(tmp_path, hyperparameters=hp, input_data_config={
        "train": {"ContentType": "text/csv;label_size=0"},
        "test": {"ContentType": "text/csv;label_size=1"}})
    job.train(env)
    lines = capsys.readouterr().out
    direct = fit(hp, X)
    assert np.array_equal(load_model(env.model_dir).forest.cut, direct.forest.cut)
    expected = dict(evaluate(direct.scores(X), y, ["accuracy", "precision_recall_fscore"]))
    for d in definitions.metric_definitions(hp):
        found = re.findall(d["Regex"], lines)
        assert [float(v) for v in found] == [pytest.approx(expected[d["Name"][5:]])], d
    assert f"#test_score (algo-1) : ('f1', {expected['f1']!r})" in lines


def test_degenerate_forests_still_score():
    # every record the same: each tree is one leaf of all its samples
    model = fit({"feature_dim": "1", "num_samples_per_tree": "16", "num_trees": "50"},
                np.ones((300, 1), np.float32))
    assert len(model.forest.size) == 50 and (model.forest.size == 16).all()
    assert model.scores(np.array([[1.0], [2.0]])).tolist() == [0.0, 16.0]
    # one sample per tree: a point is cut off from it (1) unless it is that point (0)
    X = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    model = fit({"feature_dim": "2", "num_samples_per_tree": "1"}, X)
    assert (model.scores(X + 5) == 1).all() and (model.scores(X) < 1).all()


def test_trees_built_in_groups_are_random_cut_trees_of_their_samples(monkeypatch):
    from kamado.algorithms.random_cut_forest import forest as forest_module

    samples = tree_samples([np.random.default_rng(0).normal(size=(900, 4))], 7, 30,
                           np.random.default_rng(1))
    monkeypatch.setattr(forest_module, "_BUILD_VALUES", 2 * 30 * 4)    # two trees a group
    grouped = build(samples, np.random.default_rng(2))
    assert len(grouped.roots) == 7
    assert_random_cut_trees(grouped, samples)
    X = np.random.default_rng(3).normal(size=(40, 4)).astype(np.float32)
    per_tree = scoring.codisp(grouped, X)
    tree = reference_tree(grouped, grouped.roots[5])
    np.testing.assert_allclose(per_tree[:5, 5], [expected_codisp(tree, x) for x in X[:5]],
                               rtol=1e-6, atol=1e-9)


def test_wide_records_score_as_the_reference_too():
    from kamado.algorithms.random_cut_forest.forest import WIDE

    rng = np.random.default_rng(5)
    points = rng.normal(size=(60, WIDE + 4)).astype(np.float32)
    forest = build(tree_samples([points], 2, 10, np.random.default_rng(1)),
                   np.random.default_rng(2))
    queries = np.vstack([points[:4], points[:2] + 3, rng.normal(size=(3, WIDE + 4))])
    per_tree = scoring.codisp(forest, queries)
    assert "loT" not in forest.derived                       # boxes read as stored
    for t, root in enumerate(forest.roots):
        tree = reference_tree(forest, root)
        np.testing.assert_allclose(per_tree[:, t], [expected_codisp(tree, x) for x in queries],
                                   rtol=1e-6, atol=1e-9)
    assert np.array_equal(scoring.scores(forest, queries)[3:5], scoring.scores(forest,
                                                                                queries[3:5]))
    many = np.repeat(queries, 1000, axis=0)                  # several chunks
    assert np.array_equal(scoring.scores(forest, many)[::1000], scoring.scores(forest, queries))
