"""``python -m kamado.images.random_cut_forest train``: channels train (required) and test;
writes ``model/model_algo-1`` and the test channel's ``#quality_metric`` lines.

``python -m kamado.images.random_cut_forest serve``: the model server for that model."""

import sys

from kamado.images import program

if __name__ == "__main__":
    sys.exit(program.algorithm_main(train="kamado.algorithms.random_cut_forest.job:train",
                                    inference="kamado.algorithms.random_cut_forest.inference"))
