#!/usr/bin/env bash
# Fuzzes the running HTTP API from its own OpenAPI document with schemathesis (PyPI), then checks
# that the store and its audit log came through intact. Not part of CI's default run.
#
#   bash Scripts/fuzz-api.sh
#
# What it does:
#   1. takes the binary from $STRONGROOM_BIN, else builds it (swift build --product strongroom);
#   2. makes a temp store with one dsl user (school S1) and one sample record (S1/C1/K1);
#   3. starts `strongroom serve --port 0` on loopback and reads the port it prints;
#   4. runs `schemathesis run http://127.0.0.1:PORT/openapi.yaml` with the dsl's bearer token,
#      every check, a bounded number of examples per operation, and a config file whose
#      dictionaries steer some ids and query values to ones that exist (so that not every
#      request is a 404) and which lets uploads be refused with 400/413/415 (see below);
#   5. checks the server still answers /healthz, stops it with SIGTERM and expects exit 0, then
#      runs `strongroom verify` and `strongroom audit verify` (both must exit 0) and expects
#      STORE/blobs/tmp to be empty;
#   6. prints a summary; exits 1 if schemathesis found failures or any store check failed.
#
# Environment (all optional):
#   STRONGROOM_BIN     the strongroom binary to test (default: build it)
#   FUZZ_MAX_EXAMPLES  test cases per operation and phase (default 50, 1-10000)
#   FUZZ_MAX_TIME      schemathesis --max-time: fuzzing and stateful testing repeat until this
#                      many seconds are spent (default 180, 10-7200); 0: one pass only (seconds)
#   FUZZ_STRICT        1: also count upload refusals (400 empty, 415 type rules) of schema-valid
#                      requests as failures (default 0, see the config below)
#   FUZZ_SEED          schemathesis seed, for a reproducible run (default: random)
#   FUZZ_CHECKS        schemathesis --checks value (default all)
#   FUZZ_WORKERS       schemathesis --workers (default 2)
#   FUZZ_VENV          where schemathesis is installed when not found (default
#                      ~/.cache/strongroom-fuzz/venv)
#   FUZZ_REPORT_DIR    where the JUnit/NDJSON/pytest reports and the server log are kept
#                      (default: a new /tmp/strongroom-fuzz-report.XXXXXX, printed at the end)
#   FUZZ_TMPDIR        parent of the scratch store (default /tmp)
# Every run is bounded: a hard timeout stops schemathesis FUZZ_MAX_TIME (or 900 s) + 300 s in.
# The scratch store is removed on exit, also on failure or Ctrl-C; the report folder is kept.
set -euo pipefail

# Relative paths in the environment are taken from where the script was started.
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
[ -z "${STRONGROOM_BIN:-}" ] || STRONGROOM_BIN=$(abspath "$STRONGROOM_BIN")
[ -z "${FUZZ_REPORT_DIR:-}" ] || FUZZ_REPORT_DIR=$(abspath "$FUZZ_REPORT_DIR")
[ -z "${FUZZ_TMPDIR:-}" ] || FUZZ_TMPDIR=$(abspath "$FUZZ_TMPDIR")
[ -z "${FUZZ_VENV:-}" ] || FUZZ_VENV=$(abspath "$FUZZ_VENV")
cd "$(dirname "$0")/.."
REPO=$(pwd)

case "${1:-}" in
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    "") ;;
    *) echo "fuzz-api: unknown argument $1" >&2; exit 64 ;;
esac

log() { printf '[fuzz %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { echo "fuzz-api: $*" >&2; exit 1; }

MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-50}
MAX_TIME=${FUZZ_MAX_TIME:-180}
STRICT=${FUZZ_STRICT:-0}
WORKERS=${FUZZ_WORKERS:-2}
CHECKS=${FUZZ_CHECKS:-all}
for v in MAX_EXAMPLES WORKERS; do
    case "${!v}" in ''|*[!0-9]*) echo "fuzz-api: FUZZ_$v must be a number" >&2; exit 64 ;; esac
