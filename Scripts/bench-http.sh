#!/usr/bin/env bash
# HTTP benchmark of `strongroom serve`: prints figures, asserts nothing about speed (no timed
# tests), but fails loudly if any request gets a non-2xx answer or a download differs.
#
#   bash Scripts/bench-http.sh [--quick] [--no-build]
#
# Measures, in one run and side by side with nginx on loopback as the plain-file baseline
# (WebDAV PUT to disk and GET of the same files: no encryption, no fsync, no audit):
#   - 200 KiB PNG uploads from 16 concurrent clients (wrk) for 10 s: requests/s, p50 and p99
#     (targets: >= 20% of nginx's PUT rate, p99 <= 50 ms);
#   - 200 KiB downloads of the same few records from 16 clients for 10 s, each one a durable
#     audit event (target: >= 20% of nginx's GET rate);
#   - one 1 GiB text upload and download with curl, MB/s (target: upload >= 60% of nginx's PUT);
#   - the server's peak RSS (VmHWM) during one 4 GiB upload, in a fresh server (< 100 MiB).
#
# Environment (all optional): BENCH_SECONDS (default 10), BENCH_CLIENTS (16), BENCH_THREADS
# (wrk threads, default 2), BENCH_FILE_KIB (200), BENCH_BIG_MIB (1024), BENCH_HUGE_MIB (4096),
# BENCH_TMPDIR (parent of the scratch folder, default /tmp), BENCH_TIMEOUT (seconds per
# command, default 900). --quick: 3 s, 256 MiB and 512 MiB, to check the script itself.
# MB = 10^6 bytes. Servers are stopped and temp data removed on exit, also on failure or Ctrl-C.
set -euo pipefail

ORIG_ARGS=("$@")
cd "$(dirname "$0")/.."
REPO=$(pwd)

source Scripts/lib/bench.sh
parse_bench_args 21 "$@"

DURATION=${BENCH_SECONDS:-10}
CLIENTS=${BENCH_CLIENTS:-16}
THREADS=${BENCH_THREADS:-2}
FILE_KIB=${BENCH_FILE_KIB:-200}
BIG_MIB=${BENCH_BIG_MIB:-1024}
HUGE_MIB=${BENCH_HUGE_MIB:-4096}
TIMEOUT=${BENCH_TIMEOUT:-900}
if [ "$QUICK" = 1 ]; then
    DURATION=${BENCH_SECONDS:-3}; BIG_MIB=${BENCH_BIG_MIB:-256}; HUGE_MIB=${BENCH_HUGE_MIB:-512}
fi
for v in DURATION CLIENTS THREADS FILE_KIB BIG_MIB HUGE_MIB TIMEOUT; do
    case "${!v}" in ''|*[!0-9]*) echo "bench-http: $v must be a number" >&2; exit 64 ;; esac
done
[ "$DURATION" -ge 1 ] && [ "$DURATION" -le 600 ] || { echo "bench-http: BENCH_SECONDS must be 1-600" >&2; exit 64; }
[ "$CLIENTS" -ge 1 ] && [ "$CLIENTS" -le 1024 ] || { echo "bench-http: BENCH_CLIENTS must be 1-1024" >&2; exit 64; }
[ "$THREADS" -ge 1 ] && [ "$THREADS" -le 64 ] && [ "$THREADS" -le "$CLIENTS" ] \
    || { echo "bench-http: BENCH_THREADS must be 1-64 and at most BENCH_CLIENTS" >&2; exit 64; }
[ "$FILE_KIB" -ge 1 ] && [ "$FILE_KIB" -le 65536 ] || { echo "bench-http: BENCH_FILE_KIB must be 1-65536" >&2; exit 64; }
[ "$BIG_MIB" -ge 1 ] && [ "$BIG_MIB" -le 8192 ] || { echo "bench-http: BENCH_BIG_MIB must be 1-8192" >&2; exit 64; }
[ "$HUGE_MIB" -ge 1 ] && [ "$HUGE_MIB" -le 8192 ] || { echo "bench-http: BENCH_HUGE_MIB must be 1-8192" >&2; exit 64; }

