#!/usr/bin/env bash
# Two Strongroom nodes behind nginx on this machine, sharing one PostgreSQL catalog and one
# S3-compatible bucket (SeaweedFS), until Ctrl-C or SIGTERM.
#
#   Scripts/serve-cluster.sh [--dir DIR] [--port PORT] [--nodes N] [--no-build]
#
#   --dir DIR    where everything is kept (default ./strongroom-cluster): PostgreSQL's and
#                SeaweedFS's data, the master key (master.key), the settings every command needs
#                (cluster.env, mode 600), nginx's configuration and the logs. A second run with
#                the same folder serves the same store again.
#   --port PORT  nginx's port on 127.0.0.1 (default 8080); the nodes take free loopback ports.
#   --nodes N    how many nodes (default 2).
#   --no-build   use the release binary already built.
#
# Installs Debian's nginx and PostgreSQL when missing, builds a release binary, creates the
# store on the first run, starts PostgreSQL, SeaweedFS, the nodes and nginx (Scripts/lib/
# cluster.sh), prints the address and how to add the first person, starts again a node that
# exits, and stops everything on exit.
# How it works and what to run in production instead: docs/deployment.md.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=./strongroom-cluster
port=8080
nodes=2
build=1
while (($#)); do
  case $1 in
    --dir) dir=${2:?--dir needs a folder}; shift 2 ;;
    --port) port=${2:?--port needs a number}; shift 2 ;;
    --nodes) nodes=${2:?--nodes needs a number}; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "serve-cluster: unknown argument $1 (see --help)" >&2; exit 64 ;;
  esac
done
[[ $port =~ ^[0-9]+$ ]] && ((port >= 1 && port <= 65535)) || { echo "serve-cluster: --port must be 1-65535" >&2; exit 64; }
[[ $nodes =~ ^[0-9]+$ ]] && ((nodes >= 1 && nodes <= 16)) || { echo "serve-cluster: --nodes must be 1-16" >&2; exit 64; }

bash Scripts/setup.sh
if ((build)); then
  echo "serve-cluster: swift build -c release (several minutes on 2 cores when cold)" >&2
  swift build -c release --product strongroom >&2
fi
binary=$(swift build -c release --show-bin-path)/strongroom
[[ -x $binary ]] || { echo "serve-cluster: $binary missing (build without --no-build)" >&2; exit 1; }

source Scripts/lib/cluster.sh
trap 'echo "serve-cluster: stopping (SeaweedFS can take half a minute)" >&2; cluster_down' EXIT
trap 'exit 130' INT TERM
CLUSTER_PORT=$port
# Another program on the port would take half the traffic's answers for it: refuse at once.
if ! python3 -c 'import socket, sys; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$port" 2>/dev/null; then
  echo "serve-cluster: 127.0.0.1:$port is in use; choose another with --port" >&2; exit 1
fi
cluster_up "$dir" "$binary" "$nodes"

cat <<EOF

Strongroom: $nodes nodes behind nginx at http://localhost:$port/sign-in
  catalog  PostgreSQL on ${STRONGROOM_METADATA#postgres://}
  blobs    SeaweedFS, ${STRONGROOM_BLOBS}
  folder   $CLUSTER_DIR (logs in logs/, nginx/)

Add the first person (in another terminal, from $(pwd)):
  source $CLUSTER_DIR/cluster.env
  $binary user add NAME --role dsl --school SCHOOL --public-url http://localhost:$port
and open the enrolment link it prints. Every strongroom command works on this store once
cluster.env is sourced (verify, audit verify, user list, ...).

Ctrl-C stops nginx, the nodes, SeaweedFS and PostgreSQL; the data stays in $CLUSTER_DIR.
EOF

# Until Ctrl-C: a node that exits on its own is started again (nginx sends its share to the
# others meanwhile); nginx exiting ends the run.
while true; do
  kill -0 "$CLUSTER_NGINX_PID" 2>/dev/null || { echo "serve-cluster: nginx exited; see $CLUSTER_DIR/nginx/error.log" >&2; exit 1; }
  for n in "${!CLUSTER_NODE_PID[@]}"; do
    if ! kill -0 "${CLUSTER_NODE_PID[$n]}" 2>/dev/null; then
      echo "serve-cluster: node $n exited (see $CLUSTER_DIR/logs/node-$n.log); starting it again" >&2
      cluster_node_start "$n" || true
    fi
  done
  sleep 1
done
