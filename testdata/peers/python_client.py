#!/usr/bin/env python3
"""The `websockets` package (asyncio API, 10.4 as in Debian bookworm) as CLIENT of our
server (net/ws/interop_test.go).

    python3 python_client.py --url ws://127.0.0.1:PORT [--deflate on|off]
        [--scenarios text,binary,...] [--sizes 0,1,125,...] [--large 1048576,4194304]
        [--timeout SECONDS]

Our server is expected to serve:
    /echo?tag=T                    echo every message with its type; when the client
                                   closes, remember the close code/reason under T
    /close?tag=T&code=C&reason=R   close with C/R right after the opening handshake
and to select subprotocol "rallypoint.v1" when offered.

One JSON line per scenario: {"scenario":S,"ok":bool,"error":E,"extensions":X,"protocol":P,...}
and a last line {"event":"done","passed":N,"failed":M}. Exit status 0 iff all passed.
"""

import argparse
import asyncio
import sys
import time

import websockets
from websockets.exceptions import ConnectionClosed

from peerlib import (
    compressible_bytes,
    describe,
    emit,
    on_off,
    random_bytes,
    size_list,
    split,
    text_of_bytes,
)

ALL = [
    "text",
    "binary",
    "fragmented-text",
    "fragmented-binary",
    "fragmented-ping",
    "large",
    "ping",
    "subprotocol",
    "close-peer",
    "close-server",
]

ARGS = None


def connect(path, subprotocols=None):
    return websockets.connect(
        ARGS.url + path,
        compression="deflate" if ARGS.deflate else None,
        max_size=64 << 20,
        subprotocols=subprotocols,
        open_timeout=ARGS.timeout,
        close_timeout=ARGS.timeout,
        ping_interval=None,
    )


def info(ws, **extra):
    out = {
        "extensions": ws.response_headers.get("Sec-WebSocket-Extensions", ""),
        "protocol": ws.subprotocol or "",
    }
    out.update(extra)
    return out


async def expect_echo(ws, want, label):
    got = await ws.recv()
    if type(got) is not type(want):
        raise AssertionError(f"{label}: echo is {type(got).__name__}, want {type(want).__name__}")
    if got != want:
        raise AssertionError(f"{label}: echo differs: got {describe(got)}, want {describe(want)}")


async def echo_all(ws, items):
    for label, data in items:
        await ws.send(data)
        await expect_echo(ws, data, label)


async def close_normally(ws):
    await ws.close(1000, "done")
    if ws.close_code != 1000:
        raise AssertionError(f"server answered our 1000 with {ws.close_code} {ws.close_reason!r}")


async def sc_text(tag):
    async with connect(f"/echo?tag={tag}") as ws:
        items = [(f"text {n} bytes", text_of_bytes(n)) for n in ARGS.sizes]
        items.append(("text ascii", "hello, rallypoint"))
        await echo_all(ws, items)
        await close_normally(ws)
        return info(ws, messages=len(items))


async def sc_binary(tag):
    async with connect(f"/echo?tag={tag}") as ws:
        items = [(f"binary {n} bytes", random_bytes(n, n + 1)) for n in ARGS.sizes]
        items.append(("binary compressible 100000", compressible_bytes(100000)))
        await echo_all(ws, items)
        await close_normally(ws)
        return info(ws, messages=len(items))


# websockets sends an iterable as a fragmented message: one frame per item, then an
# empty final continuation frame (RFC 6455 §5.4).
async def sc_fragmented_text(tag):
    async with connect(f"/echo?tag={tag}") as ws:
        cases = [(text_of_bytes(1000), 7), (text_of_bytes(70000), 3), ("é✓", 2)]
        for data, parts in cases:
            await ws.send(split(data, parts))
            await expect_echo(ws, data, f"fragmented text {len(data.encode())} bytes in {parts}")
        await close_normally(ws)
        return info(ws, messages=len(cases))


async def sc_fragmented_binary(tag):
    async with connect(f"/echo?tag={tag}") as ws:
        cases = [(random_bytes(1000, 3), 5), (compressible_bytes(300000), 4), (b"\x00\xff", 2)]
        for data, parts in cases:
            await ws.send(split(data, parts))
            await expect_echo(ws, data, f"fragmented binary {len(data)} bytes in {parts}")
        await close_normally(ws)
        return info(ws, messages=len(cases))


