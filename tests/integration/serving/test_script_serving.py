"""Framework script mode: a user's ``inference.py`` packed in ``model/code`` (as the SDK's
repack puts it) or found through ``SAGEMAKER_SUBMIT_DIRECTORY``, served by the scikit-learn
and XGBoost images; and the failures a user must be told about."""

from __future__ import annotations

import json
import pickle
import textwrap

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from tests.integration.serving.conftest import Container, csv_rows

SCRIPT = textwrap.dedent('''
    import os
    import pickle

    import numpy as np


    def model_fn(model_dir):
        with open(os.path.join(model_dir, "model.pkl"), "rb") as fh:
            return pickle.load(fh)


    def predict_fn(data, model, context):
        if np.any(data == -999):
            raise ValueError("the sentinel -999 is not a feature value")
        context.set_response_header(0, "X-Amzn-SageMaker-Custom-Attributes",
                                    "seen=" + (context.custom_attributes or ""))
        return model.predict_proba(data)
''')


@pytest.fixture(scope="module")
def sklearn_model(tmp_path_factory, features):
    base = tmp_path_factory.mktemp("sk") / "job"
    code = base / "model" / "code"
    code.mkdir(parents=True)
    y = (features[:, 0] > 0).astype(int)
    model = LogisticRegression().fit(features, y)
    (base / "model" / "model.pkl").write_bytes(pickle.dumps(model))
    (code / "inference.py").write_text(SCRIPT)
    return base, model


@pytest.fixture(scope="module")
def sklearn_server(sklearn_model):
    base, model = sklearn_model
    container = Container("sklearn", base, {"SAGEMAKER_PROGRAM": "inference.py"}).start()
    yield container, model
    container.stop()


def test_user_model_fn_and_predict_fn_with_default_input_and_output(sklearn_server, features):
    container, model = sklearn_server
    X = features[:5]
    expected = model.predict_proba(X.astype(np.float32))
    for content_type, body in (("text/csv", csv_rows(X)),
                               ("application/json", json.dumps(X.tolist()))):
        status, headers, out = container.invoke(body, content_type, "application/json",
                                                **{"X-Amzn-SageMaker-Custom-Attributes": "a=1"})
        assert status == 200, out
        assert headers["content-type"] == "application/json"
        np.testing.assert_allclose(json.loads(out), expected, atol=1e-6)
        assert headers["x-amzn-sagemaker-custom-attributes"] == "seen=a=1"
    status, headers, out = container.invoke(csv_rows(X), "text/csv", "text/csv")
    assert status == 200 and headers["content-type"] == "text/csv"
    np.testing.assert_allclose(np.loadtxt(out.decode().splitlines(), delimiter=","), expected,
                               atol=1e-6)


def test_script_errors_over_http(sklearn_server, features):
    container, _ = sklearn_server
    row = features[0].copy()
    row[0] = -999
    status, _, body = container.invoke(csv_rows(row[None, :]), "text/csv")
    assert status == 500 and b"ValueError: the sentinel -999 is not a feature value" in body
    status, _, body = container.invoke("1,two,3", "text/csv")
    assert status == 400 and b"not CSV of numbers" in body
    status, _, body = container.invoke(b"\x00\x01", "application/octet-stream")
    assert status == 415 and b"application/octet-stream" in body


def test_submit_directory_and_xgboost_script_mode(tmp_path, sklearn_model, features):
    """The script outside the model (SAGEMAKER_SUBMIT_DIRECTORY), in the XGBoost image: its
    own model_fn, the image's default handlers for the rest."""
    base = tmp_path / "job"
    (base / "model").mkdir(parents=True)
    (base / "model" / "model.pkl").write_bytes((sklearn_model[0] / "model" / "model.pkl")
                                               .read_bytes())
    src = tmp_path / "src"
    src.mkdir()
    (src / "serve_me.py").write_text(textwrap.dedent('''
        import os, pickle

        def model_fn(model_dir):
            with open(os.path.join(model_dir, "model.pkl"), "rb") as fh:
                return pickle.load(fh)

        def predict_fn(data, model):
            # the image's default input_fn gives a DMatrix; this model wants an array
            import numpy as np
            return model.predict(np.asarray(data.get_data().todense()))
    '''))
    container = Container("xgboost", base, {"SAGEMAKER_PROGRAM": "serve_me.py",
                                            "SAGEMAKER_SUBMIT_DIRECTORY": str(src)}).start()
    try:
        status, headers, body = container.invoke(csv_rows(features[:3]), "text/csv")
        assert status == 200 and headers["content-type"] == "text/csv"
        expected = sklearn_model[1].predict(features[:3])
        assert [float(v) for v in body.decode().split(",")] == expected.tolist()
    finally:
        container.stop()


@pytest.mark.parametrize("image,setup,message", [
    ("xgboost", lambda base: (base / "model").mkdir(parents=True), b"No xgboost-model file"),
    ("linear_learner", lambda base: (base / "model").mkdir(parents=True), b"No model_algo-1"),
    ("sklearn", lambda base: (base / "model").mkdir(parents=True),
     b"The inference script inference.py (SAGEMAKER_PROGRAM) is not in"),
    ("sklearn", lambda base: (base / "model" / "code").mkdir(parents=True) or (
        base / "model" / "code" / "inference.py").write_text("import no_such_module\n"),
     b"failed to import: ModuleNotFoundError"),
    ("sklearn", lambda base: (base / "model" / "code").mkdir(parents=True) or (
        base / "model" / "code" / "inference.py").write_text("def predict_fn(d, m):\n  pass\n"),
     b"no model_fn"),
])
def test_a_model_that_cannot_load_exits_non_zero_with_the_reason(tmp_path, image, setup, message):
    base = tmp_path / "job"
    setup(base)
    container = Container(image, base)
    proc = container.spawn()
    assert proc.wait(60) == 1
    container._log.close()
    output = container.output().encode()
    assert b"kamado model server: the model cannot be loaded" in output and message in output


def test_a_busy_port_exits_non_zero(tmp_path, sklearn_model):
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        container = Container("sklearn", sklearn_model[0])
        container.port = holder.getsockname()[1]
        container.env["SAGEMAKER_BIND_TO_PORT"] = str(container.port)
        assert container.spawn().wait(60) == 1
        container._log.close()
        assert "cannot listen on 127.0.0.1" in container.output()
