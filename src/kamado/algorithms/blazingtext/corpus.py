"""A BlazingText channel as the one text file fastText reads, checked on the way.

AWS's input (builtin-algorithms.md §3.11): one pre-tokenised sentence per line; for text
classification each line starts with ``__label__<label>`` (several labels for multi-label),
or the lines are an augmented manifest ``{"source": "...", "label": 1 | [1, 3]}``. kamado has no
AugmentedManifestFile channels, so such JSON lines arrive as an ordinary file; a file whose
first non-blank character is ``{`` is read that way and rewritten in fastText's form.

A channel that is a single text file is handed to fastText where it lies (no copy); several
files, or a manifest, are joined into one file in ``work_dir``. Problems are ClientErrors that
name the channel, the file and the line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from kamado.images.program import ClientError

LABEL = b"__label__"
EXAMPLE = "__label__4 linux ready for prime time"


@dataclass
class Corpus:
    path: Path       # the file fastText trains or tests on
    examples: int    # non-blank lines: sentences, or labelled examples


def channel_files(directory: Path) -> list[Path]:
    """The channel's files in name order; hidden files (``.DS_Store``, S3 folder markers)
    are not data."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*")
                  if p.is_file() and not any(part.startswith(".")
                                             for part in p.relative_to(directory).parts))


def _first_byte(path: Path) -> bytes:
    with path.open("rb") as f:
        for line in f:
            stripped = line.strip()
            if stripped:
                return stripped[:1]
    return b""


def _check_text(path: Path, name: str, channel: str, supervised: bool) -> tuple[int, bool]:
    """(non-blank lines, whether the file ends with a newline)."""
    count, last = 0, b"\n"
    with path.open("rb") as f:
        for number, line in enumerate(f, 1):
            last = line
            stripped = line.strip()
            if not stripped:
                continue
            count += 1
            if supervised and not stripped.startswith(LABEL):
                raise ClientError(
                    f"Channel {channel}: file {name} line {number} has no label; in supervised "
                    f"mode every line starts with __label__<label> (e.g. '{EXAMPLE}'), or is "
                    'an augmented manifest line {"source": "...", "label": 4}.')
    return count, last.endswith(b"\n")


def _label_tokens(value, where: str) -> str:
    labels = value if isinstance(value, list) else [value]
    if not labels or not all(isinstance(v, (int, str)) and not isinstance(v, bool)
                             and str(v).strip() and " " not in str(v) for v in labels):
        raise ClientError(f"{where}: label must be a number, a word, or a list of them; got "
                          f"{json.dumps(value)}.")
    return " ".join(f"__label__{v}" for v in labels)


def _manifest_lines(path: Path, name: str, channel: str, supervised: bool):
    with path.open("rb") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"Channel {channel}: file {name} line {number}"
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise ClientError(f"{where} is not JSON ({exc}); an augmented manifest has one "
                                  'object per line, e.g. {"source": "...", "label": 4}.') from None
            source = record.get("source") if isinstance(record, dict) else None
            if not isinstance(source, str):
                raise ClientError(f'{where} has no "source" string; an augmented manifest line '
                                  'is {"source": "...", "label": 4}.')
            sentence = " ".join(source.split())
            if supervised:
                if "label" not in record:
                    raise ClientError(f'{where} has no label; in supervised mode each line has '
                                      '"label": a label or a list of labels.')
                sentence = f"{_label_tokens(record['label'], where)} {sentence}".rstrip()
            yield sentence.encode() + b"\n"


def prepare(directory: Path, channel: str, work_dir: Path, *, supervised: bool) -> Corpus:
    """The channel in ``directory`` as one checked file for fastText."""
    files = channel_files(directory)
    if not files:
        raise ClientError(f"Channel {channel} has no files.")
    kinds = [(p, p.relative_to(directory).as_posix(), _first_byte(p) == b"{") for p in files]
    if len(files) == 1 and not kinds[0][2]:
        count, ends_with_newline = _check_text(files[0], kinds[0][1], channel, supervised)
        if count == 0:
            raise ClientError(f"Channel {channel} has no records: its file is empty.")
        if ends_with_newline:
            return Corpus(files[0], count)
    work_dir.mkdir(parents=True, exist_ok=True)
    target = work_dir / f"{channel}.txt"
    count = 0
    with target.open("wb") as out:
        for path, name, manifest in kinds:
            if manifest:
                for line in _manifest_lines(path, name, channel, supervised):
                    out.write(line)
                    count += 1
                continue
            lines, ends_with_newline = _check_text(path, name, channel, supervised)
            count += lines
            with path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    out.write(chunk)
            if not ends_with_newline:
                out.write(b"\n")
    if count == 0:
        raise ClientError(f"Channel {channel} has no records: its files are empty.")
    return Corpus(target, count)
