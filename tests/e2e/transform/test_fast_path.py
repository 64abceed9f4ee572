"""Batch transform's fast path (kamado's built-in XGBoost server reading kamado's own objects
from their files) against the ordinary way (every mini-batch through ``/invocations``, which
``KAMADO_BATCH_FAST_PATH=false`` in the job's Environment keeps to): the same ``.out`` objects,
byte for byte, whichever way each object goes, and the same failures."""

from __future__ import annotations

import numpy as np
import xgboost as xgb

from tests.e2e.hosting.conftest import csv_rows
from tests.e2e.transform.conftest import BUCKET, keys_under, read, run_job

ORDINARY = {"KAMADO_BATCH_FAST_PATH": "false"}
FAST = "(read from its file by the model server)"


def objects(X: np.ndarray) -> dict[str, bytes]:
    """Objects each way: what the fast path reads, and what it leaves to the ordinary way."""
    rng = np.random.default_rng(5)
    rows = np.tile(X, (12, 1)) * rng.uniform(0.9, 1.1, (len(X) * 12, X.shape[1]))
    rows[rng.random(rows.shape) < 0.02] = np.nan  # missing values: empty fields
    lines = csv_rows(rows).replace(b"nan", b"").splitlines()  # ~2.5 MB, 6828 rows
    body = b"\n".join(lines)
    return {
        "plain.csv": body,  # no newline at the end either
        "crlf.csv": b"\r\n".join(lines[:3000]) + b"\r\n",
        "blank-lines.csv": b"\n".join(lines[:2000]) + b"\n\n\n" + b"\n".join(lines[2000:4000]),
        "quoted.csv": b'"' + lines[0].replace(b",", b'",', 1) + b"\n" + b"\n".join(lines[1:3000]),
        "na.csv": b"NA" + lines[0][lines[0].index(b","):] + b"\n" + b"\n".join(lines[1:3000]),
        "small.csv": b"\n".join(lines[:100]),
    }


def data_log(host, job: str) -> list[str]:
    events = host.client("logs").filter_log_events(
        logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix=f"{job}/")["events"]
    return [e["message"] for e in events if "-> s3://" in e["message"]]


def both_ways(host, sm, s3, name: str, source: str, **request) -> tuple[dict, dict]:
    """The .out objects of a job run the fast way and of the same job run the ordinary way."""
    outs = []
    for suffix, env in (("fast", {}), ("ordinary", ORDINARY)):
        job = run_job(sm, f"{name}-{suffix}", source, Environment=env, **request)
        assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
        prefix = f"transform-out/{name}-{suffix}/"
        outs.append({k[len(prefix):]: read(s3, k) for k in keys_under(s3, prefix)})
    return outs[0], outs[1]


def test_every_object_is_the_same_whichever_way_it_goes(host, sm, s3, model, booster,
                                                         cancer_xgboost):
    made = objects(cancer_xgboost.X)
    for key, body in made.items():
        s3.put_object(Bucket=BUCKET, Key=f"in/fast/{key}", Body=body)
    fast, ordinary = both_ways(host, sm, s3, "same", f"s3://{BUCKET}/in/fast/",
                               BatchStrategy="MultiRecord", MaxPayloadInMB=1,
                               MaxConcurrentTransforms=2, output={"AssembleWith": "Line"})
    assert sorted(fast) == sorted(ordinary) == sorted(f"{k}.out" for k in made)
    for key in made:
        assert fast[f"{key}.out"] == ordinary[f"{key}.out"], key
    # and it is what XGBoost predicts, record for record
    rows = np.genfromtxt(made["plain.csv"].decode().splitlines(), delimiter=",")
    served = np.array(fast["plain.csv.out"].split(), dtype=np.float64)
    np.testing.assert_allclose(served, booster.predict(xgb.DMatrix(rows)), rtol=0, atol=1e-6)
    # the fast path did read the objects it can, and left the others to /invocations
    went = {line.split(" -> ")[0].rsplit("/", 1)[1]: line for line in data_log(host, "same-fast")}
    assert {k for k, line in went.items() if FAST in line} == {"plain.csv", "crlf.csv"}
    assert "6828 records" in went["plain.csv"]
    assert not [line for line in data_log(host, "same-ordinary") if FAST in line]


def test_no_payload_limit_and_answers_joined_as_they_come(host, sm, s3, model, cancer_xgboost):
    # MaxPayloadInMB=0: mini-batches of 8 MB either way (here one, which the server answers in
    # two parts); AssembleWith None and an explicit Accept: the answers joined as they come
    s3.put_object(Bucket=BUCKET, Key="in/nolimit/rows.csv",
                  Body=objects(cancer_xgboost.X)["plain.csv"])
    fast, ordinary = both_ways(host, sm, s3, "nolimit", f"s3://{BUCKET}/in/nolimit/",
                               BatchStrategy="MultiRecord", MaxPayloadInMB=0,
                               output={"Accept": "text/csv"})
    assert fast == ordinary and fast["rows.csv.out"].count(b"\n") == 6828
    assert FAST in data_log(host, "nolimit-fast")[0]


def test_a_bad_record_fails_the_object_as_the_ordinary_way_says(host, sm, s3, model,
                                                                cancer_xgboost):
    lines = objects(cancer_xgboost.X)["plain.csv"].split(b"\n")
    lines[3200] = b"0.5,abc," + lines[3200].split(b",", 2)[2]  # in the second mini-batch
    s3.put_object(Bucket=BUCKET, Key="in/fastbad/a-good.csv",
                  Body=b"\n".join(objects(cancer_xgboost.X)["plain.csv"].split(b"\n")[:3000]))
    s3.put_object(Bucket=BUCKET, Key="in/fastbad/b-bad.csv", Body=b"\n".join(lines))
    reasons = []
    for suffix, env in (("fast", {}), ("ordinary", ORDINARY)):
        job = run_job(sm, f"fastbad-{suffix}", f"s3://{BUCKET}/in/fastbad/",
                      BatchStrategy="MultiRecord", MaxPayloadInMB=1, Environment=env)
        assert job["TransformJobStatus"] == "Failed"
        reason = job["FailureReason"]
        assert (f"s3://{BUCKET}/in/fastbad/b-bad.csv: line 3201: the model server answered 415"
                in reason), reason
        # the bad object leaves nothing; the good one is written
        assert keys_under(s3, f"transform-out/fastbad-{suffix}/") == [
            f"transform-out/fastbad-{suffix}/a-good.csv.out"]
        reasons.append(reason.replace(f"fastbad-{suffix}/", "fastbad/").split(" See log")[0])
    assert reasons[0] == reasons[1]
