#!/usr/bin/env bash
# memory_hnsw on a hot standby: a streaming replica is cloned from the
# primary (pg_basebackup), the primary builds an index, inserts, deletes,
# vacuums and inserts again (over the tombstones); once the standby has replayed everything, the same index scans
# on both servers must return the same rows in the same order.
#   tests/standby.sh <primary port> <standby port>
source "$(dirname "$0")/../scripts/common.sh"
set -euo pipefail
primary="$1"; standby="$2"
sdata="$(pg_base)/${standby}"
p() { psql -X -q -At -v ON_ERROR_STOP=1 -h localhost -p "$primary" -U postgres -d postgres "$@"; }
s() { psql -X -q -At -v ON_ERROR_STOP=1 -h localhost -p "$standby" -U postgres -d postgres "$@"; }
cleanup() {
    as_postgres "$PGBIN/pg_ctl" -D "$sdata" -m immediate -w stop >/dev/null 2>&1 || true
    as_root rm -rf "$sdata"
}
trap cleanup EXIT
cleanup
p -c "CREATE EXTENSION IF NOT EXISTS memory_ext" -c "DROP TABLE IF EXISTS standby_t"
as_postgres "$PGBIN/pg_basebackup" -h localhost -p "$primary" -U postgres -D "$sdata" -R -X stream -c fast
as_postgres sh -c "echo 'port = ${standby}' >> '${sdata}/postgresql.conf'"
as_postgres "$PGBIN/pg_ctl" -D "$sdata" -l "${sdata}.log" -w -t 60 start >/dev/null
p <<'SQL'
CREATE TABLE standby_t (id int PRIMARY KEY, v memory.vector(8));
INSERT INTO standby_t SELECT i, (SELECT array_agg(sin(i * 0.7 + d)::real) FROM generate_series(1, 8) d)::memory.vector
FROM generate_series(1, 2000) i;
CREATE INDEX standby_t_v ON standby_t USING memory_hnsw (v memory.vector_cosine_ops);
INSERT INTO standby_t SELECT i, (SELECT array_agg(cos(i * 0.3 + d)::real) FROM generate_series(1, 8) d)::memory.vector
FROM generate_series(2001, 3000) i;
DELETE FROM standby_t WHERE id % 4 = 0;
VACUUM standby_t;
-- New rows written over the tombstones VACUUM left (replayed on the standby).
INSERT INTO standby_t SELECT i, (SELECT array_agg(sin(i * 0.5 + d)::real) FROM generate_series(1, 8) d)::memory.vector
FROM generate_series(3001, 3500) i;
SQL
lsn="$(p -c "SELECT pg_current_wal_lsn()")"
for _ in $(seq 120); do
    done_="$(s -c "SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn")"
    [ "$done_" = t ] && break
    sleep 0.5
done
queries="SET enable_seqscan = off; SET memory.hnsw_ef_search = 20;
SELECT q, array_agg(id ORDER BY ord) FROM generate_series(1, 20) q,
  LATERAL (SELECT id, row_number() OVER () ord FROM (
    SELECT id FROM standby_t ORDER BY v OPERATOR(memory.<=>)
      (SELECT array_agg(sin(q * d)::real) FROM generate_series(1, 8) d)::memory.vector LIMIT 10) a) b
GROUP BY q ORDER BY q;
SELECT count(*) FROM (SELECT id FROM standby_t ORDER BY v OPERATOR(memory.<=>) '[1,0,0,0,0,0,0,0]') c;"
a="$(p -c "$queries")"
b="$(s -c "$queries")"
if [ "$a" != "$b" ]; then
    echo "standby answers differ from the primary:"; diff <(echo "$a") <(echo "$b") || true
    exit 1
fi
[ "$(s -c "SELECT pg_is_in_recovery()")" = t ] || { echo "not a standby"; exit 1; }
p -c "DROP TABLE standby_t"
say "standby: 20 index scans and a full index scan on the hot standby equal the primary's ($(echo "$b" | tail -1) rows)"
