"""``python -m kamado.images.knn train``: channels train (required) and test; writes
``model/model_algo-1`` and AWS's ``#test_score`` / ``#quality_metric`` lines.

``python -m kamado.images.knn serve``: the model server for that model."""

import sys

from kamado.images import program

if __name__ == "__main__":
    sys.exit(program.algorithm_main(train="kamado.algorithms.knn.job:train",
                                    inference="kamado.algorithms.knn.inference"))
