"""``python -m kamado.images.linear_learner train``: channels train (required), validation and
test; writes ``model/model_algo-1`` and AWS's ``#quality_metric`` log lines.

``python -m kamado.images.linear_learner serve``: the model server for that model."""

import os
import sys

# Training is many small matrix products: BLAS threads cost more than they give there, and
# badly so when kamado runs several jobs side by side (200k×100 rows: 26 s threaded on a busy
# two-core host, 4 s with one thread). Set before numpy loads; a job's own setting wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from kamado.images import program  # noqa: E402
from kamado.images.environment import TrainingEnvironment  # noqa: E402


def train(env: TrainingEnvironment) -> None:
    from kamado.algorithms.linear_learner.job import train as train_job

    train_job(env)


def serve() -> int:
    from kamado.serving.server import serve as serve_model

    return serve_model("kamado.algorithms.linear_learner.inference", script="none")


if __name__ == "__main__":
    sys.exit(serve() if sys.argv[1:2] == ["serve"] else program.run({"train": train}))
