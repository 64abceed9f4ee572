"""``python -m kamado.images.kmeans train``: channels train (required) and test; writes
``model/model_algo-1`` and AWS's ``#quality_metric`` lines (``train msd``, ``test msd``,
``test ssd``).

``python -m kamado.images.kmeans serve``: the model server for that model."""

import sys

from kamado.images import program

if __name__ == "__main__":
    sys.exit(program.algorithm_main(train="kamado.algorithms.kmeans.job:train",
                                    inference="kamado.algorithms.kmeans.inference"))
