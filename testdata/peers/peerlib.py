"""Shared helpers for the Python interop peers (python_server.py, python_client.py).

Every peer prints one JSON object per line on stdout; the Go tests in
net/ws/interop_test.go parse those lines. Diagnostics go to stderr.
"""

import json
import sys


def emit(obj):
    """Print one JSON line on stdout and flush it at once."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def on_off(value):
    """argparse type for --deflate on|off."""
    if value in ("on", "true", "1"):
        return True
    if value in ("off", "false", "0"):
        return False
    raise ValueError(f"not on/off: {value}")


def size_list(value):
    """argparse type for "0,1,125,126"."""
    if value == "":
        return []
    out = [int(x) for x in value.split(",")]
    if any(n < 0 for n in out):
        raise ValueError("negative size")
    return out


def random_bytes(n, seed=0x9E3779B9):
    """n deterministic pseudo-random (incompressible) bytes."""
    import random

    return random.Random(seed).randbytes(n)


def compressible_bytes(n, seed=7):
    """n bytes of repetitive, game-state-like data."""
    pattern = (
        '{"player":%d,"x":12.5,"y":-3.25,"hp":100,"state":"running"}\n' % seed
    ).encode()
    reps = n // len(pattern) + 1
    return (pattern * reps)[:n]


def text_of_bytes(n):
    """A str whose UTF-8 encoding is exactly n bytes, mixing 1- to 4-byte characters."""
    pieces = ["a", "é", "✓", "🎮"]
    out = []
    length = 0
    i = 0
    while length < n:
        p = pieces[i % len(pieces)]
        i += 1
        b = len(p.encode())
        if length + b > n:
            out.append("z" * (n - length))
            break
        out.append(p)
        length += b
    return "".join(out)


def split(data, parts):
    """Cut a str or bytes into `parts` uneven, non-empty pieces (fewer if too short)."""
    if parts <= 1 or len(data) <= 1:
        return [data]
    out = []
    off = 0
    for p in range(parts - 1):
        if off >= len(data) - 1:
            break
        cut = max(1, ((len(data) - off) * (p + 1)) // (parts * 2))
        cut = min(cut, len(data) - off - 1)
        out.append(data[off : off + cut])
        off += cut
    out.append(data[off:])
    return out


def describe(data):
    """Short description of a payload for error messages."""
    if isinstance(data, str):
        return f"str of {len(data.encode())} bytes, head {data[:16]!r}"
    return f"{len(data)} bytes, head {bytes(data[:16]).hex()}"
