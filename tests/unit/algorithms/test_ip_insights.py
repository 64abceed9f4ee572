"""IP Insights as a library: address parsing and hashing, the encoder's gradients, training
quality, hyperparameters, the artifact, the AUC, the channel reader, MetricDefinitions and the
inference handlers."""

from __future__ import annotations

import io
import ipaddress
import json
import re

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from kamado.algorithms.ip_insights import discriminator_auc, fit, load_model, validate
from kamado.algorithms.ip_insights import inference
from kamado.algorithms.ip_insights.addresses import AddressError, parse_ipv4, prefix_rows
from kamado.algorithms.ip_insights.definitions import metric_definitions
from kamado.algorithms.ip_insights.metrics import auc
from kamado.algorithms.ip_insights.records import read_channel
from kamado.algorithms.ip_insights.trainer import gradients, initial_model
from kamado.algorithms.log import JobLog
from kamado.images.program import ClientError
from kamado.serving.errors import BadRequestError, UnsupportedFormatError

BASE = {"num_entity_vectors": "64", "vector_dim": "8"}


def test_addresses_parse_as_the_standard_library_reads_them():
    texts = ["0.0.0.0", "255.255.255.255", "10.1.2.3"]
    assert parse_ipv4(texts).tolist() == [int(ipaddress.IPv4Address(t)) for t in texts]
    # leading zeros are read as decimal (the standard library refuses them)
    assert parse_ipv4(["192.168.001.010"]).tolist() == [int(ipaddress.IPv4Address("192.168.1.10"))]
    for bad, index in ((["1.2.3.4", "1.2.3"], 1), (["1.2.3.4.5", "6.7.8"], 0),
                       (["256.1.1.1"], 0), (["a.b.c.d"], 0), (["1.2..3"], 0), (["::1"], 0),
                       (["1.2.3.4", " "], 1)):
        with pytest.raises(AddressError) as e:
            parse_ipv4(bad)
        assert e.value.index == index


def test_addresses_of_a_subnet_share_their_prefix_rows():
    rows = prefix_rows(parse_ipv4(["10.1.2.3", "10.1.2.200", "10.1.9.3", "11.1.2.3"]))
    assert (rows[0, :3] == rows[1, :3]).all() and rows[0, 3] != rows[1, 3]
    assert (rows[0, :2] == rows[2, :2]).all() and rows[0, 2] != rows[2, 2]
    assert rows[0, 0] != rows[3, 0]
    assert len(set(rows[:, 0]) & set(rows[:, 1:].ravel())) == 0  # levels never share rows


def test_gradients_match_finite_differences():
    hp = validate({**BASE, "num_ip_encoder_layers": "2"})
    model = initial_model(hp, np.random.default_rng(0))
    for W, b in model.layers:  # larger layers, so their terms matter
        W *= 30
        b += 0.1
    rng = np.random.default_rng(1)
    e_rows = rng.integers(64, size=12)
    ips = rng.integers(0, 1 << 32, 12, dtype=np.uint64).astype(np.uint32)
    labels = (rng.random(12) < 0.5).astype(np.float32)

    def loss():
        p = 1 / (1 + np.exp(-np.einsum("ij,ij->i", model.E[e_rows].astype(np.float64),
                                       model.encode(ips).astype(np.float64))))
        return -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))

    _, grads = gradients(model, e_rows, ips, labels)
    h = 1e-3

    def numeric(array, index):
        old = array[index]
        array[index] = old + h
        up = loss()
        array[index] = old - h
        down = loss()
        array[index] = old
        return (up - down) / (2 * h)

    rows, total = grads["E"]
    assert total[0, 2] == pytest.approx(numeric(model.E, (rows[0], 2)), rel=2e-2, abs=1e-5)
    rows, total = grads["P"]
    assert total[3, 1] == pytest.approx(numeric(model.P, (rows[3], 1)), rel=2e-2, abs=1e-5)
    for i in range(2):
        assert grads[f"W{i}"][1, 2] == pytest.approx(numeric(model.layers[i][0], (1, 2)),
                                                     rel=2e-2, abs=1e-5)
        assert grads[f"b{i}"][3] == pytest.approx(numeric(model.layers[i][1], 3), rel=2e-2,
                                                  abs=1e-5)