# RFC 6455 §5.4: control frames may be injected in the middle of a fragmented message.
async def sc_fragmented_ping(tag):
    async with connect(f"/echo?tag={tag}") as ws:
        data = text_of_bytes(5000)
        pong = None

        async def fragments():
            nonlocal pong
            for i, part in enumerate(split(data, 3)):
                yield part
                if i == 0:
                    pong = await ws.ping(b"between")

        await ws.send(fragments())
        await expect_echo(ws, data, "fragmented text with a ping between fragments")
        await asyncio.wait_for(pong, ARGS.timeout)
        await close_normally(ws)
        return info(ws, messages=1)


async def sc_large(tag):
    async with connect(f"/echo?tag={tag}") as ws:
        items = []
        for n in ARGS.large:
            items.append((f"large binary random {n}", random_bytes(n, n)))
            items.append((f"large binary compressible {n}", compressible_bytes(n, 3)))
        items.append((f"large text {1 << 20}", text_of_bytes(1 << 20)))
        await echo_all(ws, items)
        await close_normally(ws)
        return info(ws, messages=len(items))


async def sc_ping(tag):
    async with connect(f"/echo?tag={tag}") as ws:
        pong = await ws.ping("ping-payload-✓".encode())
        await asyncio.wait_for(pong, ARGS.timeout)
        await echo_all(ws, [("message after ping", "after ping")])
        await close_normally(ws)
        return info(ws, messages=1)


async def sc_subprotocol(tag):
    async with connect(f"/echo?tag={tag}", subprotocols=["chat.other", "rallypoint.v1"]) as ws:
        if ws.subprotocol != "rallypoint.v1":
            raise AssertionError(f"subprotocol {ws.subprotocol!r}, want 'rallypoint.v1'")
        await echo_all(ws, [("subprotocol echo", "hi")])
        await close_normally(ws)
        return info(ws, messages=1)


# We close with 4000 + reason; the server records what it received under the tag.
async def sc_close_peer(tag):
    async with connect(f"/echo?tag={tag}") as ws:
        await echo_all(ws, [("before close", "bye soon")])
        await ws.close(4000, "peer-bye")
        return info(ws, code=ws.close_code, reason=ws.close_reason, messages=1)


# The server closes with 1001 + reason; we report what we received.
async def sc_close_server(tag):
    async with connect(f"/close?tag={tag}&code=1001&reason=server-going-away") as ws:
        try:
            msg = await ws.recv()
            raise AssertionError(f"got a message instead of a close: {describe(msg)}")
        except ConnectionClosed as err:
            code = err.rcvd.code if err.rcvd else None
            reason = err.rcvd.reason if err.rcvd else None
        await ws.wait_closed()
        if code != 1001 or reason != "server-going-away":
            raise AssertionError(f"close {code} {reason!r}, want 1001 'server-going-away'")
        return info(ws, code=code, reason=reason)


SCENARIOS = {
    "text": sc_text,
    "binary": sc_binary,
    "fragmented-text": sc_fragmented_text,
    "fragmented-binary": sc_fragmented_binary,
    "fragmented-ping": sc_fragmented_ping,
    "large": sc_large,
    "ping": sc_ping,
    "subprotocol": sc_subprotocol,
    "close-peer": sc_close_peer,
    "close-server": sc_close_server,
}


async def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--deflate", type=on_off, default=True)
    ap.add_argument("--scenarios", default=",".join(ALL))
    ap.add_argument("--sizes", type=size_list, default=size_list("0,1,125,126,127,65535,65536,65537"))
    ap.add_argument("--large", type=size_list, default=[1 << 20, 4 << 20])
    ap.add_argument("--timeout", type=float, default=30.0)
    ARGS = ap.parse_args()

    passed = failed = 0
    for name in [s for s in ARGS.scenarios.split(",") if s]:
        started = time.monotonic()
        line = {
            "peer": "python-websockets",
            "version": websockets.__version__,
            "scenario": name,
            "deflate": ARGS.deflate,
        }
        fn = SCENARIOS.get(name)
        if fn is None:
            line.update(ok=False, error=f"unknown scenario {name}")
        else:
            try:
                result = await asyncio.wait_for(fn(name), ARGS.timeout)
                line.update(ok=True, **result)
            except asyncio.TimeoutError:
                line.update(ok=False, error=f"{name}: timed out after {ARGS.timeout} s")
            except Exception as err:  # every failure becomes a JSON line
                line.update(ok=False, error=f"{type(err).__name__}: {err}")
        line["ms"] = int((time.monotonic() - started) * 1000)
        if line["ok"]:
            passed += 1
        else:
            failed += 1
        emit(line)
    emit({"event": "done", "peer": "python-websockets", "passed": passed, "failed": failed})
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
