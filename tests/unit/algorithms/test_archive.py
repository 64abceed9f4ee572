"""``model_algo-1`` files of kamado's own algorithms: every algorithm's model names its format,
a file of another algorithm or of a newer kamado is refused with the reason, and files written
before an algorithm named its format still load."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from kamado.algorithms import archive
from kamado.algorithms import factorization_machines as fm
from kamado.algorithms import ip_insights, lda, random_cut_forest
from kamado.algorithms import knn


def _models(tmp_path):
    """(module, saved model's directory, its format) for each algorithm on small data."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    counts = rng.poisson(1.0, size=(60, 12)).astype(np.float32)
    entities = [f"user{i % 20}" for i in range(400)]
    ips = ip_insights.parse_ipv4([f"10.0.{i % 7}.{i % 200}" for i in range(400)])
    made = {
        knn: knn.fit(X, y, knn.validate({"feature_dim": "4", "k": "3", "sample_size": "300",
                                          "predictor_type": "classifier"})),
        fm: fm.fit(sp.csr_matrix(X), y, fm.validate({"feature_dim": "4", "num_factors": "2",
                                                     "predictor_type": "binary_classifier",
                                                     "epochs": "1"})),
        lda: lda.fit(counts, lda.validate({"num_topics": "3", "feature_dim": "12",
                                           "mini_batch_size": "60"})),
        random_cut_forest: random_cut_forest.fit({"feature_dim": "4", "num_trees": "50",
                                                  "num_samples_per_tree": "32"}, X),
        ip_insights: ip_insights.fit(entities, ips, ip_insights.validate(
            {"num_entity_vectors": "40", "vector_dim": "8", "epochs": "1"})),
    }
    out = []
    for module, model in made.items():
        where = tmp_path / module.__name__.rsplit(".", 1)[-1]
        where.mkdir()
        model.save(where)
        out.append((module, where))
    return out


def test_every_model_names_its_format_and_refuses_the_others(tmp_path):
    models = _models(tmp_path)
    formats = set()
    for module, where in models:
        with np.load(where / "model_algo-1", allow_pickle=False) as saved:
            meta = json.loads(str(saved["meta"]))
        formats.add(meta["format"])
        assert meta["version"] == 1
        module.load_model(where)  # its own file loads
        for other, elsewhere in models:
            if other is not module:
                with pytest.raises(ValueError, match=f"its format is '{meta['format']}'"):
                    other.load_model(where)
    assert len(formats) == len(models)


def test_a_newer_version_is_refused_with_both_versions(tmp_path):
    archive.write(tmp_path, {"format": "kamado-x", "version": 3}, {"a": np.zeros(2)})
    with pytest.raises(ValueError, match=r"version 3; this kamado reads up to 2"):
        archive.read(tmp_path, "kamado-x", 2, "X")


def test_files_without_a_format_are_version_0_only_where_the_algorithm_wrote_such_files(
        tmp_path):
    with open(tmp_path / "model_algo-1", "wb") as fh:
        np.savez(fh, a=np.zeros(2))
    meta, arrays = archive.read(tmp_path, "kamado-x", 1, "X", required=("a",), legacy=True)
    assert meta == {"format": "kamado-x", "version": 0} and list(arrays) == ["a"]
    with pytest.raises(ValueError, match="it names no format"):
        archive.read(tmp_path, "kamado-x", 1, "X", required=("a",))
    with pytest.raises(ValueError, match="it has no b"):
        archive.read(tmp_path, "kamado-x", 1, "X", required=("a", "b"), legacy=True)


@pytest.mark.parametrize("content", [b"junk", b"PK\x03\x04truncated zip",
                                     b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': "
                                     b"False, 'shape': (0,), }" + b" " * 46 + b"\n"])
def test_what_is_not_an_archive_is_refused_as_a_value_error(tmp_path, content):
    (tmp_path / "model_algo-1").write_bytes(content)
    with pytest.raises(ValueError, match="not a kamado X model"):
        archive.read(tmp_path, "kamado-x", 1, "X", required=("a",), legacy=True)


def test_an_lda_model_written_before_its_format_was_named_still_loads(tmp_path):
    rng = np.random.default_rng(1)
    counts = rng.poisson(1.0, size=(60, 12)).astype(np.float32)
    model = lda.fit(counts, lda.validate({"num_topics": "3", "feature_dim": "12",
                                          "mini_batch_size": "60"}))
    model.save(tmp_path)
    with np.load(tmp_path / "model_algo-1", allow_pickle=False) as saved:
        meta = json.loads(str(saved["meta"]))
        arrays = {k: saved[k] for k in saved.files if k != "meta"}
    del meta["format"], meta["version"]
    with open(tmp_path / "model_algo-1", "wb") as fh:  # the layout before 2026-12
        np.savez(fh, **arrays, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    np.testing.assert_array_equal(lda.load_model(tmp_path).topic_mixtures(counts),
                                  model.topic_mixtures(counts))
