"""Reading request bodies from the ASGI stream: stalls, disconnects and limits."""

from __future__ import annotations

import anyio
import pytest

from kamado.errors import AwsError
from kamado.gateway import spool


def _receiver(*messages, then_stall: bool = False):
    queue = list(messages)

    async def receive():
        if queue:
            return queue.pop(0)
        if then_stall:
            await anyio.sleep_forever()
        return {"type": "http.disconnect"}
    return receive


def _read(receive, limit=1 << 20):
    return anyio.run(spool.read_body, receive, limit)


def test_whole_body_is_joined():
    receive = _receiver({"type": "http.request", "body": b"ab", "more_body": True},
                        {"type": "http.request", "body": b"cd", "more_body": False})
    assert _read(receive) == b"abcd"


def test_a_stalled_body_is_refused_with_request_timeout(monkeypatch):
    monkeypatch.setattr(spool, "IDLE_TIMEOUT", 0.2)
    receive = _receiver({"type": "http.request", "body": b"ab", "more_body": True}, then_stall=True)
    with pytest.raises(AwsError) as e:
        _read(receive)
    assert (e.value.code, e.value.status) == ("RequestTimeout", 400)


def test_a_disconnect_mid_body_is_incomplete_body():
    receive = _receiver({"type": "http.request", "body": b"ab", "more_body": True})
    with pytest.raises(AwsError) as e:
        _read(receive)
    assert e.value.code == "IncompleteBody"


def test_a_body_over_the_limit_stops_reading():
    receive = _receiver({"type": "http.request", "body": b"x" * 10, "more_body": True},
                        {"type": "http.request", "body": b"x" * 10, "more_body": False})
    with pytest.raises(spool.BodyTooLarge):
        _read(receive, limit=15)
