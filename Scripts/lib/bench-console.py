"""The console benchmark's client (run by Scripts/bench-console.sh with Debian's python3)."""
import argparse, base64, hashlib, hmac, http.client, json, os, random, struct, sys, threading, time, urllib.parse

args = argparse.ArgumentParser()
for name in ["port", "token", "enrol", "records", "photo", "pdf", "assets", "quick"]:
    args.add_argument("--" + name, required=True)
a = args.parse_args()
port, records, quick = int(a.port), int(a.records), a.quick == "1"
origin = f"http://localhost:{port}"


def request(method, path, body=None, headers=None, expect=(200, 201, 204)):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    h = dict(headers or {})
    start = time.perf_counter()
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    took = time.perf_counter() - start
    c.close()
    if r.status not in expect:
        sys.exit(f"bench-console: {method} {path} answered {r.status}: {data[:300]!r}")
    return r, data, took


def bearer(extra=None):
    return {"Authorization": "Bearer " + a.token, **(extra or {})}


def upload(n):
    body = f"Note {n}: concern recorded by staff after lunch.\n".encode()
    q = urllib.parse.urlencode({"school": "S1", "child": "C1", "concern": f"K{n % 20}", "kind": "disclosure", "filename": f"note-{n}.txt"})
    request("POST", "/v1/attachments?" + q, body, bearer({"Content-Type": "text/plain"}))


def seed():
    start = time.time()
    counter = iter(range(records))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            upload(n)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    print(f"seeded {records} records for one child over HTTP in {time.time() - start:.0f} s (4 clients)")


def percentiles(samples):
    s = sorted(samples)
    pick = lambda p: s[min(len(s) - 1, int(round(p * (len(s) - 1))))]
    return pick(0.5) * 1000, pick(0.99) * 1000


def totp(secret_b32, step):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    o = digest[-1] & 15
    return "%06d" % ((struct.unpack(">I", digest[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)


def session_cookie():
    """Enrols the benchmark's person with a passphrase and an authenticator, then signs in."""
    token = a.enrol.rstrip("/").rsplit("/", 1)[-1]
    json_headers = {"Content-Type": "application/json", "Origin": origin}
    passphrase = "correct horse battery staple bench"
    _, data, _ = request("POST", f"/v1/enrolment/{token}/passphrase", json.dumps({"passphrase": passphrase}), json_headers)
    secret = json.loads(data)["totpSecret"]
    _, data, _ = request("POST", f"/v1/enrolment/{token}/totp", json.dumps({"code": totp(secret, int(time.time()) // 30)}), json_headers)
    recovery = json.loads(data)["recoveryCodes"][0]
    r, _, _ = request("POST", "/v1/session", json.dumps({"name": "bench-person", "passphrase": passphrase, "recoveryCode": recovery}), json_headers)
    return r.getheader("Set-Cookie").split(";", 1)[0]


def table(rows):
    width = max(len(r[0]) for r in rows)
    for label, p50, p99, n in rows:
        print(f"  {label.ljust(width)}  p50 {p50:8.1f} ms   p99 {p99:8.1f} ms   ({n} requests)")


seed()
pages = max(1, records // 50)
rows = []
n = 50 if quick else 200
times = [request("GET", f"/v1/children/C1/attachments?school=S1&limit=50&offset={random.randrange(pages) * 50}", headers=bearer())[2] for _ in range(n)]
rows.append(("chronology page, 50 of %d records, JSON" % records, *percentiles(times), n))

cookie = session_cookie()
probe, _, _ = request("GET", "/children/C1?school=S1", headers={"Cookie": cookie}, expect=(200, 302, 303, 404))
if probe.status == 200:
    times = [request("GET", f"/children/C1?school=S1&page={random.randrange(pages) + 1}", headers={"Cookie": cookie})[2] for _ in range(n)]
    rows.append(("chronology page, 50 of %d records, console HTML" % records, *percentiles(times), n))
else:
    print(f"(the console has no chronology page in this build: /children answered {probe.status})")

for label, path, kind, mime in [("preview of a 12-megapixel JPEG", a.photo, "disclosure", "image/jpeg"),
                                ("preview of a PDF page", a.pdf, "minutes", "application/pdf")]:
    body = open(path, "rb").read()
    q = urllib.parse.urlencode({"school": "S1", "child": "C2", "concern": "K1", "kind": kind, "filename": os.path.basename(path)})
    _, data, _ = request("POST", "/v1/attachments?" + q, body, bearer({"Content-Type": mime}))
    record = json.loads(data)["id"]
    reps = 5 if quick else 20
    times = []
    for _ in range(reps):
        r, png, took = request("GET", f"/v1/attachments/{record}/preview", headers=bearer())
        times.append(took)
    rows.append((f"{label} ({len(body) / 1e6:.1f} MB in, {len(png) / 1e3:.0f} kB PNG out)", *percentiles(times), reps))
    # The same, with one box drawn: redacted by the release's own code at full size, then scaled.
    box = [100, 100, 400, 200] if kind == "disclosure" else [50, 50, 200, 40, 1]
    choice = json.dumps({"mode": "redacted", "rects": [box]}).encode()
    times = []
    for _ in range(reps):
        r, png, took = request("POST", f"/v1/attachments/{record}/redaction-preview", choice, bearer({"Content-Type": "application/json"}))
        times.append(took)
    rows.append((f"{label} with a box drawn, as it will be sent", *percentiles(times), reps))

print()
print("time to the whole answer on loopback:")
table(rows)

total = sent = 0
names = sorted(f for f in os.listdir(a.assets) if f.endswith((".js", ".css")))
for name in names:
    _, data, _ = request("GET", "/assets/" + name)
    total += len(data)
    r, data, _ = request("GET", "/assets/" + name, headers={"Accept-Encoding": "gzip, deflate, br"})
    if r.getheader("Content-Encoding") != "gzip":
        sys.exit(f"bench-console: /assets/{name} was not sent compressed to a browser that takes gzip")
    sent += len(data)
print(f"\nscript and style the console sends: {sent / 1024:.1f} KiB in {len(names)} files to a browser (gzip; aim: under 100 KiB); "
      f"{total / 1024:.1f} KiB uncompressed")
