"""The built-in BlazingText (builtin-algorithms.md §3.11) on fastText: text classification
(``mode=supervised``) and Word2Vec (``cbow``, ``skipgram``, ``batch_skipgram``). ``model`` has
``fit_supervised``/``fit_word2vec``, ``predict``/``embed`` and the artifacts for library use;
``job`` is the training job, ``inference`` the model server's handlers."""

from kamado.algorithms.blazingtext.hyperparameters import validate
from kamado.algorithms.blazingtext.model import (
    embed, fasttext_args, fit_supervised, fit_word2vec, load, predict, word_vectors,
    write_vectors)

__all__ = ["embed", "fasttext_args", "fit_supervised", "fit_word2vec", "load", "predict",
           "validate", "word_vectors", "write_vectors"]