COMMAND="bash Scripts/bench-http.sh${ORIG_ARGS[*]:+ ${ORIG_ARGS[*]}}"
for v in BENCH_SECONDS BENCH_CLIENTS BENCH_THREADS BENCH_FILE_KIB BENCH_BIG_MIB BENCH_HUGE_MIB BENCH_TMPDIR BENCH_TIMEOUT; do
    if [ -n "${!v:-}" ]; then COMMAND="$v=${!v} $COMMAND"; fi
done

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { echo "bench-http: $*" >&2; exit 1; }

# ---- prerequisites (quiet; only what is missing) ----------------------------------------------
if [ -f Scripts/setup.sh ]; then bash Scripts/setup.sh; fi
missing=()
[ -x /usr/bin/time ] || missing+=(time)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
command -v file >/dev/null || missing+=(file)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    inst() { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
    # nginx-light is gone from newer Debian releases: fall back to nginx.
    inst "${missing[@]}" || { $SUDO apt-get update -qq >/dev/null && inst "${missing[@]}"; } \
        || inst "${missing[@]/nginx-light/nginx}"
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] && command -v wrk >/dev/null || die "nginx or wrk is still missing"

# ---- build ------------------------------------------------------------------------------------
SCRATCH=.build-bench
if [ "$BUILD" = 1 ]; then
    log "swift build -c release --scratch-path $SCRATCH (several minutes on 2 cores when cold)"
    swift build -c release --scratch-path "$SCRATCH" >"$SCRATCH.log" 2>&1 || { mkdir -p "$SCRATCH"; tail -40 "$SCRATCH.log" >&2; exit 1; }
    mv -f "$SCRATCH.log" "$SCRATCH/bench-build.log"
fi
BIN=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)
# The tree the binary was built from (the table is printed minutes later).
BUILT_FROM="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+dirty')"
SR="$BIN/strongroom"
[ -x "$SR" ] || die "$SR missing (build first)"

# ---- scratch folder ---------------------------------------------------------------------------
PARENT=${BENCH_TMPDIR:-/tmp}
log "free space: $(df -h "$PARENT" | awk 'NR==2 {print $4" of "$2" on "$6}')"
# The big file, its nginx copy, its stored copy and the download; the huge file and its stored
# copy; nginx's PUTs (bounded by a generous 4,000 requests/s) and Strongroom's; 1 GiB to spare.
need_kib=$(( (BIG_MIB * 4 + HUGE_MIB * 2 + 1024) * 1024 + DURATION * FILE_KIB * 4000 + DURATION * FILE_KIB * 2000 ))
avail_kib=$(df -Pk "$PARENT" | awk 'NR==2 {print $4}')
if [ "$avail_kib" -lt "$need_kib" ]; then
    die "$PARENT has $((avail_kib / 1024)) MiB free; this run needs about $((need_kib / 1024)) MiB"
fi
WORK=$(mktemp -d "$PARENT/strongroom-bench-http.XXXXXX")
SRV_PID=""
NGX_PID=""
stop_pid() { # PID SIGNAL: signals one process we started and waits for it
    local pid=$1 sig=$2
    [ -n "$pid" ] || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local code=$?
    stop_pid "$SRV_PID" TERM
    stop_pid "$NGX_PID" QUIT
    rm -rf -- "$WORK"
    exit $code
}
trap cleanup EXIT
trap 'exit 130' INT TERM
FS=$(df -PT "$WORK" | awk 'NR==2 {print $1" ("$2")"}')
TICK=$(getconf CLK_TCK)
NCPU=$(nproc)

