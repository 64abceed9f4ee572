"""``python -m kamado.images.lda train``: channels train (required) and test; writes
``model/model_algo-1`` and AWS's ``test pwll`` ``#quality_metric`` line.

``python -m kamado.images.lda serve``: the model server for that model."""

import sys

from kamado.images import program

if __name__ == "__main__":
    sys.exit(program.algorithm_main(train="kamado.algorithms.lda.job:train",
                                    inference="kamado.algorithms.lda.inference"))
