"""``train``: CSV channels train/training (+ validation) to ``model/model.pkl``;
``serve``: the model server for that model."""

import sys

from kamado.images import program

if __name__ == "__main__":
    sys.exit(program.algorithm_main(train="kamado.algorithms.lightgbm_tabular.job:train",
                                    inference="kamado.algorithms.lightgbm_tabular.inference"))