# cpu_all: busy and total clock ticks of the whole machine (all cores), from /proc/stat.
cpu_all() { awk '$1 == "cpu" {t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }
# busy_pct BUSY0 TOTAL0 BUSY1 TOTAL1: % of the whole machine busy between two cpu_all samples.
busy_pct() { awk -v b0="$1" -v t0="$2" -v b1="$3" -v t1="$4" 'BEGIN {printf "%.0f", (t1 > t0 ? 100 * (b1 - b0) / (t1 - t0) : 0)}'; }

# Other work on the machine skews every figure: measure it for 2 s and say so.
m0=$(cpu_all); sleep 2; m1=$(cpu_all)
IDLE_BUSY=$(busy_pct $m0 $m1)
if [ "$IDLE_BUSY" -gt 10 ]; then
    log "warning: the machine is already ${IDLE_BUSY}% busy before the run; figures will be low and noisy:"
    ps -eo pcpu,pid,args --sort=-pcpu | head -4 | cut -c1-120 >&2
fi

flush() { sync; sleep 1; }

# cpu_ticks PID...: user+system clock ticks used so far by these processes.
cpu_ticks() {
    local t=0 p f
    for p in "$@"; do
        f=$(cut -d')' -f2 "/proc/$p/stat" 2>/dev/null) || continue
        t=$((t + $(awk '{print $12 + $13}' <<<"$f")))
    done
    echo "$t"
}
ngx_pids() { echo "$NGX_PID"; pgrep -P "$NGX_PID" || true; }
srv_pids() { echo "$SRV_PID"; }
vm() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }  # PID FIELD: KiB

