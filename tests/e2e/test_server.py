"""The `kamado` command and the server process: profile, config, ops, restarts, shutdown."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import boto3
import pytest
from botocore.config import Config as BotoConfig

from kamado.credentials import _read_ini_section
from tests.conftest import PG_URL, KamadoServer


def kamado(*args, env=None) -> str:
    out = subprocess.run([sys.executable, "-m", "kamado.cli.main", *args], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_profile_is_written_beside_other_profiles(fresh_server):
    aws = fresh_server.aws_dir
    aws.mkdir(parents=True)
    (aws / "credentials").write_text("# mine\n[default]\naws_access_key_id = AKIAMINE\n"
                                     "aws_secret_access_key = keepme\n")
    (aws / "config").write_text("[default]\nregion = ap-northeast-1\n")
    fresh_server.start()
    creds = (aws / "credentials").read_text()
    assert creds.startswith("# mine\n[default]\naws_access_key_id = AKIAMINE\naws_secret_access_key = keepme\n")
    assert "[kamado]" in creds
    assert "region = ap-northeast-1" in (aws / "config").read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    os.environ.update(AWS_SHARED_CREDENTIALS_FILE=str(aws / "credentials"), AWS_CONFIG_FILE=str(aws / "config"))
    try:
        session = boto3.Session(profile_name="kamado")
        sts = session.client("sts", config=BotoConfig(retries={"max_attempts": 1}))  # endpoint_url from the profile
        assert sts.get_caller_identity()["Account"] == "000000000000"
    finally:
        os.environ.clear()
        os.environ.update(env)


def test_sigterm_shuts_down_cleanly(fresh_server):
    fresh_server.start()
    assert fresh_server.stop(signal.SIGTERM) == 0
    assert "kamado server stopped" in fresh_server.log_path.read_text()


def test_sigint_shuts_down_cleanly(fresh_server):
    fresh_server.start()
    assert fresh_server.stop(signal.SIGINT) == 0


def test_requests_are_logged_one_line_each(server, sm):
    sm.list_experiments()
    # The line is written once the response is out, so it can trail the client a little.
    deadline = time.monotonic() + 10
    while not re.search(r"sagemaker ListExperiments 200 [\d.]+ms", server.log_path.read_text()):
        assert time.monotonic() < deadline, "no log line for ListExperiments"
        time.sleep(0.02)


def _restart_roundtrip(srv: KamadoServer):
    srv.start()
    sm, s3 = srv.client("sagemaker"), srv.client("s3")
    sm.create_experiment(ExperimentName="survives")
    sm.create_trial(TrialName="survives-trial", ExperimentName="survives")
    s3.create_bucket(Bucket="durable")
    s3.put_object(Bucket="durable", Key="model.tar.gz", Body=b"\x1f\x8b" + b"m" * 1000)
    srv.kill()
    srv.start()
    sm, s3 = srv.client("sagemaker"), srv.client("s3")
    assert sm.describe_experiment(ExperimentName="survives")["ExperimentName"] == "survives"
    assert sm.describe_trial(TrialName="survives-trial")["ExperimentName"] == "survives"
    assert s3.get_object(Bucket="durable", Key="model.tar.gz")["Body"].read() == b"\x1f\x8b" + b"m" * 1000


def test_everything_survives_kill_9(fresh_server):
    _restart_roundtrip(fresh_server)


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="KAMADO_TEST_DATABASE_URL not set")
def test_everything_survives_kill_9_on_postgres(tmp_path):
    from tests.pg import fresh_schema_url

    with fresh_schema_url(PG_URL) as url:
        # With every object write fsync'd, as a team would run it.
        srv = KamadoServer(tmp_path / "home", database_url=url,
                           extra_env={"KAMADO_OBJECT_FSYNC": "true"})
        try:
            _restart_roundtrip(srv)
        finally:
            if srv.proc and srv.proc.poll() is None:
                srv.stop()


def test_cli_version_ops_config_credentials(tmp_path):
    env = {**os.environ, "KAMADO_HOME": str(tmp_path / "home"), "KAMADO_ACCOUNT_ID": "123456789012"}
    assert re.match(r"kamado \d+\.\d+\.\d+", kamado("version", env=env))
    ops = kamado("ops", env=env)
    assert re.search(r"sagemaker\s+│\s+json\s+│\s+\d+", ops)
    detail = kamado("ops", "sagemaker", env=env)
    assert "CreateExperiment" in detail and "CreateTrainingJob" in detail and "CreateEndpoint" in detail
    assert "CreateHyperParameterTuningJob" in detail and "CreateCluster" not in detail
    cfg = kamado("config", env=env)
    assert re.search(r"account_id\s+│\s+123456789012\s+│\s+env", cfg)
    creds = kamado("credentials", env=env)
    assert re.search(r"aws_access_key_id\s+AKIA[A-Z2-7]{16}", creds)


def test_keys_and_settings_from_env_and_config_file(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('account_id = "111122223333"\nregion = "eu-west-1"\n')
    akid, secret = "AKIAEXPLICITKEY12345", "explicit/secret/key/for/tests+0123456789"
    srv = KamadoServer(home, region="eu-west-1", extra_env={
        "KAMADO_ACCESS_KEY_ID": akid, "KAMADO_SECRET_ACCESS_KEY": secret,
        "KAMADO_ACCOUNT_ID": "444455556666"})  # the environment beats the file
    srv.start()
    try:
        profile = _read_ini_section(srv.aws_dir / "credentials", "kamado")
        assert (profile["aws_access_key_id"], profile["aws_secret_access_key"]) == (akid, secret)
        assert not (home / "credentials").exists()  # explicit keys are not copied into the home
        sm = boto3.client("sagemaker", endpoint_url=srv.endpoint, region_name="eu-west-1",
                          aws_access_key_id=akid, aws_secret_access_key=secret)
        arn = sm.create_experiment(ExperimentName="configured")["ExperimentArn"]
        assert arn == "arn:aws:sagemaker:eu-west-1:444455556666:experiment/configured"
    finally:
        srv.stop()


def test_a_busy_port_is_reported_and_nothing_starts(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAMADO_", "AWS_"))}
        env.update(KAMADO_HOME=str(tmp_path / "home"), KAMADO_PORT=str(port),
                   KAMADO_WRITE_AWS_PROFILE="false")
        out = subprocess.run([sys.executable, "-m", "kamado.cli.main", "server"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in out.stdout
    assert not (tmp_path / "home" / "kamado.db").exists()  # refused before the store opened
