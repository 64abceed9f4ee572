"""The server's listening socket: what asyncio does with the connections it accepts."""

from __future__ import annotations

import asyncio
import socket

from kamado.server import listen


def test_accepted_connections_send_without_nagle_delay():
    # Without TCP_NODELAY a response's body waits behind its headers for the client's delayed
    # ACK (~40 ms a request); asyncio sets it only when the listening socket says TCP.
    sock = listen("127.0.0.1", 0)
    seen: list[int] = []

    async def main() -> None:
        def connected(reader, writer) -> None:
            seen.append(writer.get_extra_info("socket").getsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(connected, sock=sock)
        port = sock.getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await reader.read()  # EOF once the server has handled and closed the connection
            writer.close()

    asyncio.run(main())
    assert seen and seen[0] != 0
