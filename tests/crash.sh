#!/usr/bin/env bash
# Crash safety of memory_hnsw. Four sessions insert into an indexed table in
# a loop (racing to take over the tombstones a VACUUM left, to extend the
# index, append to its last page and relink the same neighbours); the server (postmaster and every backend) is killed with SIGKILL
# mid-way and restarted, which replays the WAL. Afterwards the index must
# return every committed row exactly once, and answer nearest-neighbour
# queries as well as a freshly built index over the same rows (recall@10
# against exact search; both are approximate, so identical answers are
# counted, not required).
#   tests/crash.sh <port>      (the server must be one scripts/server.sh runs)
source "$(dirname "$0")/../scripts/common.sh"
set -euo pipefail
port="$1"
data="$(pg_base)/${port}"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -h localhost -p "$port" -U postgres -d postgres "$@"; }

q <<'SQL'
DROP TABLE IF EXISTS crash_t;
CREATE EXTENSION IF NOT EXISTS memory_ext;
CREATE TABLE crash_t (id bigserial PRIMARY KEY, v memory.vector(16));
CREATE INDEX crash_t_v ON crash_t USING memory_hnsw (v memory.vector_l2_ops) WITH (m = 8, ef_construction = 32);
-- Tombstones for the inserts below to reuse: half of 3000 rows deleted and
-- vacuumed, so the crash hits inserts writing over tombstones (and, once
-- those run out, appending).
INSERT INTO crash_t (v) SELECT (SELECT array_agg(random()::real) FROM generate_series(1, 16) d WHERE g > 0)::memory.vector(16)
FROM generate_series(1, 3000) g;
DELETE FROM crash_t WHERE id % 2 = 0;
VACUUM crash_t;
CHECKPOINT;
SQL
index_before="$(q -c "SELECT pg_relation_size('crash_t_v')")"
insert_loop() {
    for _ in $(seq 1 100000); do
        timeout 30 psql -X -q -At -v ON_ERROR_STOP=1 -h localhost -p "$port" -U postgres -d postgres -c "INSERT INTO crash_t (v) SELECT (SELECT array_agg(random()::real) FROM generate_series(1, 16) d WHERE g > 0)::memory.vector(16)
              FROM generate_series(1, 20) g" 2>/dev/null || return 0
    done
}
insert_loop & a=$!
insert_loop & b=$!
insert_loop & c=$!
insert_loop & d=$!
sleep 4
pm="$(head -1 "${data}/postmaster.pid")"
before="$(q -c "SELECT count(*) FROM crash_t" 2>/dev/null || echo '?')"
# The postmaster and all its children at once, like a power cut (the OS
# keeps what was written, the server's memory is lost). The postmaster is
# stopped first so that it forks no backend we would miss.
kill -STOP "$pm"
kids="$(pgrep -P "$pm" | tr '\n' ' ')"
kill -9 "$pm" $kids
wait "$a" "$b" "$c" "$d" 2>/dev/null || true
for _ in $(seq 50); do
    alive=0
    for p in $pm $kids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
done
"$REPO/scripts/server.sh" start "$port" >/dev/null
for _ in $(seq 60); do q -c "SELECT 1" >/dev/null 2>&1 && break; sleep 0.5; done
rows="$(q -c "SELECT count(*) FROM crash_t")"
index_after="$(q -c "SELECT pg_relation_size('crash_t_v')")"
say "crash: killed the server at ~${before} rows; ${rows} rows committed and recovered (index $((index_before / 8192)) pages before the inserts, $((index_after / 8192)) after)"
q <<'SQL'
SET enable_seqscan = off;
SET memory.hnsw_ef_search = 400;
DO $$
DECLARE n bigint; d bigint; total bigint; a bigint[]; b bigint[]; t bigint[];
        hits_a int := 0; hits_b int := 0; same int := 0; qv memory.vector;
BEGIN
  SELECT count(*) INTO total FROM crash_t;
  SELECT count(*), count(DISTINCT id) INTO n, d
  FROM (SELECT id FROM crash_t ORDER BY v OPERATOR(memory.<->) array_fill(0.5::real, ARRAY[16])::memory.vector) s;
  IF n <> total OR d <> total THEN
    RAISE EXCEPTION 'index after crash returns % rows (% distinct), table has %', n, d, total;
  END IF;
  CREATE TEMP TABLE crash_copy AS SELECT * FROM crash_t;
  CREATE INDEX ON crash_copy USING memory_hnsw (v memory.vector_l2_ops) WITH (m = 8, ef_construction = 32);
  FOR i IN 1..20 LOOP
    qv := (SELECT array_agg(sin(i * k)::real) FROM generate_series(1, 16) k)::memory.vector;
    SELECT array_agg(id) INTO a FROM (SELECT id FROM crash_t ORDER BY v OPERATOR(memory.<->) qv LIMIT 10) s;
    SELECT array_agg(id) INTO b FROM (SELECT id FROM crash_copy ORDER BY v OPERATOR(memory.<->) qv LIMIT 10) s;
    SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = on;
    SELECT array_agg(id) INTO t FROM (SELECT id FROM crash_t ORDER BY v OPERATOR(memory.<->) qv LIMIT 10) s;
    SET LOCAL enable_indexscan = on; SET LOCAL enable_seqscan = off;
    hits_a := hits_a + (SELECT count(*) FROM unnest(a) x WHERE x = ANY(t));
    hits_b := hits_b + (SELECT count(*) FROM unnest(b) x WHERE x = ANY(t));
    same := same + (a = b)::int;
  END LOOP;
  RAISE NOTICE 'recall@10 against exact: recovered index %, rebuilt copy %; identical answers % of 20',
    round(hits_a / 200.0, 3), round(hits_b / 200.0, 3), same;
  -- Both are approximate indexes: the recovered one must be as good as a
  -- rebuilt one (within a query's worth), and near exact.
  IF hits_a < 190 OR hits_a < hits_b - 10 THEN
    RAISE EXCEPTION 'recovered index recall@10 % (rebuilt copy %)', round(hits_a / 200.0, 3), round(hits_b / 200.0, 3);
  END IF;
END $$;
DROP TABLE crash_t;
SQL
say "crash: recovered index returns all ${rows} rows once, with the recall of a rebuilt index"
