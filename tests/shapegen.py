"""Random values shaped by botocore's models: valid ones, and with `broken` > 0, invalid ones."""

from __future__ import annotations

import datetime as dt
import random
import string

_ALPHABET = string.ascii_letters + string.digits + "-_./ üé日"


class ShapeGen:
    def __init__(self, seed: int, broken: float = 0.0, max_depth: int = 5) -> None:
        self.rng = random.Random(seed)
        self.broken = broken
        self.max_depth = max_depth

    def _break(self) -> bool:
        return self.broken > 0 and self.rng.random() < self.broken

    def value(self, shape, depth: int = 0):
        t = shape.type_name
        if self._break():
            return self._invalid(shape)
        if t == "structure":
            return self.structure(shape, depth)
        if t == "list":
            lo = shape.metadata.get("min", 0)
            n = self.rng.randint(lo, max(lo, min(3, shape.metadata.get("max", 3))))
            return [self.value(shape.member, depth + 1) for _ in range(n)] if depth < self.max_depth else []
        if t == "map":
            n = self.rng.randint(0, 2) if depth < self.max_depth else 0
            return {self.string(shape.key): self.value(shape.value, depth + 1) for _ in range(n)}
        if t == "string":
            return self.string(shape)
        if t in ("integer", "long"):
            lo = int(shape.metadata.get("min", 0))
            hi = int(shape.metadata.get("max", lo + 100))
            return self.rng.randint(lo, max(lo, min(hi, lo + 1000)))
        if t in ("float", "double"):
            lo = float(shape.metadata.get("min", 0))
            return lo + self.rng.random() * 10
        if t == "boolean":
            return self.rng.random() < 0.5
        if t == "timestamp":
            return dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(
                seconds=self.rng.randint(0, 10**7))
        if t == "blob":
            return bytes(self.rng.randrange(256) for _ in range(self.rng.randint(0, 32)))
        return None

    def structure(self, shape, depth: int = 0) -> dict:
        out = {}
        required = set(shape.required_members)
        for name, member in shape.members.items():
            if member.metadata.get("eventstream") or member.serialization.get("eventstream"):
                continue
            if name in required or (depth < self.max_depth and self.rng.random() < 0.4):
                if name in required and self._break():
                    continue  # a required member left out
                out[name] = self.value(member, depth + 1)
        return out

    def string(self, shape) -> str:
        if shape.enum:
            return self.rng.choice(shape.enum)
        lo = shape.metadata.get("min", 1)
        hi = min(shape.metadata.get("max", 20), 20)
        n = self.rng.randint(lo, max(lo, hi))
        pattern = shape.metadata.get("pattern", "")
        alphabet = string.ascii_lowercase + string.digits if pattern else _ALPHABET
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def _invalid(self, shape):
        choices = [lambda: 12345, lambda: "not-a-" + shape.type_name, lambda: None,
                   lambda: "x" * (shape.metadata.get("max", 2000) + 1),
                   lambda: -(10 ** 12), lambda: {"unexpected": [1, 2]}, lambda: [], lambda: "\x00\xff"]
        if shape.enum:
            choices.append(lambda: "NotAnEnumValue")
        return self.rng.choice(choices)()
