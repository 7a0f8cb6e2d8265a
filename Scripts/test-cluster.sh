#!/usr/bin/env bash
# Two nodes behind nginx on PostgreSQL and SeaweedFS, under load, while a node crashes and the
# database crashes: nothing acknowledged may be lost, no download may return other bytes, and no
# client may see anything but a 502 or 503 (or a connection cut while a node is down).
#
#   bash Scripts/test-cluster.sh [PATH/TO/strongroom]   (default: the debug build's binary)
#
# In a temp folder, the deployment of Scripts/serve-cluster.sh (Scripts/lib/cluster.sh). For the
# whole run 8 threads upload 200 KiB text files through nginx and download earlier ones
# (Scripts/lib/cluster-load.py, Python's stdlib); meanwhile node 1 is killed with SIGKILL and
# started again 4 s later, then PostgreSQL is stopped in immediate mode (a crash) and started
# again. Afterwards every upload acknowledged with 201 is downloaded from each node directly and
# compared, both nodes must still be running, wrong sign-ins through one node must slow the next
# through the other, and `strongroom verify` and `strongroom audit verify` must pass. Prints the counts; exits non-zero on any breach. About 90 s.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "${1:-$(swift build --show-bin-path)/strongroom}")
[[ -x $binary ]] || { echo "test-cluster: no binary at $binary" >&2; exit 1; }

source Scripts/lib/cluster.sh
work=$(mktemp -d -t strongroom-test-cluster.XXXXXX)
chmod 711 "$work"   # PostgreSQL's own user must pass through to its data
load_pid=""
cleanup() {
  if [[ -n $load_pid ]]; then kill "$load_pid" 2>/dev/null || true; wait "$load_pid" 2>/dev/null || true; fi
  cluster_down
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
started=$SECONDS
failures=()
fail() { failures+=("$*"); echo "test-cluster: FAIL: $*" >&2; }
phase() { echo "test-cluster: +$((SECONDS - started)) s: $*"; }

export STRONGROOM_ACTOR=cli:test-cluster
cluster_up "$work/cluster" "$binary" 2
phase "up: nginx $CLUSTER_URL, nodes ${CLUSTER_NODE_URL[*]}"
token=$("$binary" user add load.dsl --role dsl --school S1 --api-token --json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')

timeline=$work/timeline
mark() { echo "$(date +%s.%N) $1" >>"$timeline"; }
: >"$timeline"
CLUSTER_LOAD_TOKEN=$token python3 Scripts/lib/cluster-load.py --url "$CLUSTER_URL" \
  --node "${CLUSTER_NODE_URL[1]}" --node "${CLUSTER_NODE_URL[2]}" \
  --stop-file "$work/stop" --timeline "$timeline" --threads 8 --kib 200 --max-seconds 150 \
  >"$work/load.out" 2>&1 &
load_pid=$!
unset token

# pause SECONDS: waits, failing at once when the client has stopped (a 200 with other bytes).
pause() {
  local i
  for ((i = 0; i < $1 * 10; i++)); do
    kill -0 "$load_pid" 2>/dev/null || { cat "$work/load.out"; fail "the client stopped mid-run"; exit 1; }
    sleep 0.1
  done
}

pause 8
phase "kill -9 node 1"
mark node-down
cluster_node_kill 1
pause 4
phase "starting node 1 again"
cluster_node_start 1 || fail "node 1 did not start again"
mark node-up
phase "node 1 answers /healthz again"
pause 8
phase "PostgreSQL stopped in immediate mode (a crash) and started again"
mark db-down
postgres_restart || fail "PostgreSQL did not start again"
mark db-up
phase "PostgreSQL is back"
pause 10
touch "$work/stop"
phase "load stopped; checking every acknowledged upload on each node"
# The client stops within its request timeout and checks within its own limit; past that, a
# node hangs.
for ((i = 0; i < 3000; i++)); do kill -0 "$load_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$load_pid" 2>/dev/null && { kill "$load_pid"; fail "the client did not finish within 300 s"; }
load_rc=0
wait "$load_pid" || load_rc=$?
load_pid=""
cat "$work/load.out"
((load_rc == 0)) || fail "the client found breaches (exit $load_rc)"

for n in 1 2; do
  kill -0 "${CLUSTER_NODE_PID[$n]}" 2>/dev/null || fail "node $n exited on its own"
done
for n in 1 2; do
  if grep -q -i "fatal error" "$CLUSTER_DIR/logs/node-$n.log"; then
    fail "node $n's log has a fatal error: $(grep -i -m1 "fatal error" "$CLUSTER_DIR/logs/node-$n.log" | cut -c1-200)"
  fi
done
phase "three wrong sign-ins through node 1; the fourth, through node 2, must wait"
python3 - "$CLUSTER_PUBLIC_URL" "${CLUSTER_NODE_URL[1]}" "${CLUSTER_NODE_URL[2]}" <<'PY' || fail "wrong guesses were not counted across the nodes"
import json, sys, urllib.error, urllib.request
origin, node1, node2 = sys.argv[1:4]
def sign_in(node):
    body = json.dumps({"name": "cluster.guesser", "passphrase": "not anyone's passphrase", "code": "000000"}).encode()
    request = urllib.request.Request(node + "/v1/session", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Origin": origin})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code
got = [sign_in(node1) for _ in range(3)] + [sign_in(node2)]
print("test-cluster: sign-in answers, node 1 x3 then node 2:", got)
sys.exit(0 if got == [401, 401, 401, 429] else 1)
PY

for n in 1 2; do
  cluster_node_stop "$n" || fail "node $n did not stop on SIGTERM"
done
phase "nodes stopped; strongroom verify and audit verify"
"$binary" verify >"$work/verify.out" 2>&1 || { tail -5 "$work/verify.out"; fail "strongroom verify"; }
tail -1 "$work/verify.out"
"$binary" audit verify >"$work/audit.out" 2>&1 || { tail -5 "$work/audit.out"; fail "strongroom audit verify"; }
tail -1 "$work/audit.out"

phase "done"
if ((${#failures[@]})); then
  echo "test-cluster: ${#failures[@]} failures" >&2
  exit 1
fi
echo "test-cluster: passed"