def logins(rows, seed, entities=60):
    homes = np.random.default_rng(42)
    subnets = [homes.integers(0, 1 << 24, size=2) for _ in range(entities)]
    rng = np.random.default_rng(seed)
    who = rng.integers(entities, size=rows)
    nets = np.array([rng.choice(subnets[w]) for w in who], np.uint64)
    ips = ((nets << np.uint64(8)) | rng.integers(0, 256, rows).astype(np.uint64))
    return [f"e{w}" for w in who], ips.astype(np.uint32)


@pytest.mark.parametrize("layers", ["0", "1", "2"])
def test_training_separates_own_addresses_from_random_ones(layers):
    hp = validate({**BASE, "num_entity_vectors": "120", "epochs": "5", "learning_rate": "0.02",
                   "mini_batch_size": "200", "num_ip_encoder_layers": layers})
    (entities, ips), (v_entities, v_ips) = logins(3000, 1), logins(600, 2)
    stream = io.StringIO()
    model = fit(entities, ips, hp, validation=(v_entities, v_ips), log=JobLog(stream=stream))
    assert discriminator_auc(model, v_entities, v_ips, hp) >= 0.9
    again = fit(entities, ips, hp)  # a fixed seed: reruns repeat
    np.testing.assert_array_equal(again.E, model.E)
    text = stream.getvalue()
    values = {}
    for d in metric_definitions():
        found = re.findall(d["Regex"], text)
        if found:
            values[d["Name"]] = float(found[-1])
    assert values["validation:discriminator_auc"] == pytest.approx(
        discriminator_auc(model, v_entities, v_ips, hp), abs=1e-9)
    assert values["train:progress"] == 100
    assert set(values) == {d["Name"] for d in metric_definitions()}
    # batch lines every batch_metrics_publish_interval (1000) batches: batch 0 of each epoch
    assert len(re.findall(r"batch=\d+ train binary_classification_accuracy", text)) == 5


def test_batch_metrics_publish_interval():
    entities, ips = logins(1000, 3)
    stream = io.StringIO()
    fit(entities, ips, validate({**BASE, "epochs": "1", "mini_batch_size": "100",
                                 "batch_metrics_publish_interval": "3"}),
        log=JobLog(stream=stream))
    batches = re.findall(r"batch=(\d+) train binary_classification_accuracy",
                         stream.getvalue())
    assert batches == ["0", "3", "6", "9"]


def test_auc_agrees_with_scikit_learn():
    rng = np.random.default_rng(0)
    labels = (rng.random(500) < 0.3).astype(int)
    scores = np.round(rng.normal(size=500) + labels, 1)  # ties too
    assert auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))


def test_hyperparameters():
    hp = validate(BASE)
    assert (hp["epochs"], hp["learning_rate"], hp["mini_batch_size"],
            hp["num_ip_encoder_layers"], hp["random_negative_sampling_rate"],
            hp["shuffled_negative_sampling_rate"], hp["weight_decay"],
            hp["batch_metrics_publish_interval"]) == (10, 0.001, 10000, 1, 1, 1, 1e-5, 1000)
    assert validate({**BASE, "feature_dim": "2"})["feature_dim"] == 2  # the SDK sends it
    for raw, named in (({**BASE, "vector_dim": "3"}, "vector_dim"),
                       ({**BASE, "learning_rate": "20"}, "learning_rate"),
                       ({**BASE, "num_ip_encoder_layers": "101"}, "num_ip_encoder_layers"),
                       ({"vector_dim": "8"}, "num_entity_vectors"),
                       ({**BASE, "k": "2"}, "k is not a hyperparameter of IP Insights")):
        with pytest.raises(ClientError, match=named):
            validate(raw)


