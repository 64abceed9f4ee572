"""The built-in Random Cut Forest through boto3: trained on a noisy periodic stream with a few
percent of injected far-off points, its model, test metrics and served scores checked against
the library called directly on the same records; the injected points found (ROC AUC) by the
served scores; every request and response format, a batch transform over the test set, and
AWS's kind of errors."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from botocore.exceptions import ClientError
from sklearn.metrics import roc_auc_score

from kamado.algorithms import random_cut_forest as rcf
from kamado.algorithms import recordio
from kamado.algorithms.random_cut_forest.model import FILE
from tests.e2e.algorithms.conftest import (csv_body, deploy, final_metrics, invoke,
                                           model_members, transform, train, upload)

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/randomcutforest:1"
HP = {"feature_dim": "4", "num_trees": "50", "num_samples_per_tree": "200",
      "eval_metrics": '["accuracy", "precision_recall_fscore"]'}


def stream(rows: int, seed: int, anomalous: float = 0.03):
    """Shingles of a noisy sine (4 consecutive values), ``anomalous`` of them pushed far off."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows + 3) / 12.0
    signal = np.sin(t) + 0.05 * rng.normal(size=len(t))
    X = np.lib.stride_tricks.sliding_window_view(signal, 4).copy()
    y = (rng.random(rows) < anomalous).astype(np.float32)
    far = int(y.sum())
    X[y == 1] += rng.choice([-1.0, 1.0], (far, 4)) * rng.uniform(0.8, 2.0, (far, 4))
    return X.astype(np.float32), y


def recordio_body(X, y=None) -> bytes:
    buf = io.BytesIO()
    recordio.write_records(buf, np.asarray(X, np.float32),
                           None if y is None else np.asarray(y, np.float32))
    return buf.getvalue()


@pytest.fixture(scope="module")
def data():
    Xtr, _ = stream(2400, 0)
    Xte, yte = stream(800, 1)
    direct = rcf.fit(HP, Xtr)   # the library, called directly on the same records
    return dict(Xtr=Xtr, Xte=Xte, yte=yte, direct=direct, scores=direct.scores(Xte))


@pytest.fixture(scope="module")
def trained(sm, s3, data):
    channels = upload(s3, "rcf-sine", {"train": csv_body(data["Xtr"])}, "text/csv;label_size=0")
    channels.update(upload(s3, "rcf-sine", {"test": csv_body(data["Xte"], data["yte"])},
                           "text/csv;label_size=1"))
    job = train(sm, "rcf-sine", IMAGE, channels, HP)
    return job, deploy(sm, "rcf-sine", "randomcutforest", job)


def _model(s3, job):
    folder = Path(tempfile.mkdtemp())
    (folder / FILE).write_bytes(model_members(s3, job)[FILE])
    return rcf.load_model(folder)


def test_model_and_test_metrics_equal_the_library(trained, s3, data):
    job, _ = trained
    model = _model(s3, job)
    for name, array in data["direct"].forest.arrays().items():
        assert np.array_equal(getattr(model.forest, name), array), name
    expected = dict(rcf.evaluate(data["scores"], data["yte"],
                                 ["accuracy", "precision_recall_fscore"]))
    metrics = final_metrics(job)
    for name in ("f1", "accuracy", "precision", "recall"):
        assert metrics[f"test:{name}"] == pytest.approx(expected[name], abs=1e-9), name
    assert metrics["test:f1"] > 0.5   # three sigma catches most of these far-off points


def test_served_scores_in_every_format_equal_the_library(trained, rt, data):
    _, endpoint = trained
    X, scores = data["Xte"], data["scores"].tolist()
    answer = invoke(rt, endpoint, csv_body(X), "text/csv", "application/json")
    served = [s["score"] for s in answer["scores"]]
    assert served == scores
    assert roc_auc_score(data["yte"], served) >= 0.9
    one = invoke(rt, endpoint, csv_body(X[:1]), "text/csv")   # no Accept: JSON
    assert one == {"scores": [{"score": scores[0]}]}
    body = json.dumps({"instances": [{"features": row.tolist()} for row in X[:40]]}).encode()
    lines = invoke(rt, endpoint, body, "application/json", "application/jsonlines")
    assert [json.loads(line)["score"] for line in lines.decode().splitlines()] == scores[:40]
    body = "\n".join(json.dumps({"data": {"features": {"values": row.tolist()}}})
                     for row in X[:40]).encode()
    records = recordio.read_records(io.BytesIO(invoke(
        rt, endpoint, body, "application/jsonlines", "application/x-recordio-protobuf")))
    got = [float(r["label"]["score"]["values"][0]) for r in records]
    assert got == pytest.approx(scores[:40], rel=1e-6)   # float32 in RecordIO
    answer = invoke(rt, endpoint, recordio_body(X[:40]), "application/x-recordio-protobuf",
                    "application/json; verbose=true")
    assert [s["score"] for s in answer["scores"]] == scores[:40]


