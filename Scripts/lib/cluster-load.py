"""Load and check for Scripts/test-cluster.sh (Python stdlib only: http.client and threads).

    CLUSTER_LOAD_TOKEN=... python3 cluster-load.py --url NGINX --node NODE1 --node NODE2 \
        --stop-file F --timeline F [--threads 8] [--kib 200] [--max-seconds 150]

While F does not exist, THREADS threads each upload KIB KiB text files (random, new every time)
through nginx and download earlier acknowledged ones, checking every byte. Then every upload
acknowledged with 201 is downloaded from each node directly and checked.

The test fails (exit 1) on any breach:
  - a download answered 200 whose bytes differ from the upload (at once: exit 3, mid-run);
  - an acknowledged upload missing (404) or not readable from a node after the load;
  - any answer but 201 to an upload, 200 to a download, or 502/503 to either (a 500, a 4xx);
  - a connection error outside the windows when a node was down (the timeline file, written by
    the shell: "EPOCH node-down" ... "EPOCH node-up").
Prints counts: acknowledged uploads, failures by status, downloads checked. Never prints a token.
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import socket
import sys
import threading
import time
import urllib.parse

# A node restarting is given this long after it answers /healthz again before a connection error
# through nginx counts as a breach (nginx may still send it a request or two on stale connections).
GRACE_SECONDS = 3.0
# No answer in this long is a connection error (a request the node never finishes).
REQUEST_TIMEOUT = 30
# The check after the load must finish in this long: a node that hangs is a breach, not a wait.
CHECK_SECONDS = 90


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True, help="nginx")
    p.add_argument("--node", action="append", required=True, help="each node, directly")
    p.add_argument("--stop-file", required=True)
    p.add_argument("--timeline", required=True)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--kib", type=int, default=200)
    p.add_argument("--max-seconds", type=float, default=150)
    return p.parse_args()


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = []            # (id, sha256 hex) of every 201
        self.counts = {}           # (op, outcome) -> n
        self.conn_errors = []      # (time, op, what) to judge against the timeline
        self.breaches = []

    def connection_error(self, op, error):
        """A request that got no answer: counted, its time kept to judge against the timeline."""
        self.count(op, "connection")
        with self.lock:
            self.conn_errors.append((time.time(), op, type(error).__name__))
        time.sleep(0.1)

    def count(self, op, outcome):
        with self.lock:
            self.counts[(op, outcome)] = self.counts.get((op, outcome), 0) + 1

    def breach(self, what):
        with self.lock:
            self.breaches.append(what)
            shown = len(self.breaches) <= 20
        if shown:  # the first few in full; the rest only counted
            print(f"cluster-load: BREACH: {what}", file=sys.stderr, flush=True)


def text_body(size):
    """Plain text the vault accepts as minutes: a heading and base64 lines of fresh random bytes."""
    head = b"Load test notes, random text follows.\n"
    lines = []
    n = len(head)
    while n < size:
        line = base64.b64encode(os.urandom(57)) + b"\n"
        lines.append(line)
        n += len(line)
    return (head + b"".join(lines))[:size - 1] + b"\n"


class Client:
    """One keep-alive connection, made again after any error."""

    def __init__(self, base, token):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.auth = {"Authorization": "Bearer " + token}
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        try:
            self.conn.request(method, path, body=body, headers={**self.auth, **(headers or {})})
            r = self.conn.getresponse()
            data = r.read()
            if r.getheader("Connection", "").lower() == "close":
                self.close()
            return r.status, r.getheader("Content-Type", ""), data
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


CONNECTION_ERRORS = (ConnectionError, http.client.HTTPException, socket.timeout, OSError)


def worker(index, args, token, tally, stop):
    rng = random.Random(index)
    client = Client(args.url, token)
    n = 0
    while not stop.is_set():
        with tally.lock:
            acked = len(tally.acked)
            pick = tally.acked[rng.randrange(acked)] if acked else None
        if pick is None or rng.random() < 0.5:
            n += 1
            body = text_body(args.kib * 1024)
            digest = hashlib.sha256(body).hexdigest()
            query = urllib.parse.urlencode({"school": "S1", "child": f"C{index}", "concern": "K1",
                                            "kind": "minutes", "filename": f"load-{index}-{n}.txt"})
            try:
                status, ctype, data = client.request("POST", "/v1/attachments?" + query, body,
                                                     {"Content-Type": "text/plain"})
            except CONNECTION_ERRORS as e:
                tally.connection_error("upload", e)
                continue
            if status == 201:
                try:
                    record = json.loads(data)
                    rid, sha = record["id"], record["sha256"]
                except (ValueError, KeyError, TypeError):
                    tally.breach("an upload answered 201 without a record's id and sha256")
                    continue
                if sha != digest:
                    tally.breach(f"upload {rid}: the server's SHA-256 is not the upload's")
                with tally.lock:
                    tally.acked.append((rid, digest))
                tally.count("upload", "201")
            elif status in (502, 503):
                tally.count("upload", str(status))
                time.sleep(0.1)
            else:
                tally.count("upload", str(status))
                tally.breach(f"an upload answered {status} ({ctype})")
        else:
            rid, digest = pick
            try:
                status, ctype, data = client.request("GET", "/v1/attachments/" + rid)
            except CONNECTION_ERRORS as e:
                tally.connection_error("download", e)
                continue
            if status == 200:
                if hashlib.sha256(data).hexdigest() != digest:
                    print(f"cluster-load: BREACH: download of {rid} answered 200 with {len(data)} bytes "
                          "that differ from the upload", file=sys.stderr, flush=True)
                    os._exit(3)
                tally.count("download", "200")
            elif status in (502, 503):
                tally.count("download", str(status))
                time.sleep(0.1)
            else:
                tally.count("download", str(status))
                tally.breach(f"a download of an acknowledged upload answered {status} ({ctype})")
    client.close()


def node_windows(path, down_event="node-down", up_event="node-up"):
    """[(down, up)] from the timeline; a window still open at the end runs to infinity."""
    windows, down = [], None
    try:
        lines = open(path).read().split("\n")
    except FileNotFoundError:
        lines = []
    for line in lines:
        parts = line.split()
        if len(parts) != 2:
            continue
        t, event = float(parts[0]), parts[1]
        if event == down_event:
            down = t
        elif event == up_event and down is not None:
            windows.append((down, t + GRACE_SECONDS))
            down = None
    if down is not None:
        windows.append((down, float("inf")))
    return windows


def check_all(args, token, tally):
    """Every acknowledged upload, from every node directly, in args.threads threads."""
    jobs = [(node, rid, digest) for rid, digest in tally.acked for node in args.node]
    lock = threading.Lock()
    done = {"checked": 0}
    deadline = time.time() + CHECK_SECONDS

    def run():
        clients = {node: Client(node, token) for node in args.node}
        while True:
            with lock:
                if not jobs:
                    break
                if time.time() > deadline:
                    tally.breach(f"{len(jobs)} downloads not checked: the nodes took over {CHECK_SECONDS} s")
                    jobs.clear()
                    break
                node, rid, digest = jobs.pop()
            for attempt in range(5):
                try:
                    status, ctype, data = clients[node].request("GET", "/v1/attachments/" + rid)
                except CONNECTION_ERRORS as e:
                    status, ctype, data = None, type(e).__name__, b""
                if status not in (None, 502, 503):
                    break
                time.sleep(1)
            if status != 200:
                tally.breach(f"acknowledged upload {rid} from {node}: {status or ctype}")
            elif hashlib.sha256(data).hexdigest() != digest:
                tally.breach(f"acknowledged upload {rid} from {node}: 200 with bytes that differ")
            else:
                with lock:
                    done["checked"] += 1
        for c in clients.values():
            c.close()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, deadline + 6 * REQUEST_TIMEOUT - time.time()))
    return done["checked"]


def main():
    args = parse_args()
    token = os.environ.get("CLUSTER_LOAD_TOKEN", "")
    if not token:
        sys.exit("cluster-load: CLUSTER_LOAD_TOKEN is not set")
    tally = Tally()
    stop = threading.Event()
    threads = [threading.Thread(target=worker, args=(i + 1, args, token, tally, stop), daemon=True)
               for i in range(args.threads)]
    started = time.time()
    for t in threads:
        t.start()
    while not os.path.exists(args.stop_file) and time.time() - started < args.max_seconds:
        time.sleep(0.2)
    if not os.path.exists(args.stop_file):
        tally.breach(f"the load ran {args.max_seconds:.0f} s without being told to stop")
    stop.set()
    for t in threads:
        t.join(timeout=REQUEST_TIMEOUT + 5)
    load_seconds = time.time() - started

    windows = node_windows(args.timeline)
    # While the database restarts a node answers an upload 503 at once, before the client has
    # sent the whole body; the node then closes the connection, and a client still sending sees
    # that as a reset. Only uploads, only then.
    db_windows = node_windows(args.timeline, "db-down", "db-up")
    cut_uploads = [e for e in tally.conn_errors if e[1] == "upload" and any(a <= e[0] <= b for a, b in db_windows)]
    if cut_uploads:
        print(f"cluster-load: uploads cut short by an early 503 while the database restarted: {len(cut_uploads)}")
    for t, op, what in tally.conn_errors:
        if (t, op, what) in cut_uploads:
            continue
        if not any(a <= t <= b for a, b in windows):
            tally.breach(f"{op}: a connection error ({what}) at +{t - started:.1f} s, while every node was up")

    def counted(op):
        parts = [f"{outcome} x {n}" for (o, outcome), n in sorted(tally.counts.items()) if o == op]
        return ", ".join(parts) or "none"

    print(f"cluster-load: {load_seconds:.0f} s of load, {args.threads} threads, {args.kib} KiB uploads")
    print(f"cluster-load: uploads: {counted('upload')}")
    print(f"cluster-load: downloads during the load (bytes checked on each 200): {counted('download')}")
    print(f"cluster-load: acknowledged uploads: {len(tally.acked)}", flush=True)
    checked = check_all(args, token, tally)
    print(f"cluster-load: after the load, downloaded directly from {len(args.node)} nodes and checked: "
          f"{checked} of {len(tally.acked) * len(args.node)}")
    if tally.breaches:
        print(f"cluster-load: {len(tally.breaches)} breaches", file=sys.stderr)
        sys.exit(1)
    if not tally.acked:
        sys.exit("cluster-load: no upload was acknowledged")


if __name__ == "__main__":
    main()
