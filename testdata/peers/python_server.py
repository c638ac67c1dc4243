#!/usr/bin/env python3
"""An echo server built on the `websockets` package (asyncio API, as in Debian bookworm's
python3-websockets 10.4), used as the SERVER peer of our ws.Dial client in
net/ws/interop_test.go.

    python3 python_server.py [--port 0] [--deflate on|off] [--max-size BYTES]

Prints {"event":"listening","port":N,...} once, then for every connection
    {"event":"open","tag":T,"path":P,"extensions":E,"protocol":S}
    {"event":"closed","tag":T,"code":C,"reason":R,"messages":N}
where code/reason are what the client sent in its close frame (1005 when it sent none,
1006 when the TCP connection dropped without a close frame).

The request path and query select the behaviour of one connection:
    /echo?tag=T               echo every message with its type
    /echo?tag=T&fragment=N    echo every message as N fragments (plus the empty final
                              continuation frame that websockets always sends)
    /echo?tag=T&ping=1        with fragment=N: send a ping between the first two fragments
    /close?tag=T&code=C&reason=R   close with C/R right after the opening handshake
Subprotocol "rallypoint.v1" is selected when the client offers it.
"""

import argparse
import asyncio
import signal
import urllib.parse

import websockets
from websockets.exceptions import ConnectionClosed

from peerlib import emit, on_off, split


async def handler(ws):
    url = urllib.parse.urlsplit(ws.path)
    query = dict(urllib.parse.parse_qsl(url.query))
    tag = query.get("tag", "")
    fragment = int(query.get("fragment", "1"))
    ping_between = query.get("ping") == "1"
    messages = 0
    emit(
        {
            "event": "open",
            "tag": tag,
            "path": url.path,
            "extensions": ws.response_headers.get("Sec-WebSocket-Extensions", ""),
            "protocol": ws.subprotocol or "",
        }
    )
    try:
        if url.path == "/close":
            await ws.close(int(query.get("code", "1000")), query.get("reason", ""))
        else:
            async for msg in ws:
                messages += 1
                parts = split(msg, fragment)
                if len(parts) == 1:
                    await ws.send(msg)
                elif ping_between:
                    await ws.send(fragments_with_ping(ws, parts))
                else:
                    await ws.send(parts)
    except ConnectionClosed:
        pass
    except Exception as err:  # report, then let websockets fail the connection
        emit({"event": "error", "tag": tag, "error": repr(err)})
        raise
    finally:
        await ws.wait_closed()
        emit(
            {
                "event": "closed",
                "tag": tag,
                "code": ws.close_code,
                "reason": ws.close_reason or "",
                "messages": messages,
            }
        )


async def fragments_with_ping(ws, parts):
    """Async iterator of fragments with a ping injected after the first (RFC 6455 §5.4)."""
    for i, part in enumerate(parts):
        yield part
        if i == 0:
            await ws.ping(b"between-fragments")


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--deflate", type=on_off, default=True)
    ap.add_argument("--max-size", type=int, default=64 << 20)
    args = ap.parse_args()

    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)

    async with websockets.serve(
        handler,
        "127.0.0.1",
        args.port,
        compression="deflate" if args.deflate else None,
        max_size=args.max_size,
        subprotocols=["rallypoint.v1"],
        ping_interval=None,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        emit(
            {
                "event": "listening",
                "port": port,
                "peer": "python-websockets",
                "version": websockets.__version__,
                "deflate": args.deflate,
            }
        )
        await stop


if __name__ == "__main__":
    asyncio.run(main())
