"""Inference of the built-in BlazingText, in the handler vocabulary of
:mod:`kamado.serving.handlers` (builtin-algorithms.md §3.11):

- model: ``model.bin`` (a fastText model: supervised, or Word2Vec with or without subwords;
  a model.bin of AWS's text classification is fastText's too), else ``vectors.txt`` (word2vec
  text format) for Word2Vec;
- text classification: ``application/json`` ``{"instances": ["sentence", …],
  "configuration": {"k": 2}}`` → ``[{"label": ["__label__1", …], "prob": [0.98, …]}, …]`` (top k,
  k=1 by default); ``application/jsonlines`` ``{"source": "sentence", "k": 2}`` per line →
  ``{"prob": […], "label": […]}`` per line (AWS's batch transform format);
- Word2Vec: ``application/json`` ``{"instances": ["word", …]}`` → ``[{"vector": […], "word":
  "word"}, …]``, a zero vector for a word the model does not know unless it was trained with
  subwords; ``application/jsonlines`` ``{"source": "word"}`` per line → one such object per
  line (kamado's choice: AWS documents JSON Lines for classification only).

AWS says Content-Type must equal Accept. The answer is therefore in the request's type: an
Accept that does not include it is 406 (no Accept, or ``*/*``, takes the request's type).
Other content types (``text/csv`` …) are 415, bodies that do not parse 400.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from kamado.algorithms.blazingtext.model import (
    MODEL_FILE, VECTORS_TEXT, WordVectors, embed, load, predict, read_vectors_text)
from kamado.serving import content
from kamado.serving.errors import (
    BadRequestError, ModelLoadError, UnsupportedAcceptError, UnsupportedFormatError)

# "*/*": the answer takes the request's content type, so a request without Accept must not
# be given a fixed default here.
DEFAULT_ACCEPT = "*/*"
DEFAULT_CONTENT_TYPE = content.JSON
TEXT_BODIES = False
TYPES = (content.JSON, content.JSONLINES)


@dataclass
class Served:
    supervised: bool
    model: object = None          # the fastText model (supervised)
    vectors: WordVectors | None = None


def model_fn(model_dir) -> Served:
    directory = Path(model_dir)
    if (directory / MODEL_FILE).is_file():
        try:
            model = load(directory / MODEL_FILE)
        except (ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"{MODEL_FILE} is not a fastText model: {exc}") from None
        if model.f.getArgs().model.name == "supervised":
            return Served(True, model=model)
        return Served(False, vectors=WordVectors(model))
    if (directory / VECTORS_TEXT).is_file():
        try:
            words, matrix = read_vectors_text(directory / VECTORS_TEXT)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelLoadError(f"{VECTORS_TEXT} is not in word2vec text format: {exc}") \
                from None
        return Served(False, vectors=WordVectors(words=words, matrix=matrix))
    raise ModelLoadError(f"No {MODEL_FILE} or {VECTORS_TEXT} in {model_dir}: the model.tar.gz "
                         "of a BlazingText training job holds them.")


def _answer_type(content_type: str | None, accept: str | None) -> str:
    mime, _ = content.mime_type(content_type or DEFAULT_CONTENT_TYPE)
    if mime not in TYPES:
        raise UnsupportedFormatError(f"Content type {content_type} is not supported by "
                                     "BlazingText; use application/json or "
                                     "application/jsonlines.")
    if not accept or accept.strip() in ("", "*/*"):
        return mime
    for part in accept.split(","):
        wanted, _ = content.mime_type(part)
        if wanted in (mime, "*/*"):
            return mime
    raise UnsupportedAcceptError(f"Accept {accept} is not supported: BlazingText answers in the "
                                 f"request's content type, so Accept must be {mime} (the "
                                 "Content-Type) or be left out.")


def _k(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequestError(f"{where}: k must be a positive integer; got {json.dumps(value)}.")
    return value


def _strings(values, where: str, what: str) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise BadRequestError(f"{where} must be a list of {what} (strings).")
    return values


def _json(data: str, where: str):
    try:
        return json.loads(data)
    except ValueError as exc:
        raise BadRequestError(f"{where} is not valid JSON: {exc}") from None


def _from_json(served: Served, body: str) -> list[dict]:
    request = _json(body, "The request body")
    if not isinstance(request, dict) or "instances" not in request:
        raise BadRequestError('The request must be {"instances": [...]}, the sentences (text '
                              "classification) or words (Word2Vec) to answer for.")
    what = "sentences" if served.supervised else "words"
    instances = _strings(request["instances"], '"instances"', what)
    if not served.supervised:
        return embed(served.vectors, instances)
    configuration = request.get("configuration") or {}
    if not isinstance(configuration, dict):
        raise BadRequestError('"configuration" must be an object such as {"k": 2}.')
    k = _k(configuration.get("k", 1), '"configuration"')
    return predict(served.model, instances, k)


def _from_jsonlines(served: Served, body: str) -> list[dict]:
    out = []
    for number, line in enumerate(body.splitlines(), 1):
        if not line.strip():
            continue
        where = f"Line {number}"
        record = _json(line, where)
        if not isinstance(record, dict) or not isinstance(record.get("source"), str):
            raise BadRequestError(f'{where} must be {{"source": "..."}} ("k" optional for '
                                  "text classification).")
        if served.supervised:
            answer = predict(served.model, [record["source"]], _k(record.get("k", 1), where))[0]
            out.append({"prob": answer["prob"], "label": answer["label"]})
        else:
            out.extend(embed(served.vectors, [record["source"]]))
    if not out:
        raise BadRequestError("The request body has no JSON lines.")
    return out


def transform_fn(served: Served, body, content_type, accept):
    mime = _answer_type(content_type, accept)
    data = content.text(body)
    if not data.strip():
        raise BadRequestError("The request body is empty.")
    if mime == content.JSON:
        return json.dumps(_from_json(served, data)).encode(), mime
    return "".join(json.dumps(r) + "\n" for r in _from_jsonlines(served, data)).encode(), mime
