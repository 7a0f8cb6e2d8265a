# Several `strongroom serve` nodes on one PostgreSQL catalog and one S3 bucket, behind nginx, on
# this machine (sourced, not run; Scripts/serve-cluster.sh, Scripts/test-cluster.sh and
# Scripts/bench-cluster.sh share it).
#
#   cluster_up DIR BINARY [NODES]  PostgreSQL (Scripts/lib/postgres.sh) and SeaweedFS
#                                  (Scripts/lib/seaweedfs.sh) with their data kept in DIR and
#                                  reused when DIR has them already; the store created on first
#                                  use (master key DIR/master.key); NODES nodes (default 2) on free
#                                  loopback ports and nginx in front of them on 127.0.0.1:
#                                  CLUSTER_PORT (default: a free port). Exports what every
#                                  `strongroom` command needs to open the store
#                                  (STRONGROOM_METADATA, STRONGROOM_BLOBS, STRONGROOM_MASTER_KEY,
#                                  PGPASSWORD, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and writes
#                                  them to DIR/cluster.env (mode 600) for other shells.
#   cluster_node_start N           starts node N (1-based) again on its port, waits for /healthz
#   cluster_node_kill N            kill -9, as a crash would
#   cluster_node_stop N            SIGTERM: finishes the requests in flight, then exits (SIGKILL
#                                  and status 1 if it has not after 45 s)
#   cluster_down                   stops nginx, the nodes, SeaweedFS and PostgreSQL, ignoring
#                                  Ctrl-C meanwhile; DIR is kept
# Sets CLUSTER_URL (nginx), CLUSTER_NODE_URL[N], CLUSTER_NODE_PID[N] and CLUSTER_NGINX_PID.
# Settings read by cluster_up: CLUSTER_PORT, CLUSTER_MAX_UPLOAD_BYTES (default 536870912, the
# server's own default; nginx's client_max_body_size is set to the same), CLUSTER_PUBLIC_URL
# (default http://localhost:CLUSTER_PORT), CLUSTER_SERVE_ARGS (more `serve` options, an array).
# Logs: DIR/logs/node-N.log, DIR/nginx/access.log (which node answered, never a path or query
# string: they carry enrolment and link tokens and file names) and DIR/nginx/error.log (critical
# errors only, since nginx's error lines quote the request line).

_cluster_lib=$(dirname "${BASH_SOURCE[0]}")
source "$_cluster_lib/postgres.sh"
source "$_cluster_lib/seaweedfs.sh"

cluster_log() { printf 'cluster: %s\n' "$*" >&2; }

