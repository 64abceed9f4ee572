"""``python -m kamado.images.pca train``: channels train (required) and test; writes
``model/model_algo-1``.

``python -m kamado.images.pca serve``: the model server for that model."""

import sys

from kamado.images import program

if __name__ == "__main__":
    sys.exit(program.algorithm_main(train="kamado.algorithms.pca.job:train",
                                    inference="kamado.algorithms.pca.inference"))
else:
    # Imported ahead of jobs by the image's fork server (kamado.engine.forkserver): load the
    # trainer's libraries there, once, so no randomized job spends a second importing
    # scikit-learn.
    import importlib

    for _module in ("sklearn.utils.extmath", "kamado.algorithms.pca.job",
                    "kamado.algorithms.pca.inference"):
        importlib.import_module(_module)