done
[ "$MAX_EXAMPLES" -ge 1 ] && [ "$MAX_EXAMPLES" -le 10000 ] || { echo "fuzz-api: FUZZ_MAX_EXAMPLES must be 1-10000" >&2; exit 64; }
case "$MAX_TIME" in ''|*[!0-9]*) echo "fuzz-api: FUZZ_MAX_TIME must be a number" >&2; exit 64 ;; esac
[ "$MAX_TIME" = 0 ] || { [ "$MAX_TIME" -ge 10 ] && [ "$MAX_TIME" -le 7200 ]; } \
    || { echo "fuzz-api: FUZZ_MAX_TIME must be 0 or 10-7200" >&2; exit 64; }
[ "$MAX_TIME" != 0 ] || MAX_TIME=""
case "$STRICT" in 0|1) ;; *) echo "fuzz-api: FUZZ_STRICT must be 0 or 1" >&2; exit 64 ;; esac
HARD_LIMIT=$(( ${MAX_TIME:-900} + 300 ))
[ "$WORKERS" -ge 1 ] && [ "$WORKERS" -le 16 ] || { echo "fuzz-api: FUZZ_WORKERS must be 1-16" >&2; exit 64; }
if [ -n "${FUZZ_SEED:-}" ]; then
    case "$FUZZ_SEED" in *[!0-9]*) echo "fuzz-api: FUZZ_SEED must be a number" >&2; exit 64 ;; esac
fi
command -v curl >/dev/null || die "curl is needed"
command -v python3 >/dev/null || die "python3 is needed"

# ---- schemathesis (v4: its CLI and config file are what this script speaks) -------------------
ST_MIN=4.32  # dictionaries in schemathesis.toml
st_ok() { # CMD...: true when this schemathesis is 4.x, at least ST_MIN
    local v
    v=$("$@" --version 2>/dev/null | awk '{print $NF}') || return 1
    python3 - "$v" "$ST_MIN" <<'PY'
import sys
def parse(s):
    return tuple(int(p) for p in s.split(".")[:2] if p.isdigit())
v, low = parse(sys.argv[1]), parse(sys.argv[2])
sys.exit(0 if len(v) == 2 and v[0] == 4 and v >= low else 1)
PY
}
VENV=${FUZZ_VENV:-$HOME/.cache/strongroom-fuzz/venv}
if command -v schemathesis >/dev/null && st_ok schemathesis; then
    ST=(schemathesis)
elif [ -x "$VENV/bin/schemathesis" ] && st_ok "$VENV/bin/schemathesis"; then
    ST=("$VENV/bin/schemathesis")
else
    log "installing schemathesis into $VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (apt-get install python3-venv?)"
    "$VENV/bin/pip" install -q --upgrade "schemathesis>=$ST_MIN,<5" >&2 || die "pip install schemathesis failed"
    ST=("$VENV/bin/schemathesis")
    st_ok "${ST[@]}" || die "schemathesis in $VENV is not a 4.x >= $ST_MIN"
fi
ST_VERSION=$("${ST[@]}" --version | awk '{print $NF}')

# ---- binary -----------------------------------------------------------------------------------
if [ -n "${STRONGROOM_BIN:-}" ]; then
    SR=$STRONGROOM_BIN
else
    [ -f Scripts/setup.sh ] && bash Scripts/setup.sh
    log "swift build --product strongroom"
    swift build --product strongroom >&2 || die "swift build failed"
    SR="$(swift build --show-bin-path)/strongroom"
fi
[ -x "$SR" ] || die "$SR is not an executable"

