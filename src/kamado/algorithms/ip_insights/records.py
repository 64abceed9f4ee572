"""The ``entity_id,IPv4`` lines of IP Insights' channels (no header, two columns), read into
(entity ids, uint32 addresses). A bad line is a ClientError naming the channel, the file and
the line, because that is what the user has to fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kamado.algorithms.data import _read_bytes, channel_files
from kamado.algorithms.ip_insights.addresses import AddressError, parse_ipv4
from kamado.images.program import ClientError

_SHAPE = "entity_id,IPv4 per line, no header"


def split_lines(text: str, where) -> tuple[list[str], list[str], list[int]]:
    """(entity ids, address texts, line numbers) of the non-empty lines; ``where(line)`` is
    the place a message names."""
    entities, addresses, numbers = [], [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != 2:
            raise ClientError(f"{where(number)} has {len(fields)} fields; IP Insights reads "
                              f"{_SHAPE}.")
        entity, address = fields[0].strip(), fields[1].strip()
        if not entity:
            raise ClientError(f"{where(number)} has an empty entity id; IP Insights reads "
                              f"{_SHAPE}.")
        entities.append(entity)
        addresses.append(address)
        numbers.append(number)
    return entities, addresses, numbers


def read_channel(root: Path, channel: str) -> tuple[list[str], np.ndarray]:
    entities, ips = [], []
    for path in channel_files(root):
        name = path.relative_to(root)
        try:
            text = _read_bytes(path).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ClientError(f"Channel {channel}, file {name} is not UTF-8 text ({exc}); IP "
                              f"Insights reads CSV, {_SHAPE}.") from None
        file_entities, addresses, numbers = split_lines(
            text, lambda n: f"Channel {channel}, file {name}, line {n}")
        try:
            ips.append(parse_ipv4(addresses))
        except AddressError as exc:
            raise ClientError(f"Channel {channel}, file {name}, line {numbers[exc.index]}: "
                              f"{exc}; IP Insights reads {_SHAPE}.") from None
        entities.extend(file_entities)
    if not entities:
        raise ClientError(f"Channel {channel} has no records; IP Insights reads {_SHAPE}.")
    return entities, np.concatenate(ips)