# ---- inputs -----------------------------------------------------------------------------------
# A real PNG (random pixels, stored uncompressible) of about FILE_KIB KiB, and text files of
# printable ASCII lines (libmagic sniffs text/plain; base64 holds no markup characters).
log "generating inputs in $WORK: a ${FILE_KIB} KiB PNG, ${BIG_MIB} MiB of text"
PNG="$WORK/small.png"
python3 - "$PNG" "$FILE_KIB" <<'PY'
import os, struct, sys, zlib
path, kib = sys.argv[1], int(sys.argv[2])
w = 320
h = max(1, (kib * 1024 - 100) // (w * 3 + 1))
raw = b"".join(b"\x00" + os.urandom(w * 3) for _ in range(h))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
open(path, "wb").write(png)
PY
make_text() { # PATH MIB
    python3 - "$1" "$2" <<'PY'
import base64, os, sys
path, n = sys.argv[1], int(sys.argv[2]) * 1024 * 1024
head = b"Strongroom HTTP benchmark: printable ASCII text, one base64 line after another.\n"
block = b"".join(base64.b64encode(os.urandom(57)) + b"\n" for _ in range(16384))
with open(path, "wb") as f:
    f.write(head[:n]); left = n - min(n, len(head))
    while left > 0:
        part = block[:left]; f.write(part); left -= len(part)
PY
}
BIG="$WORK/big.txt"
make_text "$BIG" "$BIG_MIB"
PNG_BYTES=$(stat -c %s "$PNG")
BIG_BYTES=$(stat -c %s "$BIG")
HUGE_BYTES=$((HUGE_MIB * 1024 * 1024))
mime=$(file -b --mime-type "$PNG"); [ "$mime" = image/png ] || die "libmagic calls the PNG $mime"
mime=$(file -b --mime-type "$BIG"); [ "$mime" = text/plain ] || die "libmagic calls the text $mime"

# ---- wrk scripts ------------------------------------------------------------------------------
# Both send the same headers to both servers (nginx ignores Authorization). The upload script
# counts every status in Lua (bodies are small); the download one leaves bodies to wrk's C code
# (copying 200 KiB into Lua per response would slow the client) and relies on wrk's count of
# statuses >= 400 plus the byte count. Each prints one RESULT line.
cat >"$WORK/common.lua" <<'LUA'
local threads = {}
function setup(thread)
    thread:set("tid", #threads + 1)
    table.insert(threads, thread)
end
headers = {}
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then headers["Authorization"] = auth end
counter = 0
statuses = {}
sample = ""
function done(summary, latency, requests)
    local counts, bad, first = {}, 0, ""
    for _, t in ipairs(threads) do
        for k, v in pairs(t:get("statuses") or {}) do
            counts[k] = (counts[k] or 0) + v
            local n = tonumber(k)
            if n < 200 or n > 299 then bad = bad + v end
        end
        local s = t:get("sample")
        if first == "" and s and s ~= "" then first = s end
    end
    local parts = {}
    for k, v in pairs(counts) do parts[#parts + 1] = k .. "x" .. v end
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d max_us=%d non2xx=%d connect=%d read=%d write=%d status=%d timeout=%d statuses=%s\n",
        summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(99), latency.max,
        bad, e.connect, e.read, e.write, e.status, e.timeout, #parts > 0 and table.concat(parts, ",") or "-"))
    if first ~= "" then io.write("SAMPLE " .. (first:sub(1, 400):gsub("%s+", " ")) .. "\n") end
end
LUA
{ cat "$WORK/common.lua"; cat <<'LUA'
-- args: METHOD PREFIX SUFFIX BODYFILE CONTENT-TYPE; path = PREFIX <thread>-<n> SUFFIX
function init(args)
    method, prefix, suffix = args[1], args[2], args[3]
    local f = assert(io.open(args[4], "rb")); body = f:read("*a"); f:close()
    headers["Content-Type"] = args[5]
end
function request()
    counter = counter + 1
    return wrk.format(method, prefix .. tid .. "-" .. counter .. suffix, headers, body)
end
function response(status, hdrs, resp)
    local k = tostring(status)
    statuses[k] = (statuses[k] or 0) + 1
    if (status < 200 or status > 299) and sample == "" then sample = k .. " " .. (resp or "") end
    if status == 201 and method == "POST" and not string.find(resp or "", '"id"', 1, true) and sample == "" then
        sample = "201 without an id: " .. (resp or "")
    end
end
LUA
} >"$WORK/upload.lua"
{ cat "$WORK/common.lua"; cat <<'LUA'
-- args: PREFIX NAME...; each request gets the next name, round robin
function init(args)
    prefix = args[1]
    names = {}
    for i = 2, #args do names[#names + 1] = args[i] end
    counter = tid
end
function request()
    counter = counter + 1
    return wrk.format("GET", prefix .. names[(counter % #names) + 1], headers)
end
LUA
} >"$WORK/download.lua"

# run_wrk NAME PIDS-FUNCTION SCRIPT ARGS...: runs wrk; sets NAME_rps, _p50, _p99, _max (ms),
# _cpu (server CPU %, all its processes), _wcpu (wrk's CPU %), _mbusy (whole machine busy, % of
# all cores), _requests, _bytes and the other RESULT fields.
run_wrk() {
    local name=$1 pids=$2 script=$3; shift 3
    local c0 c1 t0 t1 line
    local m0 m1
    m0=$(cpu_all); c0=$(cpu_ticks $($pids)); t0=$(date +%s%N)
    if ! timeout $((DURATION + 120)) /usr/bin/time -f '%U %S' -o "$WORK/$name.time" \
        wrk -t"$THREADS" -c"$CLIENTS" -d"${DURATION}s" --timeout 60s --latency -s "$script" "$URL" -- "$@" \
        >"$WORK/$name.wrk" 2>&1; then
        cat "$WORK/$name.wrk" >&2; die "wrk '$name' failed"
    fi
    t1=$(date +%s%N); c1=$(cpu_ticks $($pids)); m1=$(cpu_all)
    line=$(grep '^RESULT ' "$WORK/$name.wrk") || { cat "$WORK/$name.wrk" >&2; die "wrk '$name' printed no RESULT"; }
    local k v
    for kv in ${line#RESULT }; do
        k=${kv%%=*}; v=${kv#*=}
        printf -v "${name}_$k" '%s' "$v"
    done
    local dur="${name}_duration_us" n="${name}_requests"
    printf -v "${name}_rps" '%s' "$(awk -v n="${!n}" -v d="${!dur}" 'BEGIN {printf "%.0f", n / (d / 1e6)}')"
    for k in p50 p99 max; do
        v="${name}_${k}_us"; printf -v "${name}_$k" '%s' "$(awk -v u="${!v}" 'BEGIN {printf "%.1f", u / 1000}')"
    done
    printf -v "${name}_cpu" '%s' "$(awk -v c=$((c1 - c0)) -v t="$TICK" -v s=$((t1 - t0)) 'BEGIN {printf "%.0f", 100 * c / t / (s / 1e9)}')"
    printf -v "${name}_mbusy" '%s' "$(busy_pct $m0 $m1)"
    printf -v "${name}_wcpu" '%s' "$(awk -v s=$((t1 - t0)) '{printf "%.0f", 100 * ($1 + $2) / (s / 1e9)}' "$WORK/$name.time")"
}

# check_wrk NAME MIN-BYTES-PER-RESPONSE: fails loudly on any non-2xx, socket error or short body.
check_wrk() {
    local name=$1 min=$2 v bad=0 k
    for k in non2xx connect read write status timeout; do
        v="${name}_$k"; [ "${!v}" = 0 ] || bad=1
    done
    v="${name}_requests"; [ "${!v}" -gt 0 ] || bad=1
    local bytes="${name}_bytes"
    if [ "${!v}" -gt 0 ] && [ "$(( ${!bytes} / ${!v} ))" -lt "$min" ]; then bad=1; fi
    if [ "$bad" = 1 ]; then
        echo "bench-http: FAILED: '$name' had failures: $(grep '^RESULT ' "$WORK/$name.wrk")" >&2
        grep '^SAMPLE ' "$WORK/$name.wrk" >&2 || true
        if [ -f "$WORK/serve.err" ]; then echo "--- server stderr (last 20 lines) ---" >&2; tail -20 "$WORK/serve.err" >&2; fi
        exit 1
    fi
}

# curl_xfer NAME CURL-ARGS...: one transfer; sets NAME_s (curl's total time) and checks the status.
curl_xfer() {
    local name=$1 want=$2; shift 2
    local out code s
    out=$(curl -sS --max-time "$TIMEOUT" -H 'Expect:' -w '%{http_code} %{time_total}' "$@") \
        || die "curl '$name' failed"
    code=${out%% *}; s=${out#* }
    case " $want " in *" $code "*) ;; *) die "'$name' answered HTTP $code (expected $want)" ;; esac
    printf -v "${name}_s" '%s' "$s"
}

# ---- nginx ------------------------------------------------------------------------------------
NG="$WORK/nginx"
mkdir -p "$NG/root/up" "$NG/root/get" "$NG/body" "$NG/tmp" "$NG/logs"
NGX_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
user_line=""; [ "$(id -u)" = 0 ] && user_line="user root;"
cat >"$NG/nginx.conf" <<EOF
$user_line
worker_processes auto;
daemon off;
pid $NG/nginx.pid;
error_log $NG/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $NG/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
    server {
        listen 127.0.0.1:$NGX_PORT;
        root $NG/root;
        location / {
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 0;
        }
    }
}
EOF
log "starting nginx on 127.0.0.1:$NGX_PORT"
"$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$NG/logs/error.log" &
NGX_PID=$!
NGX_URL="http://127.0.0.1:$NGX_PORT"
for ((i = 0; i < 100; i++)); do
    curl -s -o /dev/null "$NGX_URL/" && break
    kill -0 "$NGX_PID" 2>/dev/null || { cat "$NG/logs/error.log" >&2; die "nginx did not start"; }
    sleep 0.1
done

# ---- strongroom -------------------------------------------------------------------------------
STORE="$WORK/store"
export STRONGROOM_ACTOR=bench:cli
unset STRONGROOM_STORE STRONGROOM_MASTER_KEY STRONGROOM_CONFIG
"$SR" init --store "$STORE" >/dev/null
TOKEN=$("$SR" user add bench.dsl --api-token --role dsl --school S1 --store "$STORE" 2>/dev/null)
[ -n "$TOKEN" ] && [ "$(wc -l <<<"$TOKEN")" = 1 ] || die "user add printed no token"
export BENCH_AUTH="Bearer $TOKEN"

start_server() { # starts strongroom serve in the background; sets SRV_PID and SR_URL
    : >"$WORK/serve.out"
    "$SR" serve --store "$STORE" --port 0 --max-upload-bytes 8589934592 >"$WORK/serve.out" 2>>"$WORK/serve.err" &
    SRV_PID=$!
    local i
    for ((i = 0; i < 300; i++)); do
        if grep -q '^strongroom: serving ' "$WORK/serve.out"; then break; fi
        kill -0 "$SRV_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; SRV_PID=""; die "strongroom serve exited"; }
        sleep 0.1
    done
    SR_URL=$(sed -n 's/^strongroom: serving \(http:\/\/[^ ]*\).*/\1/p' "$WORK/serve.out" | head -1)
    [ -n "$SR_URL" ] || die "strongroom serve did not say where it listens"
}
stop_server() { # SIGTERM, wait; sets SRV_RC
    kill -TERM "$SRV_PID"
    SRV_RC=0; wait "$SRV_PID" || SRV_RC=$?
    SRV_PID=""
    [ "$SRV_RC" = 0 ] || log "warning: strongroom serve exited with status $SRV_RC after SIGTERM"
}

log "starting strongroom serve"
start_server
log "strongroom at $SR_URL (pid $SRV_PID, RSS at start $(vm "$SRV_PID" VmRSS) KiB)"
SRV_START_RSS=$(vm "$SRV_PID" VmRSS)
AUTH=(-H "Authorization: $BENCH_AUTH")
Q="school=S1&concern=K1"

# ---- 200 KiB uploads, 16 clients ---------------------------------------------------------------
flush
log "nginx: PUT ${FILE_KIB} KiB x $CLIENTS clients for ${DURATION} s"
URL=$NGX_URL run_wrk nup ngx_pids "$WORK/upload.lua" PUT /up/ .png "$PNG" image/png
check_wrk nup 0
# PUTs cut off by wrk's stop may still land for a moment: let them, then clear the folder.
sleep 2
rm -rf "$NG/root/up" || { sleep 2; rm -rf "$NG/root/up"; }
mkdir "$NG/root/up"
flush
log "strongroom: POST ${FILE_KIB} KiB x $CLIENTS clients for ${DURATION} s"
URL=$SR_URL run_wrk sup srv_pids "$WORK/upload.lua" POST \
    "/v1/attachments?$Q&child=C1&kind=body-map&filename=f" .png "$PNG" image/png
check_wrk sup 0
# What the server kept: at least every 201 (a request cut off by wrk's stop may also have landed).
stored=""
if "$SR" list --store "$STORE" --school S1 --child C1 --json >"$WORK/list.json" 2>"$WORK/list.err"; then
    stored=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["records"]))' "$WORK/list.json")
    [ "$stored" -ge "$sup_requests" ] || die "wrk saw $sup_requests uploads answered 201 but the store lists $stored records"
    log "store lists $stored records for $sup_requests 201 answers"
else
    log "warning: strongroom list while serving failed: $(tail -1 "$WORK/list.err")"
fi
rm -f "$WORK/list.json"

# ---- 200 KiB downloads, 16 clients -------------------------------------------------------------
# Four records (and four nginx files) of the same PNG, read round robin.
ids=(); names=()
for i in 1 2 3 4; do
    curl_xfer seed 201 -o "$WORK/seed.json" "${AUTH[@]}" -H 'Content-Type: image/png' --data-binary @"$PNG" \
        "$SR_URL/v1/attachments?$Q&child=C2&kind=body-map&filename=seed$i.png"
    ids+=("$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/seed.json")")
    curl_xfer seed "201 204" -o /dev/null -T "$PNG" "$NGX_URL/get/seed$i.png"
    names+=("seed$i.png")
done
curl -sS -o "$WORK/check.png" "${AUTH[@]}" "$SR_URL/v1/attachments/${ids[0]}"
cmp -s "$PNG" "$WORK/check.png" || die "strongroom download differs from the upload"
curl -sS -o "$WORK/check.png" "$NGX_URL/get/seed1.png"
cmp -s "$PNG" "$WORK/check.png" || die "nginx download differs from the upload"
rm -f "$WORK/check.png"
flush
log "nginx: GET ${FILE_KIB} KiB x $CLIENTS clients for ${DURATION} s"
URL=$NGX_URL run_wrk ndown ngx_pids "$WORK/download.lua" /get/ "${names[@]}"
check_wrk ndown "$PNG_BYTES"
flush
log "strongroom: GET ${FILE_KIB} KiB x $CLIENTS clients for ${DURATION} s (an audit event each)"
URL=$SR_URL run_wrk sdown srv_pids "$WORK/download.lua" /v1/attachments/ "${ids[@]}"
check_wrk sdown "$PNG_BYTES"
SRV_WRK_HWM=$(vm "$SRV_PID" VmHWM)

# ---- one big upload and download --------------------------------------------------------------
big_label="${BIG_MIB} MiB"; [ "$BIG_MIB" = 1024 ] && big_label="1 GiB"
flush
log "nginx: PUT and GET $big_label (curl)"
curl_xfer nbigput "201 204" -o /dev/null -T "$BIG" "$NGX_URL/up/big.txt"
flush
curl_xfer nbigget 200 -o "$WORK/out.txt" "$NGX_URL/up/big.txt"
cmp -s "$BIG" "$WORK/out.txt" || die "nginx GET of $big_label differs from the upload"
rm -f "$WORK/out.txt" "$NG/root/up/big.txt"
flush
log "strongroom: POST and GET $big_label (curl)"
curl_xfer sbigput 201 -o "$WORK/big.json" "${AUTH[@]}" -H 'Content-Type: text/plain' -X POST -T "$BIG" \
    "$SR_URL/v1/attachments?$Q&child=C3&kind=document&filename=big.txt"
big_id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/big.json")
flush
curl_xfer sbigget 200 -o "$WORK/out.txt" "${AUTH[@]}" "$SR_URL/v1/attachments/$big_id"
cmp -s "$BIG" "$WORK/out.txt" || die "strongroom GET of $big_label differs from the upload"
rm -f "$WORK/out.txt" "$BIG"
SRV_ALL_HWM=$(vm "$SRV_PID" VmHWM)
log "stopping strongroom (SIGTERM)"
stop_server
SRV_RC1=$SRV_RC

# ---- peak RSS during a huge upload, fresh server ----------------------------------------------
huge_label="${HUGE_MIB} MiB"; [ "$HUGE_MIB" = 4096 ] && huge_label="4 GiB"
log "generating $huge_label of text"
HUGE="$WORK/huge.txt"
make_text "$HUGE" "$HUGE_MIB"
flush
start_server
HUGE_START_RSS=$(vm "$SRV_PID" VmRSS)
log "strongroom: POST $huge_label to a fresh server (pid $SRV_PID), then read its VmHWM"
curl_xfer shugeput 201 -o "$WORK/huge.json" "${AUTH[@]}" -H 'Content-Type: text/plain' -X POST -T "$HUGE" \
    "$SR_URL/v1/attachments?$Q&child=C4&kind=document&filename=huge.txt"
grep -q '"id"' "$WORK/huge.json" || die "the $huge_label upload returned no id: $(cat "$WORK/huge.json")"
HUGE_HWM=$(vm "$SRV_PID" VmHWM)
rm -f "$HUGE"
stop_server
SRV_RC2=$SRV_RC
stop_pid "$NGX_PID" QUIT; NGX_PID=""

# ---- table ------------------------------------------------------------------------------------
rps() { echo "$1 req/s"; }
ms() { echo "$1 ms"; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.0f MB/s", b / s / 1e6}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }  # strongroom / nginx
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a >= b)}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a <= b)}'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a < b)}'; }

