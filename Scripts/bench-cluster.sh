#!/usr/bin/env bash
# Several-node benchmark: prints figures, asserts nothing about speed (no timed tests), but fails
# loudly if any request gets a non-2xx answer or a download differs.
#
#   bash Scripts/bench-cluster.sh [--quick] [--no-build]
#
# In one run, on loopback, BENCH_FILE_KIB KiB (200) text uploads and downloads of the same size
# from BENCH_CLIENTS (16) clients for BENCH_SECONDS (10) each, through:
#   - one node on the embedded store (a store folder: SQLite, blobs as files);
#   - one node on PostgreSQL + SeaweedFS (Scripts/lib/cluster.sh, node 1 directly);
#   - two nodes on PostgreSQL + SeaweedFS behind nginx (round robin);
#   - and SeaweedFS alone: boto3 PUT and GET of the same bytes from as many threads, without
#     Strongroom (as Scripts/bench-s3.sh does);
# then one BENCH_BIG_MIB MiB (1 GiB) upload through one fresh node with its blobs in SeaweedFS
# (a multipart upload), with that node's peak RSS (VmHWM in /proc/PID/status).
# Load tool: wrk (Debian's), with Lua scripts that count every status, as Scripts/bench-http.sh;
# downloads read 4 records round robin, each an audit event made durable.
# --quick: 3 s each and 64 MiB, to check the script itself. MB = 10^6 bytes.
set -euo pipefail

ORIG_ARGS=("$@")
cd "$(dirname "$0")/.."
NAME=bench-cluster
source Scripts/lib/bench.sh
source Scripts/lib/cluster.sh
parse_bench_args 19 "$@"
DURATION=${BENCH_SECONDS:-10}; CLIENTS=${BENCH_CLIENTS:-16}; FILE_KIB=${BENCH_FILE_KIB:-200}
BIG_MIB=${BENCH_BIG_MIB:-1024}; TIMEOUT=${BENCH_TIMEOUT:-900}
if [ "$QUICK" = 1 ]; then DURATION=${BENCH_SECONDS:-3}; BIG_MIB=${BENCH_BIG_MIB:-64}; fi
for v in DURATION CLIENTS FILE_KIB BIG_MIB TIMEOUT; do
    case "${!v}" in ''|*[!0-9]*) echo "$NAME: $v must be a number" >&2; exit 64 ;; esac
done
[ "$DURATION" -ge 1 ] && [ "$DURATION" -le 600 ] && [ "$CLIENTS" -ge 2 ] && [ "$CLIENTS" -le 256 ] \
    && [ "$FILE_KIB" -ge 1 ] && [ "$FILE_KIB" -le 65536 ] && [ "$BIG_MIB" -ge 1 ] && [ "$BIG_MIB" -le 8192 ] \
    || { echo "$NAME: 1-600 s, 2-256 clients, 1-65536 KiB, 1-8192 MiB" >&2; exit 64; }
COMMAND="bash Scripts/bench-cluster.sh${ORIG_ARGS[*]:+ ${ORIG_ARGS[*]}}"
for v in BENCH_SECONDS BENCH_CLIENTS BENCH_FILE_KIB BENCH_BIG_MIB BENCH_TMPDIR BENCH_TIMEOUT; do
    if [ -n "${!v:-}" ]; then COMMAND="$v=${!v} $COMMAND"; fi
done
die() { echo "$NAME: $*" >&2; exit 1; }

bash Scripts/setup.sh
ensure_gnu_time
command -v wrk >/dev/null || { log "apt-get install wrk"; env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null \
    || { apt-get update -qq && env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }; }
python3 -c "import boto3" 2>/dev/null || { log "pip install boto3 (the object store's own baseline)"; python3 -m pip install -q boto3 >/dev/null; }
build_release
BUILT_FROM="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+dirty')"
scratch_folder $(( BIG_MIB * 3 + 1024 ))
chmod 711 "$WORK"   # PostgreSQL's own user must pass through to its data
SRV_PID=""
cleanup() {
    local code=$?
    if [ -n "$SRV_PID" ]; then kill "$SRV_PID" 2>/dev/null || true; wait "$SRV_PID" 2>/dev/null || true; fi
    cluster_down
    rm -rf -- "$WORK"
    exit $code
}
trap cleanup EXIT
unset STRONGROOM_STORE STRONGROOM_MASTER_KEY STRONGROOM_METADATA STRONGROOM_BLOBS STRONGROOM_CONFIG
export STRONGROOM_ACTOR=bench:cli