# ---- scratch store ----------------------------------------------------------------------------
WORK=$(mktemp -d "${FUZZ_TMPDIR:-/tmp}/strongroom-fuzz.XXXXXX")
REPORT=${FUZZ_REPORT_DIR:-$(mktemp -d /tmp/strongroom-fuzz-report.XXXXXX)}
mkdir -p "$REPORT"
STORE="$WORK/store"
SRV_PID=""
cleanup() {
    local code=$?
    if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then
        kill -TERM "$SRV_PID" 2>/dev/null || true
        wait "$SRV_PID" 2>/dev/null || true
    fi
    rm -rf -- "$WORK"
    exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SAMPLE="$REPO/Tests/VaultTests/Samples/strategy-meeting-minutes.pdf"
[ -f "$SAMPLE" ] || die "$SAMPLE missing"
"$SR" init --store "$STORE" </dev/null >"$WORK/init.out" 2>&1 || { cat "$WORK/init.out" >&2; die "strongroom init failed"; }
TOKEN=$("$SR" user add fuzz-dsl --api-token --role dsl --school S1 --store "$STORE" </dev/null 2>"$WORK/user.err") \
    || { cat "$WORK/user.err" >&2; die "strongroom user add failed"; }
TOKEN=$(printf '%s\n' "$TOKEN" | head -n1)
[ -n "$TOKEN" ] || die "strongroom user add printed no token"
RECORD=$("$SR" put "$SAMPLE" --store "$STORE" --school S1 --child C1 --concern K1 --kind minutes </dev/null) \
    || die "strongroom put failed"
RECORD=$(printf '%s\n' "$RECORD" | head -n1)
log "store $STORE: user fuzz-dsl (dsl, S1), record $RECORD"

# ---- server -----------------------------------------------------------------------------------
SRV_OUT="$REPORT/server.stdout"
SRV_ERR="$REPORT/server.stderr"
"$SR" serve --store "$STORE" --port 0 </dev/null >"$SRV_OUT" 2>"$SRV_ERR" &
SRV_PID=$!
BASE=""
for _ in $(seq 1 300); do  # up to 30 s
    BASE=$(sed -n 's#^strongroom: serving \(http://127\.0\.0\.1:[0-9][0-9]*\).*#\1#p' "$SRV_OUT" | head -n1)
    [ -n "$BASE" ] && break
    kill -0 "$SRV_PID" 2>/dev/null || { cat "$SRV_ERR" >&2; die "strongroom serve exited before it was ready"; }
    sleep 0.1
done
[ -n "$BASE" ] || { cat "$SRV_ERR" >&2; die "strongroom serve printed no 'serving' line in 30 s"; }
curl -fsS -o /dev/null --max-time 10 "$BASE/openapi.yaml" || die "GET $BASE/openapi.yaml failed"
log "server pid $SRV_PID at $BASE"

# ---- schemathesis -----------------------------------------------------------------------------
# Dictionaries give existing values to a share of the generated ids and query values (the rest
# stay random): the sample record, a well-formed id that does not exist, the user's school and
# another one, the sample's child. Without them nearly every request would be a 404 or 403.
# The crash cache is off: schemathesis would otherwise write .schemathesis/ into the current folder
# (the checkout). It also runs from the scratch folder, so nothing it writes lands in the repo.
CONFIG="$WORK/schemathesis.toml"
cat >"$CONFIG" <<TOML
[cache]
enabled = false

[dictionaries.records]
values = ["$RECORD", "0123456789abcdef0123456789abcdef"]

[dictionaries.schools]
values = ["S1", "S2"]

[dictionaries.children]
values = ["C1", "C2"]

[parameters]
"path.id" = { dictionary = "records", probability = 0.5 }
"query.school" = { dictionary = "schools", probability = 0.5 }
"path.child" = { dictionary = "children", probability = 0.5 }
"query.child" = { dictionary = "children", probability = 0.5 }
TOML
# The upload's body is only "binary" in the schema: whether it is acceptable depends on its real
# type, the declared Content-Type, the file name and the kind (docs/openapi.yaml says so in
# prose), which no schema can express. So schema-valid uploads are refused by design with 400
# (empty) or 415 (type rules), and positive_data_acceptance would flag hundreds of them. Those
# statuses count as accepted outcomes for this one operation; FUZZ_STRICT=1 counts them again.
if [ "$STRICT" = 0 ]; then
    cat >>"$CONFIG" <<'TOML'

[[operations]]
include-operation-id = "uploadAttachment"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "413", "415", "429", "5xx"]