up_ratio=$(ratio "$sup_rps" "$nup_rps")
down_ratio=$(ratio "$sdown_rps" "$ndown_rps")
bigput_ratio=$(awk -v s="$sbigput_s" -v n="$nbigput_s" 'BEGIN {printf "%.2f", n / s}')
bigget_ratio=$(awk -v s="$sbigget_s" -v n="$nbigget_s" 'BEGIN {printf "%.2f", n / s}')
if ge "$up_ratio" 0.20; then r1=pass; else r1=FAIL; fi
if le "$sup_p99" 50; then r2=pass; else r2=FAIL; fi
if ge "$down_ratio" 0.20; then r3=pass; else r3=FAIL; fi
if ge "$bigput_ratio" 0.60; then r4=pass; else r4=FAIL; fi
if lt "$HUGE_HWM" $((100 * 1024)); then r5=pass; else r5=FAIL; fi
if [ "$DURATION" != 10 ] || [ "$CLIENTS" != 16 ] || [ "$FILE_KIB" != 200 ]; then r1="($r1)"; r2="($r2)"; r3="($r3)"; fi
[ "$BIG_MIB" = 1024 ] || r4="($r4)"
[ "$HUGE_MIB" = 4096 ] || r5="($r5)"

row() { printf '%-44s %14s %14s %6s  %-18s %s\n' "$@"; }
load="${FILE_KIB} KiB x ${CLIENTS} clients, ${DURATION} s"
echo
echo "Strongroom HTTP benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  commit $BUILT_FROM"
echo "machine: $NCPU cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), scratch on $FS; ${IDLE_BUSY}% busy before the run"
echo "baseline: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //') on loopback (WebDAV PUT to disk, sendfile GET; no encryption, no fsync, no audit);"
echo "load: $(wrk -v 2>&1 | head -1 | awk '{print $1" "$2}') -t$THREADS -c$CLIENTS on the same machine; 1 transfer each with curl for the big files"
echo "ratio = strongroom / nginx (rates); CPU = % of one core while wrk ran (server: all its processes); MB = 10^6 bytes"
echo
row "operation" "strongroom" "nginx" "ratio" "target" "result"
row "upload $load" "$(rps "$sup_rps")" "$(rps "$nup_rps")" "$up_ratio" ">=0.20 x nginx" "$r1"
row "  p50 latency" "$(ms "$sup_p50")" "$(ms "$nup_p50")" "" "-" "info"
row "  p99 latency" "$(ms "$sup_p99")" "$(ms "$nup_p99")" "" "<= 50 ms" "$r2"
row "  max latency" "$(ms "$sup_max")" "$(ms "$nup_max")" "" "-" "info"
row "  requests (all 2xx)" "$sup_requests" "$nup_requests" "" "-" "info"
row "  server CPU / wrk CPU" "${sup_cpu}% / ${sup_wcpu}%" "${nup_cpu}% / ${nup_wcpu}%" "" "-" "info"
row "  machine busy (all ${NCPU} cores)" "${sup_mbusy}%" "${nup_mbusy}%" "" "-" "info"
row "download $load" "$(rps "$sdown_rps")" "$(rps "$ndown_rps")" "$down_ratio" ">=0.20 x nginx" "$r3"
row "  p50 latency" "$(ms "$sdown_p50")" "$(ms "$ndown_p50")" "" "-" "info"
row "  p99 latency" "$(ms "$sdown_p99")" "$(ms "$ndown_p99")" "" "-" "info"
row "  max latency" "$(ms "$sdown_max")" "$(ms "$ndown_max")" "" "-" "info"
row "  requests (all 2xx)" "$sdown_requests" "$ndown_requests" "" "-" "info"
row "  server CPU / wrk CPU" "${sdown_cpu}% / ${sdown_wcpu}%" "${ndown_cpu}% / ${ndown_wcpu}%" "" "-" "info"
row "  machine busy (all ${NCPU} cores)" "${sdown_mbusy}%" "${ndown_mbusy}%" "" "-" "info"
row "upload $big_label (curl)" "$(mbps "$BIG_BYTES" "$sbigput_s")" "$(mbps "$BIG_BYTES" "$nbigput_s")" "$bigput_ratio" ">=0.60 x nginx" "$r4"
row "download $big_label (curl)" "$(mbps "$BIG_BYTES" "$sbigget_s")" "$(mbps "$BIG_BYTES" "$nbigget_s")" "$bigget_ratio" "-" "info"
row "server peak RSS during a $huge_label upload" "$(mib "$HUGE_HWM")" "" "" "< 100 MiB" "$r5"
row "  that upload's rate; RSS at start" "$(mbps "$HUGE_BYTES" "$shugeput_s")" "" "" "-" "$(mib "$HUGE_START_RSS") at start"
row "  peak RSS over all the runs above" "$(mib "$SRV_ALL_HWM")" "" "" "-" "after wrk: $(mib "$SRV_WRK_HWM"), at start: $(mib "$SRV_START_RSS")"
[ -n "$stored" ] && row "  records stored by the upload run" "$stored" "" "" "-" "for $sup_requests 201s"
[ "$SRV_RC1" = 0 ] && [ "$SRV_RC2" = 0 ] || row "  exit status after SIGTERM" "$SRV_RC1, $SRV_RC2" "" "" "0" "FAIL"
echo
echo "command: $COMMAND"
