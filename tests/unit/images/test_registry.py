"""Which image a TrainingImage URI names."""

from __future__ import annotations

import sys

import pytest

from kamado.errors import ValidationError
from kamado.images import registry as reg
from kamado.images.registry import ImageRegistry


@pytest.fixture
def images(tmp_path):
    return ImageRegistry(tmp_path)


@pytest.mark.parametrize("uri,name", [
    ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "xgboost"),
    ("141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.0-5", "xgboost"),
    ("811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1", "xgboost"),
    ("382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1", "linear-learner"),
    ("351501993468.dkr.ecr.ap-northeast-1.amazonaws.com/linear-learner:latest", "linear-learner"),
    ("390948362332.dkr.ecr.cn-north-1.amazonaws.com.cn/linear-learner:1", "linear-learner"),
    ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3", "sklearn"),
    ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost@sha256:" + "a" * 64, "xgboost"),
    ("xgboost", "xgboost"), ("kamado/linear-learner:latest", "linear-learner"),
    ("sagemaker-scikit-learn", "sklearn"),
])
def test_documented_uris_and_short_names_resolve(images, uri, name):
    assert images.resolve(uri, "us-east-1").name == name


def test_every_region_of_the_table_resolves_its_own_uris(images):
    for region in reg._ACCOUNTS:
        for image in reg.BUILTINS:
            if image.missing():
                continue
            for uri in image.uris(region):
                assert images.resolve(uri, region).name == image.name, uri


def test_a_builtin_repository_in_another_account_is_not_aws_s_image(images):
    with pytest.raises(ValidationError) as err:
        images.resolve("123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                       "us-east-1")
    assert "kamado images" in err.value.message and "xgboost" in err.value.message


def test_unknown_images_list_what_exists(images):
    with pytest.raises(ValidationError) as err:
        images.resolve("my-private-thing:latest", "us-east-1")
    for name in ("xgboost", "linear-learner", "sklearn", "pytorch"):
        assert name in err.value.message


def test_an_image_whose_libraries_are_missing_says_which_extra_installs_them(images, monkeypatch):
    monkeypatch.setattr(reg, "find_spec", lambda m: None if m == "torch" else object())
    with pytest.raises(ValidationError) as err:
        images.resolve("pytorch", "us-east-1")
    assert "kamado[torch]" in err.value.message


def test_user_images_by_directory_and_entry_point(images, tmp_path):
    d = tmp_path / "algo"
    d.mkdir()
    (d / "train").write_text("#!/bin/sh\necho hi\n")
    (d / "train").chmod(0o755)
    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-algo:2"
    images.register("my-algo", directory=d, uri=uri)
    assert images.resolve("my-algo", "us-east-1").train == (str(d / "train"),)
    assert images.resolve(uri, "eu-west-1").name == "my-algo"
    images.register("fn-algo", entry_point="mypkg.train:main")
    fn = images.resolve("fn-algo", "us-east-1")
    assert fn.train == (sys.executable, "-m", "kamado.images.entrypoint", "mypkg.train:main")
    assert [i.name for i in images.user_images()] == ["fn-algo", "my-algo"]
    assert images.unregister("fn-algo") and not images.unregister("fn-algo")


@pytest.mark.parametrize("kwargs,message", [
    ({"directory": "MISSING"}, "neither"),
    ({"entry_point": "not an entry point"}, "package.module:function"),
    ({}, "exactly one"),
])
def test_bad_registrations_are_refused(images, tmp_path, kwargs, message):
    if kwargs.get("directory") == "MISSING":
        kwargs = {"directory": tmp_path}
    with pytest.raises(ValueError, match=message):
        images.register("x", **kwargs)


def test_builtin_names_cannot_be_taken(images, tmp_path):
    with pytest.raises(ValueError, match="built-in"):
        images.register("xgboost", entry_point="a.b:c")


def test_a_non_executable_train_program_is_refused(images, tmp_path):
    (tmp_path / "train").write_text("echo")
    with pytest.raises(ValueError, match="not executable"):
        images.register("lazy", directory=tmp_path)