# ---- inputs and wrk scripts -------------------------------------------------------------------
log "inputs: a $FILE_KIB KiB text file and $BIG_MIB MiB of text"
make_text() { # PATH BYTES: printable lines (base64 of random bytes), sniffed as text/plain
    python3 - "$1" "$2" <<'PY'
import base64, os, sys
path, n = sys.argv[1], int(sys.argv[2])
head = b"Strongroom several-node benchmark: base64 lines of random bytes.\n"
block = b"".join(base64.b64encode(os.urandom(57)) + b"\n" for _ in range(16384))
with open(path, "wb") as f:
    f.write(head[:n]); left = n - min(n, len(head))
    while left > 0:
        part = block[:left]; f.write(part); left -= len(part)
PY
}
SMALL="$WORK/small.txt"; make_text "$SMALL" $((FILE_KIB * 1024))
BIG="$WORK/big.txt"; make_text "$BIG" $((BIG_MIB * 1024 * 1024))
SMALL_BYTES=$(stat -c %s "$SMALL"); BIG_BYTES=$(stat -c %s "$BIG")

cat >"$WORK/common.lua" <<'LUA'
local threads = {}
function setup(thread)
    thread:set("tid", #threads + 1)
    table.insert(threads, thread)
end
headers = { ["Authorization"] = os.getenv("BENCH_AUTH") }
counter = 0
statuses = {}
function count(status)
    local k = tostring(status)
    statuses[k] = (statuses[k] or 0) + 1
end
function done(summary, latency, requests)
    local bad, parts = 0, {}
    local counts = {}
    for _, t in ipairs(threads) do
        for k, v in pairs(t:get("statuses") or {}) do counts[k] = (counts[k] or 0) + v end
    end
    for k, v in pairs(counts) do
        parts[#parts + 1] = k .. "x" .. v
        if tonumber(k) < 200 or tonumber(k) > 299 then bad = bad + v end
    end
    local e = summary.errors
    io.write(string.format("RESULT requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d bad=%d errors=%d statuses=%s\n",
        summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(99),
        bad + e.status, e.connect + e.read + e.write + e.timeout, #parts > 0 and table.concat(parts, ",") or "-"))
end
LUA
{ cat "$WORK/common.lua"; cat <<'LUA'
-- args: BODYFILE; each upload a new filename
function init(args)
    local f = assert(io.open(args[1], "rb")); body = f:read("*a"); f:close()
    headers["Content-Type"] = "text/plain"
end
function request()
    counter = counter + 1
    return wrk.format("POST", "/v1/attachments?school=S1&child=C1&concern=K1&kind=minutes&filename=b" .. tid .. "-" .. counter .. ".txt", headers, body)
end
function response(status, hdrs, resp) count(status) end
LUA
} >"$WORK/upload.lua"
{ cat "$WORK/common.lua"; cat <<'LUA'
-- args: ID...; round robin
function init(args)
    ids = {}
    for i = 1, #args do ids[#ids + 1] = args[i] end
    counter = tid
end
function request()
    counter = counter + 1
    return wrk.format("GET", "/v1/attachments/" .. ids[(counter % #ids) + 1], headers)
end
function response(status, hdrs, resp) count(status) end
LUA
} >"$WORK/download.lua"

# run_wrk NAME URL SCRIPT ARGS...: sets NAME_rps, NAME_mbs, NAME_p99 (ms); dies on any failure.
run_wrk() {
    local name=$1 url=$2 script=$3; shift 3
    timeout $((DURATION + 120)) wrk -t2 -c"$CLIENTS" -d"${DURATION}s" --timeout 60s --latency -s "$script" "$url" -- "$@" \
        >"$WORK/$name.wrk" 2>&1 || { cat "$WORK/$name.wrk" >&2; die "wrk '$name' failed"; }
    local line kv
    line=$(grep '^RESULT ' "$WORK/$name.wrk") || { cat "$WORK/$name.wrk" >&2; die "wrk '$name' printed no RESULT"; }
    for kv in ${line#RESULT }; do printf -v "w_${kv%%=*}" '%s' "${kv#*=}"; done
    [ "$w_bad" = 0 ] && [ "$w_errors" = 0 ] && [ "$w_requests" -gt 0 ] \
        || die "'$name' had failures: ${line#RESULT } (server logs in $WORK)"
    printf -v "${name}_rps" '%s' "$(awk -v n="$w_requests" -v d="$w_duration_us" 'BEGIN {printf "%.0f", n / (d / 1e6)}')"
    printf -v "${name}_mbs" '%s' "$(awk -v n="$w_requests" -v b="$SMALL_BYTES" -v d="$w_duration_us" 'BEGIN {printf "%.1f", n * b / 1e6 / (d / 1e6)}')"
    printf -v "${name}_p99" '%s' "$(awk -v u="$w_p99_us" 'BEGIN {printf "%.0f", u / 1000}')"
}

# seed URL: uploads 4 records through URL, checks one comes back whole; sets IDS.
seed() {
    local url=$1 i
    IDS=()
    for i in 1 2 3 4; do
        IDS+=("$(curl -fsS -H "Authorization: $BENCH_AUTH" -H 'Content-Type: text/plain' --data-binary @"$SMALL" \
            "$url/v1/attachments?school=S1&child=C2&concern=K1&kind=minutes&filename=seed$i.txt" |
            python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')")
    done
    curl -fsS -o "$WORK/check.txt" -H "Authorization: $BENCH_AUTH" "$url/v1/attachments/${IDS[0]}"
    cmp -s "$SMALL" "$WORK/check.txt" || die "a download through $url differs from its upload"
}

# round NAME URL: uploads then downloads through URL.
round() {
    log "$1: uploads, $CLIENTS clients, $DURATION s"
    sync
    run_wrk "$1_up" "$2" "$WORK/upload.lua" "$SMALL"
    seed "$2"
    log "$1: downloads, $CLIENTS clients, $DURATION s"
    run_wrk "$1_down" "$2" "$WORK/download.lua" "${IDS[@]}"
}

# ---- one node, store folder -------------------------------------------------------------------
log "the embedded store: one node, a store folder"
"$SR" init --store "$WORK/embedded" >/dev/null
BENCH_AUTH="Bearer $("$SR" user add bench.dsl --api-token --role dsl --school S1 --store "$WORK/embedded")"
export BENCH_AUTH
port=$(cluster_free_port)
"$SR" serve --store "$WORK/embedded" --port "$port" >"$WORK/embedded.log" 2>&1 &
SRV_PID=$!
cluster_wait_healthy "http://127.0.0.1:$port" "$SRV_PID" 60 || { tail -5 "$WORK/embedded.log" >&2; die "serve did not start"; }
round embedded "http://127.0.0.1:$port"
kill -TERM "$SRV_PID"; wait "$SRV_PID" || true; SRV_PID=""
rm -rf "$WORK/embedded"

# ---- PostgreSQL + SeaweedFS: one node, then two behind nginx ----------------------------------
log "PostgreSQL + SeaweedFS with two nodes and nginx"
# Room for the big upload, through nginx as through the nodes.
CLUSTER_MAX_UPLOAD_BYTES=$(( (BIG_MIB + 64) * 1024 * 1024 ))
cluster_up "$WORK/cluster" "$SR" 2 2>"$WORK/cluster-up.log" || { cat "$WORK/cluster-up.log" >&2; die "the cluster did not start"; }
BENCH_AUTH="Bearer $("$SR" user add bench.dsl --api-token --role dsl --school S1)"
round one "${CLUSTER_NODE_URL[1]}"
round two "$CLUSTER_URL"

# ---- SeaweedFS alone --------------------------------------------------------------------------
log "SeaweedFS alone: boto3 PUT and GET, $CLIENTS threads, $DURATION s each"
python3 - "$STRONGROOM_BLOBS" "$SMALL" "$CLIENTS" "$DURATION" >"$WORK/raw.txt" <<'PY'
import sys, time, threading, urllib.parse, boto3
from botocore.config import Config
url = urllib.parse.urlparse(sys.argv[1]); q = urllib.parse.parse_qs(url.query)
threads, seconds = int(sys.argv[3]), float(sys.argv[4])
s3 = boto3.client("s3", endpoint_url=q["endpoint"][0], region_name=q.get("region", ["us-east-1"])[0],
                  config=Config(s3={"addressing_style": "path"}, max_pool_connections=threads))
data = open(sys.argv[2], "rb").read()
prefix = f"raw-{time.time()}/"
def run(op):
    counts = [0] * threads
    end = time.time() + seconds
    def loop(t):
        i = 0
        while time.time() < end:
            key = f"{prefix}{t}-{i if op == 'put' else i % 4}"
            if op == "put":
                s3.put_object(Bucket=url.netloc, Key=key, Body=data)
            else:
                assert s3.get_object(Bucket=url.netloc, Key=key)["Body"].read() == data
            i += 1; counts[t] += 1
    t0 = time.time()
    ts = [threading.Thread(target=loop, args=(t,)) for t in range(threads)]
    for t in ts: t.start()
    for t in ts: t.join()
    print(f"raw_{op}_rps={sum(counts) / (time.time() - t0):.0f}")
    print(f"raw_{op}_mbs={sum(counts) * len(data) / 1e6 / (time.time() - t0):.1f}")
run("put"); run("get")
PY
while IFS='=' read -r k v; do printf -v "$k" '%s' "$v"; done <"$WORK/raw.txt"

# ---- 1 GiB through one fresh node -------------------------------------------------------------
big_label="${BIG_MIB} MiB"; [ "$BIG_MIB" = 1024 ] && big_label="1 GiB"
log "$big_label through node 1, started afresh, blobs in SeaweedFS"
cluster_node_stop 1
cluster_node_start 1
sync
t0=$(date +%s%N)
curl -fsS --max-time "$TIMEOUT" -H 'Expect:' -H "Authorization: $BENCH_AUTH" -H 'Content-Type: text/plain' -X POST -T "$BIG" \
    -o "$WORK/big.json" "${CLUSTER_NODE_URL[1]}/v1/attachments?school=S1&child=C3&concern=K1&kind=document&filename=big.txt" \
    || die "the $big_label upload failed"
t1=$(date +%s%N)
BIG_HWM=$(awk '$1 == "VmHWM:" {print $2}' "/proc/${CLUSTER_NODE_PID[1]}/status")
big_id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/big.json")
curl -fsS --max-time "$TIMEOUT" -H "Authorization: $BENCH_AUTH" -o "$WORK/big.out" "${CLUSTER_NODE_URL[1]}/v1/attachments/$big_id"
cmp -s "$BIG" "$WORK/big.out" || die "the $big_label download differs from its upload"
rm -f "$WORK/big.out"
BIG_MBS=$(awk -v b="$BIG_BYTES" -v a="$t0" -v z="$t1" 'BEGIN {printf "%.0f", b / 1e6 / ((z - a) / 1e9)}')

# ---- table ------------------------------------------------------------------------------------
row() { printf '| %s | %s files/s | %s MB/s | %s ms | %s files/s | %s MB/s | %s ms |\n' "$@"; }
cat <<REPORT

Several-node benchmark ($(date -u +%Y-%m-%dT%H:%MZ), commit $BUILT_FROM, $(nproc) cores, $FS; all on loopback:
wrk, nginx, the nodes, PostgreSQL $("$POSTGRES_BIN/postgres" --version | awk '{print $3}') and SeaweedFS $("$SEAWEEDFS_WEED" version 2>/dev/null | head -1 | awk '{print $3}') share the cores)
Command: $COMMAND
$FILE_KIB KiB text files, $CLIENTS clients (wrk -t2 -c$CLIENTS), $DURATION s each; every download is an audit event made durable.

| setup | uploads | upload MB/s | upload p99 | downloads | download MB/s | download p99 |
| --- | --- | --- | --- | --- | --- | --- |
$(row "one node, embedded store (store folder)" "$embedded_up_rps" "$embedded_up_mbs" "$embedded_up_p99" "$embedded_down_rps" "$embedded_down_mbs" "$embedded_down_p99")
$(row "one node, PostgreSQL + SeaweedFS" "$one_up_rps" "$one_up_mbs" "$one_up_p99" "$one_down_rps" "$one_down_mbs" "$one_down_p99")
$(row "two nodes behind nginx, PostgreSQL + SeaweedFS" "$two_up_rps" "$two_up_mbs" "$two_up_p99" "$two_down_rps" "$two_down_mbs" "$two_down_p99")
| SeaweedFS alone (boto3 PUT / GET, $CLIENTS threads) | $raw_put_rps files/s | $raw_put_mbs MB/s | | $raw_get_rps files/s | $raw_get_mbs MB/s | |

$big_label upload through one node (curl), blobs in SeaweedFS (multipart): $BIG_MBS MB/s, the node's peak RSS $((BIG_HWM / 1024)) MiB.
REPORT
