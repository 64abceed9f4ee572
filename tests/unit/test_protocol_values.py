"""The value generator's own checks: every operation's generated input is valid for botocore's
validator and for kamado's ``validate``; pattern text really matches its pattern.
test_protocols.py builds its round trips from these values."""

from __future__ import annotations

import random
import re

import pytest
from botocore.validate import ParamValidator

from kamado.gateway.models import SERVICES, service_model
from kamado.gateway.validate import validate
from tests.shapegen import _UNIVERSE, ValueGen, _PatternText, hash_seed


def operations():
    for service in SERVICES:
        model = service_model(service)
        for name in model.operation_names:
            yield pytest.param(service, name, id=f"{service}:{name}")


@pytest.mark.parametrize("service,operation", list(operations()))
def test_generated_inputs_are_valid(service, operation):
    op = service_model(service).operation_model(operation)
    gen = ValueGen(hash_seed(service, operation), xml=op.metadata["protocol"] == "rest-xml")
    params = gen.params(op.input_shape)
    report = ParamValidator().validate(params, op.input_shape) if op.input_shape else None
    assert report is None or not report.has_errors(), report.generate_report()
    validate(op.input_shape, params)  # kamado's stricter pass accepts them too


def test_pattern_text_matches_its_pattern():
    rng = random.Random(3)
    maker = _PatternText(rng, _UNIVERSE)
    for pattern in [r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}", r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+",
                    r"(https|s3)://([^/]+)/?(.*)", r"[\S\s]*", r"^(?!aws:)[a-z]+$"]:
        made = [maker.make(pattern, 5) for _ in range(20)]
        good = [m for m in made if m is not None and re.fullmatch(pattern, m)]
        assert len(good) >= 5, (pattern, made)
