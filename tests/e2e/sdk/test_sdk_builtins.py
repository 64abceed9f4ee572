"""SageMaker Python SDK 2.x code written for AWS's first-party built-in algorithms runs
unchanged on kamado: ``sagemaker.KMeans``, ``PCA``, ``KNN``, ``RandomCutForest``,
``FactorizationMachines``, ``LDA``, ``LinearLearner`` (``record_set`` → RecordIO-protobuf shards
and a manifest in S3 → ``fit`` on a ManifestFile channel → ``deploy`` → the estimator's own
predictor with its default RecordIO serializer and deserializer) and ``IPInsights`` (CSV in,
JSON out).

One SDK process runs every scenario (``scripts/v2_builtins.py``); each test checks one
algorithm's answers against kamado's library called here on the model the job wrote to S3,
and against scikit-learn where the algorithm's page says the results equal it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from tests.e2e.sdk.conftest import (CONFIG_BUCKET, ROLE, SdkRun, sdk_env, start_sdk_server,
                                    tar_members, write_sdk_config)

pytestmark = pytest.mark.xdist_group("sdk-v2-builtins")

ECR = "dkr.ecr.us-east-1.amazonaws.com"
ALGORITHMS = {  # scenario: (image sagemaker.image_uris.retrieve gives, the SDK's predictor)
    "kmeans": (f"382416733822.{ECR}/kmeans:1", "KMeansPredictor"),
    "pca": (f"382416733822.{ECR}/pca:1", "PCAPredictor"),
    "knn": (f"382416733822.{ECR}/knn:1", "KNNPredictor"),
    "randomcutforest": (f"382416733822.{ECR}/randomcutforest:1", "RandomCutForestPredictor"),
    "factorization-machines": (f"382416733822.{ECR}/factorization-machines:1",
                               "FactorizationMachinesPredictor"),
    "lda": (f"766337827248.{ECR}/lda:1", "LDAPredictor"),
    "linear-learner": (f"382416733822.{ECR}/linear-learner:1", "LinearLearnerPredictor"),
    "ipinsights": (f"382416733822.{ECR}/ipinsights:1", "IPInsightsPredictor"),
}
RECORDIO = "application/x-recordio-protobuf"
PREFIX = "sdk-builtin"


# --- the data, here and in the SDK process -----------------------------------------------------
def _rcf_data(rng):
    """A noisy sine in shingles of 4; 2 % of the training records pushed off it."""
    t = np.arange(1200)
    s = np.sin(2 * np.pi * t / 50) + rng.normal(0, 0.05, t.size)
    X = np.lib.stride_tricks.sliding_window_view(s, 4).astype(np.float32).copy()
    odd = rng.choice(len(X), size=len(X) // 50, replace=False)
    X[odd] += rng.uniform(0.8, 2.0, (len(odd), 4)).astype(np.float32)
    normal = np.setdiff1d(np.arange(len(X)), odd)
    picked = rng.choice(normal, size=20, replace=False)
    Xq = X[picked].copy()
    # the last 10 queries are anomalies: every other coordinate pushed up, the others down
    Xq[10:] += np.array([1.5, -1.5, 1.5, -1.5], np.float32)
    return X, Xq, np.r_[np.zeros(10), np.ones(10)]


def _fm_data(rng):
    """Sparse-ish features (70 % zeros) and labels of a factorization-machine logit."""
    n, d = 400, 20
    X = (rng.normal(size=(n, d)) * (rng.random((n, d)) < 0.3)).astype(np.float32)
    w, V = rng.normal(size=d), rng.normal(size=(d, 2))
    XV = X @ V
    logit = X @ w + 0.5 * ((XV ** 2).sum(1) - ((X ** 2) @ (V ** 2)).sum(1))
    return X, (logit > np.median(logit)).astype(np.float32)


def _lda_data(rng):
    """150 documents of 60 words from 3 topics over disjoint blocks of a 30-word vocabulary."""
    topics = np.zeros((3, 30))
    for k in range(3):
        topics[k, 10 * k:10 * (k + 1)] = rng.dirichlet(np.ones(10))
    docs = np.stack([rng.multinomial(60, rng.dirichlet(np.full(3, 0.3)) @ topics)
                     for _ in range(150)])
    return docs.astype(np.float32), topics


def _subnet(i: int) -> str:
    return f"{20 + i}.{(7 * i) % 256}.{(13 * i + 5) % 256}"


def _ipinsights_data(rng, directory: Path):
    """40 users, each logging in from hosts of a /24 of its own; queries: a host of the user's
    own /24 never seen in training, then one of another user's /24."""
    lines = [f"user_{i},{_subnet(i)}.{h}" for i in range(40)
             for h in rng.choice(np.arange(1, 200), size=50, replace=False)]
    lines = [lines[j] for j in rng.permutation(len(lines))]
    directory.mkdir()
    (directory / "logins.csv").write_text("\n".join(lines) + "\n")
    query = [[f"user_{i}", f"{_subnet(i)}.250"] for i in range(10)]
    query += [[f"user_{i}", f"{_subnet(i + 20)}.250"] for i in range(10)]
    return len(lines), query


