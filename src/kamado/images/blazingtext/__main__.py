"""``python -m kamado.images.blazingtext train``: ``mode=supervised`` (channels train and
validation; writes ``model/model.bin`` and ``#train_accuracy``/``#validation_accuracy`` lines) or
Word2Vec (channel train; writes ``model/vectors.txt``, ``vectors.bin``, ``model.bin``).

``python -m kamado.images.blazingtext serve``: the model server for either."""

import sys

from kamado.images import program

if __name__ == "__main__":
    sys.exit(program.algorithm_main(train="kamado.algorithms.blazingtext.job:train",
                                    inference="kamado.algorithms.blazingtext.inference"))
