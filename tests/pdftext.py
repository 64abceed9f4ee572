"""The text a PDF shows, read back from its content streams (no PDF library needed).

Enough for tests of PDFs kamado writes (ReportLab: ASCII85- and Flate-encoded streams, text
drawn with ``Tj``/``TJ`` in the standard fonts): every string a page draws, in drawing order."""

from __future__ import annotations

import base64
import re
import zlib

_STREAM = re.compile(rb"<<((?:(?!<<).)*?)>>\s*stream\r?\n(.*?)\r?\n?endstream", re.S)
_SHOW = re.compile(rb"\((?P<s>(?:\\.|[^\\)])*)\)\s*Tj|\[(?P<a>(?:\\.|[^\]\\])*)\]\s*TJ", re.S)
_PART = re.compile(rb"\(((?:\\.|[^\\)])*)\)")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(raw: bytes) -> str:
    out, i = bytearray(), 0
    while i < len(raw):
        ch = raw[i:i + 1]
        if ch != b"\\":
            out += ch
            i += 1
            continue
        nxt = raw[i + 1:i + 2]
        octal = re.match(rb"[0-7]{1,3}", raw[i + 1:i + 4])
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i += 1 + len(octal.group())
        else:
            out += _ESCAPES.get(nxt, nxt)
            i += 2
    return out.decode("cp1252", errors="replace")


def streams(pdf: bytes) -> list[bytes]:
    """Every stream's decoded bytes (Flate-decoded where the stream says so)."""
    found = []
    for m in _STREAM.finditer(pdf):
        head, body = m.group(1), m.group(2)
        filters = re.findall(rb"/(ASCII85Decode|FlateDecode|DCTDecode)", head)
        try:
            for name in filters:  # applied in the order the /Filter array names them
                if name == b"ASCII85Decode":
                    body = base64.a85decode(re.sub(rb"\s", b"", body).removesuffix(b"~>"))
                elif name == b"FlateDecode":
                    body = zlib.decompress(body)
                else:
                    raise ValueError("an image")
        except (ValueError, zlib.error):
            continue
        found.append(body)
    return found


def text_of(pdf: bytes) -> list[str]:
    """The strings the pages draw, in order."""
    shown = []
    for body in streams(pdf):
        for m in _SHOW.finditer(body):
            if m.group("s") is not None:
                shown.append(_unescape(m.group("s")))
            else:
                shown.append("".join(_unescape(p) for p in _PART.findall(m.group("a"))))
    return shown