@pytest.fixture(scope="module")
def data(tmp_path_factory, cancer):
    root = tmp_path_factory.mktemp("sdk-builtins-data")
    rng = np.random.default_rng(7)
    iris_X, iris_y = load_iris(return_X_y=True)
    knn_Xtr, knn_Xte, knn_ytr, knn_yte = train_test_split(
        iris_X.astype(np.float32), iris_y.astype(np.float32), test_size=0.3, random_state=0)
    rcf_X, rcf_Xq, rcf_yq = _rcf_data(rng)
    fm_X, fm_y = _fm_data(rng)
    lda_X, lda_topics = _lda_data(rng)
    ip_rows, ip_query = _ipinsights_data(rng, root / "ipinsights")
    arrays = dict(
        kmeans_X=iris_X.astype(np.float32),
        pca_X=load_digits().data.astype(np.float32),
        knn_Xtr=knn_Xtr, knn_ytr=knn_ytr, knn_Xte=knn_Xte, knn_yte=knn_yte,
        rcf_X=rcf_X, rcf_Xq=rcf_Xq, rcf_yq=rcf_yq,
        fm_X=fm_X, fm_y=fm_y, lda_X=lda_X, lda_topics=lda_topics,
        ll_Xtr=cancer.X_train.astype(np.float32), ll_ytr=cancer.y_train.astype(np.float32),
        ll_Xte=cancer.X_valid.astype(np.float32), ll_yte=cancer.y_valid.astype(np.float32))
    np.savez(root / "data.npz", **arrays)
    return {"path": root / "data.npz", "ipinsights_dir": root / "ipinsights",
            "ipinsights_rows": ip_rows, "ipinsights_query": ip_query, **arrays}


@pytest.fixture(scope="module")
def builtins(tmp_path_factory, sdk_v2_python, data):
    """One server; one SDK process running every scenario (see the script for why at once)."""
    tmp = tmp_path_factory.mktemp("sdk-v2-builtins")
    server = start_sdk_server(tmp)
    env = sdk_env(server, write_sdk_config(tmp / "sagemaker-config.yaml"))
    run = SdkRun("v2 first-party algorithm estimators", sdk_v2_python, "v2_builtins.py",
                 {"data": str(data["path"]), "role": ROLE, "prefix": PREFIX,
                  "algorithms": list(ALGORITHMS),
                  "ipinsights_train": str(data["ipinsights_dir"]),
                  "ipinsights_rows": data["ipinsights_rows"],
                  "ipinsights_query": data["ipinsights_query"]},
                 env, tmp / "builtins")
    outcome: dict = {}
    try:
        run.start()
        yield server, run, outcome
    finally:
        run.stop()
        server.stop()


def scenario(builtins, name: str) -> dict:
    """The script's result for one algorithm, after the checks every scenario shares."""
    server, run, outcome = builtins
    if "result" not in outcome:
        outcome["result"] = run.result().result
    r = outcome["result"]
    assert r["sdk"] == "2.257.7" and r["region"] == "us-east-1"
    got = r["results"][name]
    assert "error" not in got, f"{name}: the SDK raised\n{got['error']}"
    image, predictor = ALGORITHMS[name]
    assert got["status"] == "Completed", got.get("failure_reason")
    assert got["image"] == image == got["training_image"]
    assert got["job_name"] == f"{PREFIX}-{name}"
    assert got["model_data"] == (f"s3://{CONFIG_BUCKET}/{got['job_name']}/output/model.tar.gz")
    assert got["predictor"] == predictor
    assert got["endpoint_status"] == "InService"
    assert got["status_after_delete"] == "Deleting" or "Could not find endpoint" in \
        got["status_after_delete"]
    return got


