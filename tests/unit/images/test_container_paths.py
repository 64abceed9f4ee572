"""/opt/ml, the container's fixed path, read as the job directory of a local process."""

from __future__ import annotations

from pathlib import Path

import pytest

from kamado.engine import container
from kamado.images.environment import TrainingEnvironment, in_job_dir, translate

BASE = Path("/var/kamado/jobs/j/algo-1")


@pytest.mark.parametrize("text, want", [
    ("/opt/ml/model", f"{BASE}/model"),
    ("/opt/ml", str(BASE)),
    ("cat /opt/ml/input/config/a.json;cd /opt/ml", f"cat {BASE}/input/config/a.json;cd {BASE}"),
    ('FAILURE = "/opt/ml/output/failure"', f'FAILURE = "{BASE}/output/failure"'),
    ("/opt/mlflow/x /x/opt/ml/y opt/ml ./opt/ml", "/opt/mlflow/x /x/opt/ml/y opt/ml ./opt/ml"),
])
def test_translate_moves_only_opt_ml_paths(text, want):
    assert translate(text, BASE) == want


def test_translate_keeps_backslashes_of_the_base_literal():
    assert translate("/opt/ml/x", Path(r"C:\jobs\a")) == r"C:\jobs\a/x"


@pytest.mark.parametrize("path, want", [
    ("/opt/ml/checkpoints", BASE / "checkpoints"), ("/opt/ml", BASE),
    ("/tmp/ckpt", Path("/tmp/ckpt")), ("/opt/mlx", Path("/opt/mlx"))])
def test_in_job_dir(path, want):
    assert in_job_dir(path, BASE) == want


def test_scripts_of_named_channels_are_translated_and_data_is_not(tmp_path):
    env = TrainingEnvironment(base=tmp_path)
    drivers, data = env.channel_dir("drivers"), env.channel_dir("train")
    for d in (drivers, data):
        (d / "sub").mkdir(parents=True)
        (d / "sub" / "run.sh").write_text("cd /opt/ml/code\n")
        (d / "rows.csv").write_text("/opt/ml,1\n")
    (drivers / "blob.py").write_bytes(b"\xff\xfe/opt/ml")
    words = container.argv({"ContainerEntrypoint": ["bash", "-c",
                                                    "/opt/ml/input/data/drivers/sub/run.sh"]}, env)
    assert words[2] == f"{tmp_path}/input/data/drivers/sub/run.sh"
    container.translate_scripts(words, env)
    assert (drivers / "sub" / "run.sh").read_text() == f"cd {tmp_path}/code\n"
    assert (drivers / "rows.csv").read_text() == "/opt/ml,1\n"         # not a script
    assert (drivers / "blob.py").read_bytes() == b"\xff\xfe/opt/ml"    # not text
    assert (data / "sub" / "run.sh").read_text() == "cd /opt/ml/code\n"  # not named


def test_job_python_comes_first_on_path_with_pip(tmp_path):
    import subprocess

    env = TrainingEnvironment(base=tmp_path)
    variables = {"PATH": "/usr/bin:/bin"}
    container.python_environment(env, variables)
    first = variables["PATH"].split(":")[0]
    assert first == str(tmp_path / ".python" / "bin") and variables["PATH"].endswith(":/usr/bin:/bin")
    out = subprocess.run([f"{first}/pip", "--version"], capture_output=True, text=True,
                         env=variables, check=True).stdout
    assert out.startswith("pip ")
    prefix = subprocess.run([f"{first}/python3", "-c", "import sys, sklearn; print(sys.prefix)"],
                            capture_output=True, text=True, env=variables, check=True).stdout
    assert prefix.strip() == str(tmp_path / ".python")