cluster_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Installs Debian's nginx and PostgreSQL when missing (setup.sh --test installs them too).
cluster_install() {
  local missing=() p
  for p in nginx postgresql curl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  cluster_log "installing ${missing[*]}"
  local sudo=""; [[ $(id -u) != 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  # policy-rc.d keeps Debian's own nginx and PostgreSQL services from starting on install.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# cluster_wait_healthy URL PID [SECONDS]: waits until URL/healthz answers, failing when PID exits.
cluster_wait_healthy() {
  local url=$1 pid=$2 seconds=${3:-60} i
  for ((i = 0; i < seconds * 10; i++)); do
    curl -fsS -o /dev/null --max-time 2 "$url/healthz" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

cluster_node_start() {
  local n=$1 port=${CLUSTER_NODE_PORT[$1]}
  "$CLUSTER_BINARY" serve --host 127.0.0.1 --port "$port" --max-upload-bytes "$CLUSTER_MAX_UPLOAD_BYTES" \
    --public-url "$CLUSTER_PUBLIC_URL" --trusted-proxies 127.0.0.1 "${CLUSTER_SERVE_ARGS[@]}" \
    >>"$CLUSTER_DIR/logs/node-$n.log" 2>&1 &
  CLUSTER_NODE_PID[$n]=$!
  CLUSTER_NODE_URL[$n]="http://127.0.0.1:$port"
  cluster_wait_healthy "${CLUSTER_NODE_URL[$n]}" "${CLUSTER_NODE_PID[$n]}" 120 || {
    kill -KILL "${CLUSTER_NODE_PID[$n]}" 2>/dev/null || true
    cluster_log "node $n did not start; the end of $CLUSTER_DIR/logs/node-$n.log:"
    tail -5 "$CLUSTER_DIR/logs/node-$n.log" >&2
    return 1
  }
}

cluster_node_kill() {
  local pid=${CLUSTER_NODE_PID[$1]:-}
  [[ -n $pid ]] || return 0
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  CLUSTER_NODE_PID[$1]=
}

# SIGTERM, then SIGKILL if the node is still running after its 30 s grace and 15 s more (and
# then returns 1).
cluster_node_stop() {
  local pid=${CLUSTER_NODE_PID[$1]:-} i
  [[ -n $pid ]] || return 0
  CLUSTER_NODE_PID[$1]=
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 450; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  cluster_log "node $1 still runs 45 s after SIGTERM: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return 1
}

# cluster_nginx_config FILE: nginx in front of every node, with its pid, logs and temp files in
# the folder FILE is in and no other configuration read.
cluster_nginx_config() {
  local file=$1 dir user_line="" servers="" n
  dir=$(dirname "$file")
  # As root, the workers run as Debian's www-data (the master keeps root only to open the logs).
  [[ $(id -u) == 0 ]] && user_line="user www-data;"
  for n in "${!CLUSTER_NODE_PORT[@]}"; do
    servers+="        server 127.0.0.1:${CLUSTER_NODE_PORT[$n]} max_fails=1 fail_timeout=5s;"$'\n'
  done
  cat >"$file" <<NGINX
# Written by Scripts/lib/cluster.sh; rewritten at every start. docs/deployment.md explains it.
$user_line
worker_processes auto;
daemon off;
pid $dir/nginx.pid;
# Only critical errors: nginx's error lines quote the request line, path and query string included.
error_log $dir/error.log crit;
events { worker_connections 1024; }

http {
    # No paths or query strings: they carry enrolment and link tokens, file names and ids.
    log_format strongroom '\$remote_addr [\$time_local] \$request_method \$status \$body_bytes_sent '
                          '\$request_time upstream=\$upstream_addr \$upstream_status';
    access_log $dir/access.log strongroom;
    client_body_temp_path $dir/temp/body;
    proxy_temp_path $dir/temp/proxy;
    fastcgi_temp_path $dir/temp/fastcgi;
    uwsgi_temp_path $dir/temp/uwsgi;
    scgi_temp_path $dir/temp/scgi;
    server_tokens off;

    # Round robin over the nodes. A node that fails a request (refused, reset, timed out) is left
    # out for 5 s, then tried again: passive health checks, no probe traffic.
    upstream strongroom {
$servers        keepalive 32;
    }
    server {
        listen 127.0.0.1:$CLUSTER_PORT;
        # The nodes' own limit (--max-upload-bytes): a larger upload is refused here first.
        client_max_body_size $CLUSTER_MAX_UPLOAD_BYTES;
        # Uploads stream to the node as they arrive (nothing spooled to disk here), and downloads
        # stream back as the node decrypts them.
        proxy_request_buffering off;
        proxy_buffering off;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host \$http_host;
        # The nodes trust this proxy (--trusted-proxies 127.0.0.1): sign-in guesses and refusals
        # count against the address written here, the client's. Written, not appended to what
        # the client sent: with one proxy in front, nothing a client writes reaches the nodes.
        proxy_set_header X-Forwarded-For \$remote_addr;
        proxy_set_header X-Forwarded-Proto \$scheme;
        proxy_connect_timeout 2s;
        proxy_send_timeout 300s;
        proxy_read_timeout 300s;
        # Another node is tried only when this one could not be reached or failed before
        # answering, and never for a request already sent with a method that is not idempotent:
        # nginx does not pass a POST that reached a node to the next one (no "non_idempotent"
        # here), so an upload is never stored twice. A request body already streamed cannot be
        # sent again either.
        proxy_next_upstream error timeout http_502;
        proxy_next_upstream_tries 2;
        proxy_next_upstream_timeout 10s;

        location / {
            proxy_pass http://strongroom;
        }
        # A node on loopback serves /metrics to anyone who reaches it; through the proxy, nobody.
        location = /metrics {
            return 404;
        }
    }
}
NGINX
}

cluster_nginx_start() {
  local dir=$CLUSTER_DIR/nginx nginx
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
  mkdir -p "$dir/temp"
  chmod 755 "$dir"
  cluster_nginx_config "$dir/nginx.conf"
  "$nginx" -t -q -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" || return 1
  "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
  CLUSTER_NGINX_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    curl -fsS -o /dev/null --max-time 2 "$CLUSTER_URL/healthz" 2>/dev/null && return 0
    kill -0 "$CLUSTER_NGINX_PID" 2>/dev/null || { cluster_log "nginx exited:"; tail -5 "$dir/error.log" >&2; return 1; }
    sleep 0.1
  done
  cluster_log "nginx does not answer on $CLUSTER_URL"; return 1
}

cluster_up() {
  CLUSTER_DIR=$(mkdir -p "$1" && cd "$1" && pwd) || return 1
  CLUSTER_BINARY=$(realpath "$2") || return 1
  local nodes=${3:-2} n
  cluster_install || return 1
  # The folder holds the master key and the credentials (each file mode 600). PostgreSQL runs as
  # its own user and must pass through it to its data: others may enter, not list.
  chmod 711 "$CLUSTER_DIR"
  mkdir -p "$CLUSTER_DIR/logs" && chmod 700 "$CLUSTER_DIR/logs"
  if [[ $(id -u) == 0 ]] && ! runuser -u postgres -- test -x "$CLUSTER_DIR"; then
    cluster_log "PostgreSQL's user cannot reach $CLUSTER_DIR: let others enter each folder above it (chmod o+x), or choose another"
    return 1
  fi

  cluster_log "PostgreSQL, data in $CLUSTER_DIR/postgres"
  POSTGRES_HOME=$CLUSTER_DIR/postgres postgres_start || return 1
  cluster_log "SeaweedFS, data in $CLUSTER_DIR/seaweedfs"
  SEAWEEDFS_HOME=$CLUSTER_DIR/seaweedfs seaweedfs_start strongroom >"$CLUSTER_DIR/logs/seaweedfs-start.log" 2>&1 \
    || { cat "$CLUSTER_DIR/logs/seaweedfs-start.log" >&2; return 1; }
  export STRONGROOM_METADATA=$STRONGROOM_TEST_POSTGRES
  export STRONGROOM_BLOBS=$STRONGROOM_TEST_S3
  export STRONGROOM_MASTER_KEY=$CLUSTER_DIR/master.key
  (umask 077; {
    printf 'export STRONGROOM_METADATA=%q\n' "$STRONGROOM_METADATA"
    printf 'export STRONGROOM_BLOBS=%q\n' "$STRONGROOM_BLOBS"
    printf 'export STRONGROOM_MASTER_KEY=%q\n' "$STRONGROOM_MASTER_KEY"
    printf 'export PGPASSWORD=%q\n' "$PGPASSWORD"
    printf 'export AWS_ACCESS_KEY_ID=%q AWS_SECRET_ACCESS_KEY=%q\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY"
  } >"$CLUSTER_DIR/cluster.env")

  if [[ ! -f $CLUSTER_DIR/store-created ]]; then
    cluster_log "creating the store (master key $STRONGROOM_MASTER_KEY)"
    "$CLUSTER_BINARY" init >"$CLUSTER_DIR/logs/init.log" 2>&1 || { cat "$CLUSTER_DIR/logs/init.log" >&2; return 1; }
    date -u +%FT%TZ >"$CLUSTER_DIR/store-created"
  fi

  CLUSTER_PORT=${CLUSTER_PORT:-$(cluster_free_port)}
  CLUSTER_URL="http://127.0.0.1:$CLUSTER_PORT"
  CLUSTER_PUBLIC_URL=${CLUSTER_PUBLIC_URL:-http://localhost:$CLUSTER_PORT}
  CLUSTER_MAX_UPLOAD_BYTES=${CLUSTER_MAX_UPLOAD_BYTES:-536870912}
  [[ ${CLUSTER_SERVE_ARGS+set} ]] || CLUSTER_SERVE_ARGS=()
  CLUSTER_NODE_PORT=(); CLUSTER_NODE_PID=(); CLUSTER_NODE_URL=()
  for ((n = 1; n <= nodes; n++)); do CLUSTER_NODE_PORT[$n]=$(cluster_free_port); done
  for ((n = 1; n <= nodes; n++)); do
    cluster_log "node $n on 127.0.0.1:${CLUSTER_NODE_PORT[$n]}"
    cluster_node_start "$n" || return 1
  done
  cluster_log "nginx on $CLUSTER_URL"
  cluster_nginx_start || return 1
}

cluster_down() {
  # A second Ctrl-C while SeaweedFS takes its time to stop must not leave PostgreSQL running.
  trap '' INT TERM
  if [[ -n ${CLUSTER_NGINX_PID:-} ]]; then
    kill -QUIT "$CLUSTER_NGINX_PID" 2>/dev/null || true
    wait "$CLUSTER_NGINX_PID" 2>/dev/null || true
    CLUSTER_NGINX_PID=
  fi
  local n
  for n in "${!CLUSTER_NODE_PID[@]}"; do cluster_node_stop "$n" || true; done
  seaweedfs_stop >/dev/null 2>&1 || true
  postgres_stop >/dev/null 2>&1 || true
}
