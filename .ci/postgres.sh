# Sourced by .ci/run: start a throwaway PostgreSQL server for the store tests and export
# KAMADO_TEST_DATABASE_URL. Installs Debian's postgresql when the server binary is missing.
pg_bin() {
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/postgres" ] && { echo "$d"; return; }; done
  command -v postgres >/dev/null && dirname "$(command -v postgres)"
}
if [ -z "$(pg_bin)" ] && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
    || echo "could not install postgresql" >&2
fi
PGBIN=$(pg_bin)
if [ -n "$PGBIN" ]; then
  PGDIR=$(mktemp -d /tmp/kamado-pg.XXXXXX)
  PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  RUN=""
  if [ "$(id -u)" = 0 ]; then chown postgres "$PGDIR"; RUN="runuser -u postgres --"; fi
  $RUN "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres >/dev/null
  $RUN "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
    -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qc \
    "create role kamado login password 'kamado' createdb" -c "create database kamado_test owner kamado"
  export KAMADO_TEST_DATABASE_URL="postgresql+psycopg://kamado:kamado@127.0.0.1:$PGPORT/kamado_test"
  trap '$RUN "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null 2>&1' EXIT
  echo "PostgreSQL for the store tests: $KAMADO_TEST_DATABASE_URL"
elif [ "${CI:-}" = true ]; then
  echo "PostgreSQL could not be started; the store tests must run against it in CI" >&2
  exit 1
fi
