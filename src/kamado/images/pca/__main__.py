"""``python -m kamado.images.pca train``: channels train (required) and test; writes
``model/model_algo-1``.

``python -m kamado.images.pca serve``: the model server for that model."""

import sys

from kamado.images import program

if __name__ == "__main__":
    sys.exit(program.algorithm_main(train="kamado.algorithms.pca.job:train",
                                    inference="kamado.algorithms.pca.inference"))
