"""``python -m kamado.images.ip_insights train``: channels train (required) and validation;
writes ``model/model_algo-1`` and AWS's ``#quality_metric`` lines.

``python -m kamado.images.ip_insights serve``: the model server for that model."""

import os
import sys

# Small dense products per mini-batch: BLAS threads cost more than they give there, the more
# so when several jobs share the host. Set before numpy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from kamado.images import program  # noqa: E402

if __name__ == "__main__":
    sys.exit(program.algorithm_main(train="kamado.algorithms.ip_insights.job:train",
                                    inference="kamado.algorithms.ip_insights.inference"))
