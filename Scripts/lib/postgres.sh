# PostgreSQL as a throwaway catalog database for the tests (sourced, not run).
#   postgres_start   makes a new cluster in a temp dir with Debian's initdb, starts it on a free
#                    loopback port (password authentication over TCP) and exports
#                    STRONGROOM_TEST_POSTGRES (postgres://strongroom@127.0.0.1:PORT/postgres)
#                    and PGPASSWORD
#   postgres_stop    stops it and removes its temp dir
# Run as root, the server runs as the postgres user Debian's package creates (PostgreSQL
# refuses to run as root). The password is random per run and lives only in this shell's
# environment.

postgres_bin() {
  local v
  for v in /usr/lib/postgresql/*/bin; do [[ -x $v/initdb ]] && POSTGRES_BIN=$v; done
  [[ -n ${POSTGRES_BIN:-} ]] || { echo "postgres: no initdb; run Scripts/setup.sh --test" >&2; return 1; }
}

postgres_as() { # runs a command as the cluster's owner
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_start() {
  postgres_bin || return 1
  POSTGRES_DIR=$(mktemp -d -t strongroom-postgres.XXXXXX)
  [[ $(id -u) == 0 ]] && chown postgres "$POSTGRES_DIR"
  local password port
  password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (umask 077; printf '%s\n' "$password" > "$POSTGRES_DIR/pwfile")
  [[ $(id -u) == 0 ]] && chown postgres "$POSTGRES_DIR/pwfile"
  postgres_as "$POSTGRES_BIN/initdb" -D "$POSTGRES_DIR/data" -U strongroom --pwfile="$POSTGRES_DIR/pwfile" \
    --auth-host=scram-sha-256 --auth-local=peer -E UTF8 --locale=C.UTF-8 >/dev/null || return 1
  rm -f "$POSTGRES_DIR/pwfile"
  postgres_as "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DIR/data" -l "$POSTGRES_DIR/log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$POSTGRES_DIR -c max_connections=300" start >/dev/null \
    || { cat "$POSTGRES_DIR/log" >&2; return 1; }
  POSTGRES_PORT=$port
  export PGPASSWORD=$password
  export STRONGROOM_TEST_POSTGRES="postgres://strongroom@127.0.0.1:$port/postgres"
}

postgres_restart() { # stops the server at once (as a crash would) and starts it again
  postgres_as "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DIR/data" -m immediate stop >/dev/null
  postgres_as "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DIR/data" -l "$POSTGRES_DIR/log" -w -t 60 start >/dev/null
}

postgres_stop() {
  if [[ -n ${POSTGRES_DIR:-} && -d $POSTGRES_DIR ]]; then
    postgres_as "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$POSTGRES_DIR"
  fi
  unset POSTGRES_DIR STRONGROOM_TEST_POSTGRES
}
