#!/usr/bin/env python3
"""Slow readers against a running `strongroom serve`, and the server's memory meanwhile.

Opens N connections with a small receive buffer, sends one GET on each (spread over the
paths given), then reads a little from each connection and pauses, until every response has
begun and then for a fixed number of seconds, while sampling VmRSS of the server's process
from /proc/PID/status. Then it hangs up on all of them and samples once more. Prints one JSON
object:

  connections    connections opened
  answered       connections whose response head arrived with status 200
  statuses       status code -> count (0: no response head before the hold ended)
  closed_early   connections the server closed before the hold ended
  bytes          body bytes read over all connections
  peak_rss_kib   the highest VmRSS sampled while all readers were connected
  hwm_kib        the server's VmHWM (its lifetime peak RSS) when the hold ended
  after_kib      VmRSS a moment after every reader hung up

Used by Tests/ServerTests/SlowReaderTests.swift and Scripts/bench-slow-readers.sh.
Everything is bounded: connect and head timeouts, the hold, and the settle after hang-up.
"""
import argparse
import json
import socket
import sys
import time


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--pid", type=int, required=True, help="the server's process id")
    p.add_argument("--token", required=True)
    p.add_argument("--path", action="append", required=True, help="a path to GET (repeatable)")
    p.add_argument("--connections", type=int, default=200)
    p.add_argument("--hold", type=float, default=8.0, help="seconds to read slowly once all responses have begun")
    p.add_argument("--head-timeout", type=float, default=60.0, help="seconds to wait for every response to begin")
    p.add_argument("--read-bytes", type=int, default=512, help="bytes read from a connection per turn")
    p.add_argument("--pause", type=float, default=0.25, help="seconds between two turns on a connection")
    p.add_argument("--rcvbuf", type=int, default=4096)
    a = p.parse_args()
    if not 1 <= a.connections <= 2000 or not 0 < a.hold <= 600 or not 0 < a.head_timeout <= 600:
        sys.exit("slow-readers: --connections must be 1-2000, --hold and --head-timeout 0-600 seconds")

    conns = []
    for i in range(a.connections):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Set before connect, so the window the server sees is small from the start.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
        s.settimeout(10)
        s.connect((a.host, a.port))
        path = a.path[i % len(a.path)]
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {a.host}\r\nAuthorization: Bearer {a.token}\r\n\r\n".encode())
        s.setblocking(False)
        c = {"sock": s, "head": b"", "status": 0, "bytes": 0, "closed": False, "next": 0.0}
        conns.append(c)

    def turn(c, now):
        """Reads at most read-bytes from one connection, if its pause is over."""
        if c["closed"] or now < c["next"]:
            return
        c["next"] = now + a.pause
        try:
            data = c["sock"].recv(a.read_bytes)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            c["closed"] = True
            return
        if c["status"] == 0:
            c["head"] += data
            end = c["head"].find(b"\r\n\r\n")
            if end < 0:
                return
            try:
                c["status"] = int(c["head"].split(b" ", 2)[1])
            except (IndexError, ValueError):
                c["status"] = -1
            c["bytes"] += len(c["head"]) - end - 4
            c["head"] = b""
        else:
            c["bytes"] += len(data)

    peak = 0
    start = time.monotonic()
    # The hold starts once every response has begun (or the head timeout is over), so a busy
    # machine that is slow to answer them all still gets the full hold with all of them open.
    head_deadline = start + a.head_timeout
    end = None
    next_sample = start
    while True:
        now = time.monotonic()
        if end is None and (all(c["status"] != 0 or c["closed"] for c in conns) or now >= head_deadline):
            end = now + a.hold
        if end is not None and now >= end:
            break
        if now >= next_sample:
            peak = max(peak, status_kib(a.pid, "VmRSS"))
            next_sample = now + 0.1
        for c in conns:
            turn(c, now)
        # Sleeping, not polling: the readers must not take the CPU the server needs.
        time.sleep(0.02)
    peak = max(peak, status_kib(a.pid, "VmRSS"))
    hwm = status_kib(a.pid, "VmHWM")
    for c in conns:
        c["sock"].close()
    time.sleep(1.0)
    after = status_kib(a.pid, "VmRSS")
    statuses = {}
    for c in conns:
        statuses[str(c["status"])] = statuses.get(str(c["status"]), 0) + 1
    print(json.dumps({
        "connections": len(conns),
        "answered": sum(1 for c in conns if c["status"] == 200),
        "statuses": statuses,
        "closed_early": sum(1 for c in conns if c["closed"]),
        "bytes": sum(c["bytes"] for c in conns),
        "peak_rss_kib": peak,
        "hwm_kib": hwm,
        "after_kib": after,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
