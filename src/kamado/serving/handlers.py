"""The one handler vocabulary every model kind speaks: ``model_fn(model_dir)``,
``input_fn(body, content_type)``, ``predict_fn(data, model)``, ``output_fn(prediction,
accept)`` and ``transform_fn(model, body, content_type, accept)`` — the inference toolkit's
names and arguments (inference-contract.md §4.1), each optionally taking a trailing
``context``.

A :class:`Handlers` is built from a user's module over a defaults module (a framework's
defaults, or a built-in algorithm's complete set): the user's functions win, missing ones
come from the defaults. The server only ever calls :meth:`Handlers.load` and
:meth:`Handlers.invoke`, so built-ins and scripts share every line of it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from types import ModuleType
from typing import Callable

from kamado.serving import content
from kamado.serving.context import Context

NAMES = ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn")
# The arguments each function takes before the optional context.
_ARITY = {"model_fn": 1, "input_fn": 2, "predict_fn": 2, "output_fn": 2, "transform_fn": 4}
# Bodies of these types reach input_fn/transform_fn as str, as with AWS's toolkit.
_TEXT_TYPES = (content.JSON, content.CSV)


class HandlerError(Exception):
    """The handler module is unusable (e.g. transform_fn beside input_fn): a load failure."""


def _positional_count(fn: Callable) -> int | None:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins and C functions: assume no context
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def _bind(name: str, fn: Callable) -> Callable:
    """``fn`` as a function of (*args, context) that passes the context only when ``fn``
    takes one more argument than the toolkit's signature (how the toolkit tells them apart)."""
    wants_context = _positional_count(fn) == _ARITY[name] + 1

    def call(*args, context):
        return fn(*args, context) if wants_context else fn(*args)

    call.__name__ = getattr(fn, "__name__", name)
    call.__wrapped__ = fn
    return call


def _missing(name: str, origin: str) -> Callable:
    def fail(*args, context):
        if name == "model_fn":
            raise HandlerError(f"{origin} has no model_fn: define model_fn(model_dir) in the "
                               "inference script to load the model.")
        raise NotImplementedError(f"{origin} has no {name} and this image has no default for "
                                  "it; define it in the inference script.")
    return fail


@dataclass
class Handlers:
    model_fn: Callable
    input_fn: Callable
    predict_fn: Callable
    output_fn: Callable
    transform_fn: Callable | None = None
    default_accept: str = content.JSON
    default_content_type: str | None = None
    text_bodies: bool = True
    execution_parameters: Callable | None = None
    # batch transform's fast path (kamado.serving.batch): a built-in's own, never a script's
    batch_fn: Callable | None = None
    origin: str = "the handler module"

    @classmethod
    def from_modules(cls, user: ModuleType | None, defaults: ModuleType | None) -> "Handlers":
        user_fns = {n: getattr(user, n) for n in NAMES if callable(getattr(user, n, None))}
        if "transform_fn" in user_fns and len(user_fns.keys() & {"input_fn", "predict_fn",
                                                                  "output_fn"}):
            both = sorted(user_fns.keys() & {"input_fn", "predict_fn", "output_fn"})
            raise HandlerError(f"{user.__name__} defines transform_fn and {', '.join(both)}: "
                               "transform_fn replaces them, so define one or the other.")
        origin = (f"the inference script {getattr(user, '__file__', user.__name__)}" if user
                  else getattr(defaults, "__name__", "the handler module"))
        found = {}
        for name in NAMES:
            fn = user_fns.get(name) or getattr(defaults, name, None)
            if fn is not None:
                found[name] = _bind(name, fn)
            elif name != "transform_fn":
                found[name] = _missing(name, origin)

        def setting(attribute, default):
            for module in (user, defaults):
                if module is not None and hasattr(module, attribute):
                    return getattr(module, attribute)
            return default

        return cls(**found, origin=origin,
                   default_accept=setting("DEFAULT_ACCEPT", content.JSON),
                   default_content_type=setting("DEFAULT_CONTENT_TYPE", None),
                   # a built-in reads bytes itself; str is the toolkit's promise to scripts
                   text_bodies=user is not None or setting("TEXT_BODIES", True),
                   execution_parameters=setting("execution_parameters", None),
                   batch_fn=getattr(defaults, "batch_fn", None) if user is None else None)

    def load(self, model_dir: str, context: Context | None = None):
        return self.model_fn(model_dir, context=context or Context(model_dir=model_dir))

    def invoke(self, model, body: bytes, content_type: str | None, accept: str,
               context: Context) -> tuple[bytes, str]:
        """The response body and content type for one request. ``accept`` is already
        resolved (never empty or ``*/*``)."""
        content_type = content_type or self.default_content_type
        data: bytes | str = body
        if self.text_bodies and content.mime_type(content_type)[0] in _TEXT_TYPES:
            data = content.text(body)
        if self.transform_fn is not None:
            result = self.transform_fn(model, data, content_type, accept, context=context)
        else:
            decoded = self.input_fn(data, content_type, context=context)
            prediction = self.predict_fn(decoded, model, context=context)
            result = self.output_fn(prediction, accept, context=context)
        return self._response(result, accept, context)

    def _response(self, result, accept: str, context: Context) -> tuple[bytes, str]:
        response_type = context.response_content_type or accept.split(",")[0].strip()
        if isinstance(result, tuple) and len(result) == 2:
            result, response_type = result
        if isinstance(result, str):
            return result.encode(), response_type
        if isinstance(result, (bytes, bytearray, memoryview)):
            return bytes(result), response_type
        raise TypeError(f"{self.origin}: the response must be bytes or str (or a (body, "
                        f"content_type) tuple); got {type(result).__name__}.")
