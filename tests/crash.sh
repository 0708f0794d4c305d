#!/usr/bin/env bash
# Crash safety of memory_hnsw. Two sessions insert into an indexed table in
# a loop; the server (postmaster and every backend) is killed with SIGKILL
# mid-way and restarted, which replays the WAL. Afterwards the index must
# return every committed row exactly once and answer nearest-neighbour
# queries exactly like a freshly built index over the same rows.
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
CHECKPOINT;
SQL
insert_loop() {
    for _ in $(seq 1 100000); do
        q -c "INSERT INTO crash_t (v) SELECT (SELECT array_agg(random()::real) FROM generate_series(1, 16) d WHERE g > 0)::memory.vector(16)
              FROM generate_series(1, 20) g" 2>/dev/null || return 0
    done
}
insert_loop & a=$!
insert_loop & b=$!
sleep 4
pm="$(head -1 "${data}/postmaster.pid")"
before="$(q -c "SELECT count(*) FROM crash_t" 2>/dev/null || echo '?')"
# The postmaster and all its children at once, like a power cut (the OS
# keeps what was written, the server's memory is lost).
kids="$(pgrep -P "$pm" | tr '\n' ' ')"
kill -9 "$pm" $kids
wait "$a" "$b" 2>/dev/null || true
for _ in $(seq 50); do
    alive=0
    for p in $pm $kids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
done
"$REPO/scripts/server.sh" start "$port" >/dev/null
for _ in $(seq 60); do q -c "SELECT 1" >/dev/null 2>&1 && break; sleep 0.5; done
rows="$(q -c "SELECT count(*) FROM crash_t")"
say "crash: killed the server at ~${before} rows; ${rows} rows committed and recovered"
q <<'SQL'
SET enable_seqscan = off;
SET memory.hnsw_ef_search = 400;
DO $$
DECLARE n bigint; d bigint; total bigint; mismatches int := 0; a bigint[]; b bigint[];
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
    SELECT array_agg(id ORDER BY ord) INTO a FROM (
      SELECT id, row_number() OVER () ord FROM (
        SELECT id FROM crash_t ORDER BY v OPERATOR(memory.<->)
          (SELECT array_agg(sin(i * k)::real) FROM generate_series(1, 16) k)::memory.vector LIMIT 10) s) s2;
    SELECT array_agg(id ORDER BY ord) INTO b FROM (
      SELECT id, row_number() OVER () ord FROM (
        SELECT id FROM crash_copy ORDER BY v OPERATOR(memory.<->)
          (SELECT array_agg(sin(i * k)::real) FROM generate_series(1, 16) k)::memory.vector LIMIT 10) s) s2;
    IF a IS DISTINCT FROM b THEN mismatches := mismatches + 1; END IF;
  END LOOP;
  IF mismatches > 0 THEN
    RAISE EXCEPTION '% of 20 queries differ between the recovered index and a rebuilt one', mismatches;
  END IF;
END $$;
DROP TABLE crash_t;
SQL
say "crash: recovered index returns all ${rows} rows once and answers 20 queries like a rebuilt index"
