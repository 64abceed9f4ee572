"""One handler vocabulary: a user's functions over a defaults module, the optional context,
transform_fn, and what the server makes of their results and errors."""

from __future__ import annotations

import types

import numpy as np
import pytest

from kamado.serving import defaults
from kamado.serving.app import ModelService
from kamado.serving.context import Context
from kamado.serving.handlers import HandlerError, Handlers
from kamado.serving.settings import ServingSettings


def module(name: str, **functions) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__dict__.update(functions)
    return m


class Doubler:
    def predict(self, X):
        return np.asarray(X) * 2


def service(handlers: Handlers, tmp_path) -> ModelService:
    s = ModelService(handlers, ServingSettings(base=tmp_path))
    s.load()
    return s


def test_user_functions_win_and_defaults_fill_in(tmp_path):
    user = module("inference", model_fn=lambda model_dir: Doubler())
    s = service(Handlers.from_modules(user, defaults), tmp_path)
    status, body, headers = s.invoke(b"[[1, 2]]", {"content-type": "application/json"})
    assert (status, body) == (200, b"[[2, 4]]")
    assert (b"content-type", b"application/json") in headers
    # CSV out when asked, and the body reached input_fn as str (the toolkit's promise)
    seen = []
    user.input_fn = lambda data, ct: seen.append(type(data)) or defaults.input_fn(data, ct)
    s = service(Handlers.from_modules(user, defaults), tmp_path)
    status, body, _ = s.invoke(b"1,2\n3,4", {"content-type": "text/csv", "accept": "text/csv"})
    assert (status, body, seen) == (200, b"2.0,4.0\n6.0,8.0\n", [str])


def test_context_is_passed_only_to_functions_that_take_it(tmp_path):
    def predict_fn(data, model, context):
        context.custom_attributes = "echo=" + (context.custom_attributes or "")
        return model.predict(data)

    user = module("inference", model_fn=lambda d: Doubler(), predict_fn=predict_fn)
    s = service(Handlers.from_modules(user, defaults), tmp_path)
    status, body, headers = s.invoke(b"[1]", {"content-type": "application/json",
                                              "x-amzn-sagemaker-custom-attributes": "a=1"})
    assert status == 200 and (b"x-amzn-sagemaker-custom-attributes", b"echo=a=1") in headers


def test_transform_fn_replaces_the_chain_and_may_name_the_content_type(tmp_path):
    def transform_fn(model, data, content_type, accept):
        return f"{content_type}|{accept}|{data}", "text/plain"

    user = module("inference", model_fn=lambda d: None, transform_fn=transform_fn)
    s = service(Handlers.from_modules(user, defaults), tmp_path)
    status, body, headers = s.invoke(b"hi", {"content-type": "text/csv"})
    assert (status, body) == (200, b"text/csv|application/json|hi")
    assert (b"content-type", b"text/plain") in headers


def test_transform_fn_beside_input_fn_is_refused():
    user = module("inference", transform_fn=lambda m, d, c, a: b"", input_fn=lambda d, c: d)
    with pytest.raises(HandlerError, match="transform_fn and input_fn"):
        Handlers.from_modules(user, defaults)


def test_missing_model_fn_fails_the_load_with_a_clear_message(tmp_path):
    handlers = Handlers.from_modules(module("inference"), defaults)
    with pytest.raises(HandlerError, match="no model_fn"):
        handlers.load(str(tmp_path))


def test_errors_become_statuses(tmp_path):
    def predict_fn(data, model):
        raise RuntimeError("the model broke")

    user = module("inference", model_fn=lambda d: Doubler(), predict_fn=predict_fn)
    s = service(Handlers.from_modules(user, defaults), tmp_path)
    status, body, _ = s.invoke(b"[1]", {"content-type": "application/json"})
    assert status == 500 and body.startswith(b"RuntimeError: the model broke\n")
    assert b"Traceback" in body
    ok = service(Handlers.from_modules(module("i", model_fn=lambda d: Doubler()), defaults),
                 tmp_path)
    assert ok.invoke(b"..", {"content-type": "image/png"})[0] == 415
    assert ok.invoke(b"1,x", {"content-type": "text/csv"})[0] == 400
    assert ok.invoke(b"[1]", {"content-type": "application/json", "accept": "image/png"})[0] == 406


def test_a_response_that_is_not_bytes_is_a_500_naming_the_script(tmp_path):
    user = module("inference", model_fn=lambda d: Doubler(), output_fn=lambda p, a: {"x": 1})
    s = service(Handlers.from_modules(user, defaults), tmp_path)
    status, body, _ = s.invoke(b"[1]", {"content-type": "application/json"})
    assert status == 500 and b"must be bytes or str" in body


def test_context_reads_headers_case_insensitively():
    c = Context({"X-Amzn-SageMaker-Custom-Attributes": "k=v", "Accept": "text/csv"})
    assert c.get_request_header(0, "accept") == "text/csv" and c.custom_attributes == "k=v"
