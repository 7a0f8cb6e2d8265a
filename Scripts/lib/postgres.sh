# PostgreSQL as a throwaway catalog database for the tests (sourced, not run).
#   postgres_start   makes a new cluster in a temp dir with Debian's initdb, starts it on a free
#                    loopback port (password authentication over TCP) and exports
#                    STRONGROOM_TEST_POSTGRES (postgres://strongroom@127.0.0.1:PORT/postgres)
#                    and PGPASSWORD
#   postgres_stop    stops it and removes its temp dir
# With POSTGRES_HOME set to a folder, postgres_start keeps the cluster there instead (with its
# port and password, in mode-600 files) and a later start with the same folder serves the same
# databases again; postgres_stop then leaves the folder. Either way the settings are in the
# cluster's postgresql.conf, so postgres_restart brings it back on the same port.
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
  local password port
  if [[ -n ${POSTGRES_HOME:-} ]]; then
    POSTGRES_DIR=$POSTGRES_HOME
    POSTGRES_KEEP=1
    (umask 077; mkdir -p "$POSTGRES_DIR") && chmod 700 "$POSTGRES_DIR" || return 1
  else
    POSTGRES_DIR=$(mktemp -d -t strongroom-postgres.XXXXXX)
    POSTGRES_KEEP=
  fi
  [[ $(id -u) == 0 ]] && chown postgres "$POSTGRES_DIR"
  if [[ -n $POSTGRES_KEEP && -f $POSTGRES_DIR/data/PG_VERSION ]]; then
    # A kept folder: its cluster, port and password from the first start.
    password=$(<"$POSTGRES_DIR/password") && port=$(<"$POSTGRES_DIR/port") || return 1
  else
    password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    (umask 077; printf '%s\n' "$password" > "$POSTGRES_DIR/pwfile")
    [[ $(id -u) == 0 ]] && chown postgres "$POSTGRES_DIR/pwfile"
    postgres_as "$POSTGRES_BIN/initdb" -D "$POSTGRES_DIR/data" -U strongroom --pwfile="$POSTGRES_DIR/pwfile" \
      --auth-host=scram-sha-256 --auth-local=peer -E UTF8 --locale=C.UTF-8 >/dev/null || return 1
    rm -f "$POSTGRES_DIR/pwfile"
    # In the cluster's own configuration, so that postgres_restart and a later start of a kept
    # folder listen where the first start did.
    printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\nmax_connections = 1000\n" \
      "$port" "$POSTGRES_DIR" >> "$POSTGRES_DIR/data/postgresql.conf"
    if [[ -n $POSTGRES_KEEP ]]; then
      (umask 077; printf '%s\n' "$password" > "$POSTGRES_DIR/password"; printf '%s\n' "$port" > "$POSTGRES_DIR/port")
    fi
  fi
  postgres_as "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DIR/data" -l "$POSTGRES_DIR/log" -w -t 60 start >/dev/null \
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
    [[ -n ${POSTGRES_KEEP:-} ]] || rm -rf "$POSTGRES_DIR"
  fi
  unset POSTGRES_DIR STRONGROOM_TEST_POSTGRES
}