def test_batch_transform_over_the_test_set(sm, s3, trained, data):
    _, endpoint = trained
    out = transform(sm, s3, "rcf-sine-transform", endpoint, csv_body(data["Xte"]), "text/csv",
                    accept="application/jsonlines")
    served = [json.loads(line)["score"] for line in out.decode().splitlines()]
    assert served == data["scores"].tolist()
    assert roc_auc_score(data["yte"], served) >= 0.9


def test_wrong_requests_are_model_errors(trained, rt):
    _, endpoint = trained
    for body, content_type, words in ((b"1,2,3\n", "text/csv", "expects 4 features"),
                                      (b"1,2,x,4\n", "text/csv", "CSV line 1"),
                                      (b'{"instances": [{"nothing": 1}]}', "application/json",
                                       "features")):
        with pytest.raises(ClientError) as err:
            rt.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType=content_type)
        assert err.value.response["Error"]["Code"] == "ModelError"
        assert err.value.response["OriginalStatusCode"] == 400
        assert words in err.value.response["Error"]["Message"]


def test_recordio_without_content_type_as_the_sdk_sends_it(sm, s3, data):
    X, y = stream(600, 2)
    hp = {"feature_dim": "4", "num_trees": "50", "num_samples_per_tree": "64",
          "mini_batch_size": "1000", "eval_metrics": '["precision_recall_fscore"]'}
    channels = upload(s3, "rcf-recordio", {"train": recordio_body(X, np.zeros(len(X))),
                                           "test": recordio_body(X, y)}, None)
    job = train(sm, "rcf-recordio", "randomcutforest", channels, hp)
    direct = rcf.fit(hp, X)
    assert np.array_equal(_model(s3, job).forest.cut, direct.forest.cut)
    expected = dict(rcf.evaluate(direct.scores(X), y, ["precision_recall_fscore"]))
    metrics = final_metrics(job)
    assert metrics["test:f1"] == pytest.approx(expected["f1"], abs=1e-9)
    assert "test:accuracy" not in metrics


@pytest.mark.parametrize("case, hp, train_body, test_body, content_type, words", [
    ("few-trees", {"num_trees": "10"}, None, None, None, "num_trees: value 10 is not in [50"),
    ("bad-metric", {"eval_metrics": '["auc"]'}, None, None, None, "eval_metrics: 'auc'"),
    ("wrong-dim", {"feature_dim": "5"}, None, None, None, "feature_dim is 5"),
    ("label-column", {}, None, None, "text/csv", "label_size=0"),
    ("not-numbers", {}, b"1,2,3,4\n0,a,b,c\n", None, None, "line 2"),
    ("test-labels", {}, None, b"2,1,2,3,4\n0,1,2,3,4\n", None, "label 2"),
    ("no-feature-dim", {"feature_dim": None}, None, None, None, "feature_dim is required"),
    ("unknown", {"k": "3"}, None, None, None, "k is not a hyperparameter"),
])
def test_bad_jobs_fail_with_client_errors(sm, s3, case, hp, train_body, test_body,
                                          content_type, words):
    X, _ = stream(100, 3)
    hp = {k: v for k, v in {"feature_dim": "4", "num_trees": "50", **hp}.items()
          if v is not None}
    channels = upload(s3, f"rcf-bad-{case}", {"train": train_body or csv_body(X)},
                      content_type or "text/csv;label_size=0")
    if test_body:
        channels.update(upload(s3, f"rcf-bad-{case}", {"test": test_body},
                               "text/csv;label_size=1"))
    job = train(sm, f"rcf-bad-{case}", "randomcutforest", channels, hp, expect="Failed")
    assert job["FailureReason"].startswith("ClientError: ")
    assert words in job["FailureReason"]