def test_artifact_round_trip(tmp_path):
    entities, ips = logins(300, 4)
    model = fit(entities, ips, validate({**BASE, "epochs": "1", "num_ip_encoder_layers": "2"}))
    model.save(tmp_path)
    loaded = load_model(tmp_path)
    assert len(loaded.layers) == 2
    np.testing.assert_array_equal(loaded.dot_products(entities, ips),
                                  model.dot_products(entities, ips))


def test_the_channel_reader_names_file_and_line(tmp_path):
    root = tmp_path / "train"
    root.mkdir()
    (root / "a.csv").write_text("u1,10.0.0.1\n\nu2, 10.0.0.2\n")
    entities, ips = read_channel(root, "train")
    assert entities == ["u1", "u2"] and ips.tolist() == [167772161, 167772162]
    (root / "b.csv").write_text("u1,10.0.0.1\nu3,10.0.0.999\n")
    with pytest.raises(ClientError, match=r"Channel train, file b.csv, line 2: '10.0.0.999'"):
        read_channel(root, "train")
    (root / "b.csv").write_text("entity,ip,extra\n")
    with pytest.raises(ClientError, match="file b.csv, line 1 has 3 fields"):
        read_channel(root, "train")


@pytest.fixture(scope="module")
def model():
    entities, ips = logins(300, 5)
    return fit(entities, ips, validate({**BASE, "epochs": "1"}))


def test_inference_formats(model):
    expected = model.dot_products(["e1", "e2"], parse_ipv4(["10.0.0.1", "10.0.0.2"]))
    bodies = {"text/csv": b"e1, 10.0.0.1\ne2,10.0.0.2\n",
              "application/json": json.dumps({"instances": [
                  {"data": {"features": {"values": ["e1", "10.0.0.1"]}}},
                  {"features": ["e2", "10.0.0.2"]}]}).encode(),
              "application/jsonlines": b'{"features": ["e1", "10.0.0.1"]}\n'
                                       b'{"features": ["e2", "10.0.0.2"]}\n'}
    for content_type, body in bodies.items():
        prediction = inference.predict_fn(inference.input_fn(body, content_type), model)
        out, mime = inference.output_fn(prediction, "application/json")
        assert mime == "application/json"
        assert [p["dot_product"] for p in json.loads(out)["predictions"]] == \
            pytest.approx(expected.tolist(), rel=1e-6)
    out, mime = inference.output_fn(prediction, "application/jsonlines; verbose=True")
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert mime == "application/jsonlines"
    assert set(lines[0]) == {"dot_product", "entity_embedding", "ip_embedding"}
    assert np.dot(lines[1]["entity_embedding"], lines[1]["ip_embedding"]) == \
        pytest.approx(lines[1]["dot_product"], rel=1e-5)


@pytest.mark.parametrize("body, content_type, error, message", [
    (b"e1,10.0.0.1\ne2,10.0.0\n", "text/csv", BadRequestError, "Record 2: '10.0.0'"),
    (b"e1\n", "text/csv", BadRequestError, "Record 1"),
    (b'{"instances": [{"features": ["e1", "1.2.3.4"]}, {"features": ["e2", 5]}]}',
     "application/json", BadRequestError, "Record 2"),
    (b'{"instances": [{"features": ["e1", "1.2.3.400"]}]}', "application/json",
     BadRequestError, "Record 1: '1.2.3.400'"),
    (b"not json", "application/json", BadRequestError, "not valid JSON"),
    (b"e1,1.2.3.4", "application/x-recordio-protobuf", UnsupportedFormatError, "IP Insights"),
])
def test_bad_requests(model, body, content_type, error, message):
    with pytest.raises(error, match=re.escape(message)):
        inference.predict_fn(inference.input_fn(body, content_type), model)