# A date of birth must not be in the future, which a schema cannot say (it depends on today).
[[operations]]
include-operation-id = "setDateOfBirth"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]

# An age recipient's Bech32 checksum cannot be said in a schema: a well-formed but mistyped key
# is refused with 400, as it must be.
[[operations]]
include-operation-id = "addRecipient"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]

# A bundle names a recipient of the school's directory and records whose types allow each item's
# mode; neither can be said in a schema, so a schema-valid draft is refused with 400 naming why.
[[operations]]
include-operation-id = "createBundle"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
TOML
fi

ST_ARGS=(run "$BASE/openapi.yaml"
    --url "$BASE"
    --header "Authorization: Bearer $TOKEN"
    --checks "$CHECKS"
    --max-examples "$MAX_EXAMPLES"
    --workers "$WORKERS"
    --request-timeout 30
    --generation-database none
    --continue-on-failure
    --no-color
    --report junit,ndjson,pytest
    --report-dir "$REPORT")
if [ -n "${FUZZ_SEED:-}" ]; then ST_ARGS+=(--seed "$FUZZ_SEED"); fi
if [ -n "$MAX_TIME" ]; then ST_ARGS+=(--max-time "$MAX_TIME"); fi
ST_SHOWN="schemathesis --config-file $CONFIG ${ST_ARGS[*]}"
ST_SHOWN=${ST_SHOWN//$TOKEN/<token>}
log "schemathesis $ST_VERSION: $ST_SHOWN"
# The hard timeout backs up --max-time and --request-timeout: a hung server must not hang this.
set +e
(cd "$WORK" && exec timeout --kill-after=30 "$HARD_LIMIT" "${ST[@]}" --config-file "$CONFIG" "${ST_ARGS[@]}") \
    2>&1 | tee "$REPORT/schemathesis.log"
ST_RC=${PIPESTATUS[0]}
set -e
sed -i "s#$TOKEN#<token>#g" "$REPORT/schemathesis.log" "$REPORT"/*.ndjson "$REPORT"/*.xml "$REPORT"/*.py 2>/dev/null || true

# ---- server still up, then a clean stop -------------------------------------------------------
PROBLEMS=()
if ! kill -0 "$SRV_PID" 2>/dev/null; then
    wait "$SRV_PID" 2>/dev/null && rc=0 || rc=$?
    SRV_PID=""
    PROBLEMS+=("server died during fuzzing (exit $rc); see $SRV_ERR")
else
    if ! curl -fsS -o /dev/null --max-time 10 "$BASE/healthz"; then
        PROBLEMS+=("server did not answer GET /healthz within 10 s after fuzzing")
    fi
    kill -TERM "$SRV_PID"
    stopped=0
    for _ in $(seq 1 600); do  # up to 60 s: grace period plus audit flush
        if ! kill -0 "$SRV_PID" 2>/dev/null; then stopped=1; break; fi
        sleep 0.1
    done
    if [ "$stopped" = 1 ]; then
        wait "$SRV_PID" && rc=0 || rc=$?
        [ "$rc" = 0 ] || PROBLEMS+=("server exited $rc on SIGTERM (expected 0); see $SRV_ERR")
    else
        kill -KILL "$SRV_PID" 2>/dev/null || true
        wait "$SRV_PID" 2>/dev/null || true
        PROBLEMS+=("server still running 60 s after SIGTERM (killed)")
    fi
    SRV_PID=""
fi

# ---- store checks -----------------------------------------------------------------------------
if "$SR" verify --store "$STORE" </dev/null >"$REPORT/verify.out" 2>&1; then
    log "strongroom verify: ok"
else
    rc=$?; PROBLEMS+=("strongroom verify exited $rc: $(tail -n3 "$REPORT/verify.out" | tr '\n' ' ')")
fi
if "$SR" audit verify --store "$STORE" </dev/null >"$REPORT/audit-verify.out" 2>&1; then
    log "strongroom audit verify: ok"
else
    rc=$?; PROBLEMS+=("strongroom audit verify exited $rc: $(tail -n3 "$REPORT/audit-verify.out" | tr '\n' ' ')")
fi
if [ -d "$STORE/blobs/tmp" ]; then
    left=$(find "$STORE/blobs/tmp" -mindepth 1 | wc -l)
    [ "$left" = 0 ] || PROBLEMS+=("$left file(s) left in STORE/blobs/tmp: $(find "$STORE/blobs/tmp" -mindepth 1 | head -n3 | tr '\n' ' ')")
else
    PROBLEMS+=("STORE/blobs/tmp is missing")
fi
records=$("$SR" list --store "$STORE" --json </dev/null 2>/dev/null \
    | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["records"]))' 2>/dev/null || echo "?")

# ---- summary ----------------------------------------------------------------------------------
echo
echo "== fuzz-api summary =="
echo "schemathesis $ST_VERSION, exit $ST_RC: $ST_SHOWN"
# One line per kind of failure: check, method, operation, status, problem type, count, one URL.
NDJSON=$(ls -t "$REPORT"/ndjson-*.ndjson 2>/dev/null | head -n1 || true)
if [ -n "$NDJSON" ] && [ "$ST_RC" != 0 ]; then
    python3 - "$NDJSON" <<'PY' || true
import base64, collections, json, sys
groups, example = collections.Counter(), {}
with open(sys.argv[1]) as f:
    for line in f:
        if not line.startswith('{"ScenarioFinished"'):
            continue
        rec = json.loads(line)["ScenarioFinished"].get("recorder", {})
        for cid, checks in rec.get("checks", {}).items():
            for c in checks:
                if c.get("status") != "failure":
                    continue
                inter = rec.get("interactions", {}).get(cid) or {}
                req, resp = inter.get("request") or {}, inter.get("response") or {}
                body, slug = resp.get("content"), ""
                try:
                    if isinstance(body, dict) and "$base64" in body:
                        body = base64.b64decode(body["$base64"]).decode()
                    slug = json.loads(body).get("type", "").rsplit(":", 1)[-1]
                except Exception:
                    pass
                key = (c["name"], resp.get("status_code", "-"), slug)
                groups[key] += 1
                path = "/" + req.get("uri", "").split("://", 1)[-1].split("/", 1)[-1]
                example.setdefault(key, collections.Counter())[f"{req.get('method', '?')} {path[:100]}"] += 1
if groups:
    print("failures by check, status and problem type (count; a few of the requests):")
    for (check, status, slug), n in sorted(groups.items()):
        reqs = example[(check, status, slug)]
        print(f"  {check}: {status} {slug or '-'}: {n} failure(s), {len(reqs)} distinct request(s)")
        for r, _ in reqs.most_common(3):
            print(f"      {r}")
PY
fi
case "$ST_RC" in
    0) echo "schemathesis: no failures" ;;
    124|137) PROBLEMS+=("schemathesis did not finish within $HARD_LIMIT s (server hang?)") ;;
    *) PROBLEMS+=("schemathesis reported failures or errors (exit $ST_RC); details above and in $REPORT") ;;
esac
echo "store after fuzzing: $records record(s) (1 before fuzzing; the rest are uploads the fuzzer made)"
echo "reports, server log and outputs: $REPORT"
if [ ${#PROBLEMS[@]} -eq 0 ]; then
    echo "RESULT: ok (no schemathesis failures; verify, audit verify and blobs/tmp clean; clean stop)"
    exit 0
fi
for p in "${PROBLEMS[@]}"; do echo "FAIL: $p"; done
echo "RESULT: ${#PROBLEMS[@]} problem(s)"
exit 1