def assert_record_set_channel(server, got: dict) -> None:
    """record_set wrote one RecordIO shard and a manifest under the default bucket; fit sent
    the manifest as the train channel's ManifestFile, with no ContentType (as on AWS)."""
    manifest = got["records"]
    assert manifest.startswith(f"s3://{CONFIG_BUCKET}/sagemaker-record-sets/")
    assert manifest.endswith("/.amazon.manifest")
    assert got["channels"] == [{"name": "train", "s3_data_type": "ManifestFile",
                                "s3_uri": manifest, "content_type": None}]
    prefix = manifest[len(f"s3://{CONFIG_BUCKET}/"):-len(".amazon.manifest")]
    keys = [o["Key"] for o in server.client("s3").list_objects_v2(
        Bucket=CONFIG_BUCKET, Prefix=prefix)["Contents"]]
    assert sorted(k[len(prefix):] for k in keys) == [".amazon.manifest", "matrix_0.pbr"]


def recordio_answers(got: dict, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """What the SDK's RecordDeserializer returned: for each label name, the rows' values."""
    assert got["content_type"] == RECORDIO and got["accept"] in (RECORDIO, [RECORDIO])
    for record in got["predictions"]:
        assert set(record) == set(names), record
        assert all(v["kind"] == "float32_tensor" for v in record.values()), record
    return {n: np.array([rec[n]["values"] for rec in got["predictions"]]) for n in names}


def job_model(server, got: dict, tmp_path: Path, load):
    """The model the job wrote, read by kamado's library."""
    members = tar_members(server, got["model_data"])
    for name, body in members.items():
        (tmp_path / name).write_bytes(body)
    return load(tmp_path)


# --- the algorithms ----------------------------------------------------------------------------
def test_kmeans_predictor_answers_with_the_jobs_centroids(builtins, data, tmp_path):
    from sklearn.cluster import KMeans as SkKMeans

    from kamado.algorithms import kmeans

    server = builtins[0]
    got = scenario(builtins, "kmeans")
    assert_record_set_channel(server, got)
    # what KMeans sends (force_dense always; no mini_batch_size unless fit is given one) was
    # taken as sent
    hp = got["hyperparameters"]
    assert {k: hp[k] for k in ("k", "feature_dim", "force_dense")} == \
        {"k": "3", "feature_dim": "4", "force_dense": "True"}
    assert "mini_batch_size" not in hp
    model = job_model(server, got, tmp_path, kmeans.load_model)
    X = data["kmeans_X"]
    served = recordio_answers(got, ("closest_cluster", "distance_to_cluster"))
    closest, distance = model.predict_arrays(X[:10])
    np.testing.assert_array_equal(served["closest_cluster"][:, 0], closest)
    np.testing.assert_allclose(served["distance_to_cluster"][:, 0], distance, rtol=1e-5)
    # the train:msd metric the SDK read from DescribeTrainingJob is the model's
    assert got["final_metrics"]["train:msd"] == pytest.approx(model.score(X, "msd"), rel=1e-4)
    # the centroids are a k-means solution: inertia within 3 % of scikit-learn's best of 10
    reference = SkKMeans(n_clusters=3, n_init=10, random_state=0).fit(X.astype(np.float64))
    assert model.score(X, "ssd") <= 1.03 * reference.inertia_


def test_pca_predictor_projects_as_the_model_and_scikit_learn(builtins, data, tmp_path):
    from sklearn.decomposition import PCA as SkPCA

    from kamado.algorithms import pca

    server = builtins[0]
    got = scenario(builtins, "pca")
    assert_record_set_channel(server, got)
    hp = got["hyperparameters"]
    # PCA.fit's default mini_batch_size: min(500, records)
    assert {k: hp[k] for k in ("num_components", "feature_dim", "mini_batch_size")} == \
        {"num_components": "5", "feature_dim": "64", "mini_batch_size": "500"}
    model = job_model(server, got, tmp_path, pca.load_model)
    X = data["pca_X"]
    served = recordio_answers(got, ("projection",))["projection"]
    assert served.shape == (10, 5)
    np.testing.assert_allclose(served, model.project(X[:10]), rtol=1e-5, atol=1e-4)
    # AWS's order: the most significant component last; signs are a convention
    reference = SkPCA(n_components=5, svd_solver="full").fit(X.astype(np.float64))
    np.testing.assert_allclose(np.abs(model.v[:, ::-1].T), np.abs(reference.components_),
                               atol=1e-4)
    np.testing.assert_allclose(np.abs(served[:, ::-1]),
                               np.abs(reference.transform(X[:10].astype(np.float64))),
                               rtol=1e-4, atol=1e-3)


def test_knn_predictor_answers_equal_scikit_learns_classifier(builtins, data, tmp_path):
    from sklearn.neighbors import KNeighborsClassifier

    from kamado.algorithms import knn

    server = builtins[0]
    got = scenario(builtins, "knn")
    assert_record_set_channel(server, got)
    hp = got["hyperparameters"]
    assert {k: hp[k] for k in ("k", "sample_size", "predictor_type", "feature_dim")} == \
        {"k": "5", "sample_size": "105", "predictor_type": "classifier", "feature_dim": "4"}
    model = job_model(server, got, tmp_path, knn.load_model)
    Xtr, ytr, Xte = data["knn_Xtr"], data["knn_ytr"], data["knn_Xte"]
    served = recordio_answers(got, ("predicted_label",))["predicted_label"][:, 0]
    np.testing.assert_array_equal(served, model.predict_labels(Xte))
    reference = KNeighborsClassifier(5).fit(Xtr, ytr)
    # no ties on iris with k=5, so kamado's tie rule and scikit-learn's agree
    np.testing.assert_array_equal(served, reference.predict(Xte))
    _, neighbours = reference.kneighbors(Xte)
    np.testing.assert_array_equal(served, [knn.majority(ytr[row]) for row in neighbours])


def test_random_cut_forest_predictor_scores_as_the_model(builtins, data, tmp_path):
    from kamado.algorithms import random_cut_forest as rcf

    server = builtins[0]
    got = scenario(builtins, "randomcutforest")
    assert_record_set_channel(server, got)
    hp = got["hyperparameters"]
    # RandomCutForest.fit always sends mini_batch_size 1000; the job took it
    assert {k: hp[k] for k in ("num_trees", "num_samples_per_tree", "feature_dim",
                               "mini_batch_size")} == \
        {"num_trees": "50", "num_samples_per_tree": "128", "feature_dim": "4",
         "mini_batch_size": "1000"}
    model = job_model(server, got, tmp_path, rcf.load_model)
    served = recordio_answers(got, ("score",))["score"][:, 0]
    np.testing.assert_allclose(served, model.scores(data["rcf_Xq"]), rtol=1e-5)
    assert roc_auc_score(data["rcf_yq"], served) >= 0.9


def test_factorization_machines_predictor_scores_as_the_model(builtins, data, tmp_path):
    from kamado.algorithms import factorization_machines as fm

    server = builtins[0]
    got = scenario(builtins, "factorization-machines")
    assert_record_set_channel(server, got)
    hp = got["hyperparameters"]
    assert {k: hp[k] for k in ("num_factors", "predictor_type", "feature_dim",
                               "mini_batch_size", "epochs")} == \
        {"num_factors": "4", "predictor_type": "binary_classifier", "feature_dim": "20",
         "mini_batch_size": "50", "epochs": "20"}
    model = job_model(server, got, tmp_path, fm.load_model)
    X, y = data["fm_X"], data["fm_y"]
    served = recordio_answers(got, ("score", "predicted_label"))
    want = model.scores(X[:20])
    np.testing.assert_allclose(served["score"][:, 0], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(served["predicted_label"][:, 0], (want >= 0.5).astype(float))
    # the model learned the labels it was given
    assert np.mean((model.scores(X) >= 0.5) == y) >= 0.8


def test_lda_predictor_mixtures_equal_scikit_learns_lda(builtins, data, tmp_path):
    from sklearn.decomposition import LatentDirichletAllocation

    from kamado.algorithms import lda

    server = builtins[0]
    got = scenario(builtins, "lda")
    assert_record_set_channel(server, got)
    hp = got["hyperparameters"]
    assert {k: hp[k] for k in ("num_topics", "feature_dim", "mini_batch_size")} == \
        {"num_topics": "3", "feature_dim": "30", "mini_batch_size": "50"}
    model = job_model(server, got, tmp_path, lda.load_model)
    X = data["lda_X"]
    served = recordio_answers(got, ("topic_mixture",))["topic_mixture"]
    np.testing.assert_allclose(served, model.topic_mixtures(X[:10]), rtol=1e-5, atol=1e-6)
    # docs/algorithms/lda.md: scikit-learn's variational Bayes with AWS's defaults mapped
    reference = LatentDirichletAllocation(
        n_components=3, doc_topic_prior=1.0 / 3, learning_method="batch", max_iter=1000,
        evaluate_every=10, perp_tol=1e-8, random_state=0).fit(X.astype(np.float64))
    np.testing.assert_allclose(model.lda.components_, reference.components_, rtol=1e-6)
    np.testing.assert_allclose(served, reference.transform(X[:10].astype(np.float64)),
                               rtol=1e-5, atol=1e-6)
    # and the generating topics are found again
    found, truth = model.topics, data["lda_topics"]
    cos = (found / np.linalg.norm(found, axis=1, keepdims=True)) @ \
        (truth / np.linalg.norm(truth, axis=1, keepdims=True)).T
    assert cos.max(axis=0).min() > 0.9


def test_linear_learner_predictor_answers_as_the_model(builtins, data, tmp_path):
    from kamado.algorithms import linear_learner

    server = builtins[0]
    got = scenario(builtins, "linear-learner")
    assert_record_set_channel(server, got)
    hp = got["hyperparameters"]
    assert {k: hp[k] for k in ("predictor_type", "feature_dim", "mini_batch_size")} == \
        {"predictor_type": "binary_classifier", "feature_dim": "30",
         "mini_batch_size": str(min(1000, len(data["ll_Xtr"])))}
    model = job_model(server, got, tmp_path, linear_learner.load_model)
    X, y = data["ll_Xte"][:20], data["ll_yte"][:20]
    served = recordio_answers(got, ("score", "predicted_label"))
    scores, labels = model.predict_arrays(X)
    np.testing.assert_allclose(served["score"][:, 0], scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(served["predicted_label"][:, 0], labels)
    assert np.mean(labels == y) >= 0.85


def test_ipinsights_predictor_csv_in_json_out_as_the_model(builtins, data, tmp_path):
    from kamado.algorithms import ip_insights

    server = builtins[0]
    got = scenario(builtins, "ipinsights")
    # CSV that Session.upload_data put in S3, an S3Prefix channel without a ContentType
    assert got["records"].startswith(f"s3://{CONFIG_BUCKET}/ipinsights/train")
    assert got["channels"] == [{"name": "train", "s3_data_type": "S3Prefix",
                                "s3_uri": got["records"], "content_type": None}]
    hp = got["hyperparameters"]
    # the SDK sends feature_dim from the RecordSet; kamado accepts and ignores it
    assert {k: hp[k] for k in ("num_entity_vectors", "vector_dim", "feature_dim",
                               "mini_batch_size")} == \
        {"num_entity_vectors": "80", "vector_dim": "16", "feature_dim": "2",
         "mini_batch_size": "100"}
    assert got["content_type"] == "text/csv" and got["accept"] in ("application/json",
                                                                   ["application/json"])
    model = job_model(server, got, tmp_path, ip_insights.load_model)
    query = data["ipinsights_query"]
    served = np.array([p["dot_product"] for p in got["predictions"]["predictions"]])
    want = model.dot_products([e for e, _ in query],
                              ip_insights.parse_ipv4([ip for _, ip in query]))
    np.testing.assert_allclose(served, want, rtol=1e-5, atol=1e-6)
    # a user's own subnet (an address never seen) scores above another user's
    own, other = served[:10], served[10:]
    assert own.mean() > other.mean()
    assert np.sum(own > other) >= 8
