"""The ``train`` program of a test image whose behaviour the job's hyperparameters choose.

It records what it saw of the /opt/ml contract in ``model/seen.json`` so tests can check the
contract from the uploaded model.tar.gz.
"""

import json
import os
import signal
import sys
import time
from pathlib import Path

base = Path(os.environ["SAGEMAKER_BASE_DIR"])
config = base / "input" / "config"
hp = json.loads((config / "hyperparameters.json").read_text())
mode = hp.get("mode", "ok")
model = base / "model"


def seen() -> dict:
    data = base / "input" / "data"
    files = {}
    for ch in sorted(p for p in data.iterdir()):
        if ch.is_dir():
            files[ch.name] = {str(f.relative_to(ch)): f.read_text(errors="replace")
                              for f in sorted(ch.rglob("*")) if f.is_file()}
        else:
            files[ch.name] = "fifo"
    return {"argv": sys.argv[1:], "cwd": os.getcwd(),
            "env": {k: v for k, v in os.environ.items()
                    if k.startswith(("TRAINING_", "SM_", "AWS_REGION", "MY_", "SAGEMAKER_"))},
            "config": {f.name: json.loads(f.read_text()) for f in config.iterdir()},
            "files": files}


def on_term(signum, frame):
    (model / "saved-on-stop.txt").write_text("bye")
    print("got SIGTERM, saved the model", flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, on_term)
if mode == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

# Tuning tests: "counter" names a file every job of a search appends to, so a job knows it is
# the n-th; jobs after "good_jobs" report losses "bad_scale" times worse (and worse each time),
# and the n-th job fails with "message" when n is in "fail_counts".
scale = float(hp.get("scale", "1"))
if "counter" in hp:
    import fcntl

    with open(hp["counter"], "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write("job\n")
        fh.flush()
        fh.seek(0)
        count = len(fh.read().split())
    good = int(hp.get("good_jobs", "1000000"))
    if count > good:
        scale *= float(hp.get("bad_scale", "10")) * (count - good)
    if str(count) in hp.get("fail_counts", "").split(","):
        (base / "output" / "failure").write_text(hp.get("message", "failed on purpose"))
        sys.exit(1)
round_seconds = float(hp.get("round_seconds", "0"))
for i in range(int(hp.get("rounds", "3"))):
    print(f"[{i}]\ttrain-loss:{scale / (i + 1):.4f}\tvalidation-loss:{2.0 * scale / (i + 1):.4f}",
          flush=True)
    if round_seconds:
        time.sleep(round_seconds)  # one round's work
(model / "seen.json").write_text(json.dumps(seen()))
(base / "output" / "data" / "extra.txt").write_text("output data")

if mode == "fail":
    (base / "output" / "failure").write_text(hp.get("message", "the probe failed on purpose"))
    sys.exit(1)
if mode == "exit":
    print("something went wrong: details here", file=sys.stderr, flush=True)
    sys.exit(int(hp.get("code", "3")))
if mode == "pipe":
    got = []
    for epoch in range(2):
        with open(base / "input" / "data" / f"train_{epoch}", "rb") as fh:
            got.append(fh.read().hex())
    (model / "pipe.json").write_text(json.dumps(got))
if mode == "checkpoint":
    ckpt = Path(json.loads((config / "checkpointconfig.json").read_text())["LocalPath"])
    found = sorted(p.name for p in ckpt.iterdir()) if ckpt.exists() else []
    (model / "restored.json").write_text(json.dumps(found))
    ckpt.mkdir(parents=True, exist_ok=True)
    (ckpt / "step-2.ckpt").write_text("two")
    if (ckpt / "old.ckpt").exists():
        (ckpt / "old.ckpt").unlink()
if mode == "concurrency":
    log = Path(hp["log"])
    with open(log, "a") as fh:
        fh.write(f"start {time.time()}\n")
    time.sleep(float(hp.get("seconds", "0.3")))  # the job's work, not synchronisation
    with open(log, "a") as fh:
        fh.write(f"end {time.time()}\n")
if mode in ("block", "ignore-term"):
    marker = Path(hp["marker"])
    marker.write_text(str(os.getpid()))
    release = Path(hp.get("release", "/nonexistent/never"))
    while not release.exists():
        time.sleep(0.05)  # waiting for the test to release it (or for a signal)
print("probe done", flush=True)
