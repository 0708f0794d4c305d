-- memory_hnsw: opclasses, NULLs, empty tables, errors, REINDEX, VACUUM,
-- filtered queries that must return k rows, recall against exact search.
SET search_path = public, memory;
SET client_min_messages = warning;

-- Deterministic data: 3000 points on a few clusters, 16 dimensions.
CREATE TABLE hv (id int PRIMARY KEY, grp int, v memory.vector(16), h memory.halfvec(16));
INSERT INTO hv
SELECT i, i % 50,
       x::memory.vector(16), x::memory.halfvec(16)
FROM generate_series(1, 3000) i,
     LATERAL (SELECT array_agg(((i % 7) * 0.5 + sin(i * d * 0.37) * 0.3 + d * 0.01)::real ORDER BY d) x
              FROM generate_series(1, 16) d) a;
CREATE TABLE hq AS
SELECT q, x::memory.vector(16) AS v
FROM generate_series(1, 20) q,
     LATERAL (SELECT array_agg(((q % 7) * 0.5 + cos(q * d * 0.11) * 0.3)::real ORDER BY d) x
              FROM generate_series(1, 16) d) a;

-- recall@10 of the current plan against an exact scan, over the 20 queries.
CREATE FUNCTION recall(op text, col text, extra text DEFAULT '') RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE q record; got int[]; truth int[]; hits int := 0;
BEGIN
  FOR q IN SELECT * FROM hq ORDER BY q LOOP
    SET LOCAL enable_seqscan = off;
    EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM hv %s ORDER BY %I %s $1::memory.%s LIMIT 10) s',
                   extra, col, op, CASE col WHEN 'v' THEN 'vector' ELSE 'halfvec' END)
      INTO got USING q.v;
    SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off;
    EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM hv %s ORDER BY %I %s $1::memory.%s LIMIT 10) s',
                   extra, col, op, CASE col WHEN 'v' THEN 'vector' ELSE 'halfvec' END)
      INTO truth USING q.v;
    SET LOCAL enable_indexscan = on;
    hits := hits + (SELECT count(*) FROM unnest(got) g WHERE g = ANY(truth));
  END LOOP;
  RETURN round(hits / 200.0, 2);
END $$;

-- Every operator class: the index is used and finds the exact neighbours.
CREATE INDEX hv_l2 ON hv USING memory_hnsw (v vector_l2_ops);
CREATE INDEX hv_cos ON hv USING memory_hnsw (v vector_cosine_ops) WITH (m = 8, ef_construction = 32);
CREATE INDEX hv_ip ON hv USING memory_hnsw (v vector_ip_ops);
CREATE INDEX hh_l2 ON hv USING memory_hnsw (h halfvec_l2_ops);
CREATE INDEX hh_cos ON hv USING memory_hnsw (h halfvec_cosine_ops);
CREATE INDEX hh_ip ON hv USING memory_hnsw (h halfvec_ip_ops);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hv ORDER BY v <-> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM hv ORDER BY h <=> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 5;
RESET enable_seqscan;
-- (ef_search 400: these points come in near-duplicate bunches, a hard case
-- for any HNSW; pgvector's hnsw gets 0.95 at ef_search 100 on them.)
SET memory.hnsw_ef_search = 400;
SELECT 'vector l2' AS opclass, recall('<->', 'v') >= 0.99 AS recall_ok
UNION ALL SELECT 'vector cosine', recall('<=>', 'v') >= 0.99
UNION ALL SELECT 'vector ip', recall('<#>', 'v') >= 0.95
UNION ALL SELECT 'halfvec l2', recall('<->', 'h') >= 0.99
UNION ALL SELECT 'halfvec cosine', recall('<=>', 'h') >= 0.99
UNION ALL SELECT 'halfvec ip', recall('<#>', 'h') >= 0.95;
RESET memory.hnsw_ef_search;
DROP INDEX hv_ip, hh_l2, hh_cos, hh_ip, hv_cos;

-- A scan asked for everything returns every row exactly once, in order
-- within each batch; LIMIT beyond ef_search keeps going.
SET enable_seqscan = off;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM hv ORDER BY v <-> (SELECT v FROM hq WHERE q = 1)) s;
SELECT count(*) FROM (SELECT id FROM hv ORDER BY v <-> (SELECT v FROM hq WHERE q = 1) LIMIT 500) s;

-- Filtered queries return k rows whenever k rows match, even through the
-- index (sort disabled so the planner cannot take the btree path).
SET enable_sort = off; SET enable_bitmapscan = off;
SELECT grp, count(*) FROM (
  SELECT g.grp, s.id FROM (VALUES (0), (17), (49)) g(grp),
  LATERAL (SELECT id FROM hv WHERE hv.grp = g.grp ORDER BY v <-> (SELECT v FROM hq WHERE q = 2) LIMIT 10) s) x
GROUP BY grp ORDER BY grp;
-- A filter matching 3 rows: all 3, not fewer.
SELECT count(*) FROM (SELECT id FROM hv WHERE id IN (5, 1500, 2999) ORDER BY v <-> (SELECT v FROM hq WHERE q = 3) LIMIT 10) s;
-- memory.hnsw_max_scan_tuples bounds the walk (fewer rows, by request).
SET memory.hnsw_max_scan_tuples = 50;
SELECT count(*) <= 50 AS bounded FROM (SELECT id FROM hv ORDER BY v <-> (SELECT v FROM hq WHERE q = 3)) s;
RESET memory.hnsw_max_scan_tuples;
RESET enable_sort; RESET enable_bitmapscan;

-- NULL vectors are not indexed; a NULL query returns rows without order.
INSERT INTO hv VALUES (5001, 1, NULL, NULL);
SELECT count(*) FROM (SELECT id FROM hv ORDER BY v <-> NULL) s;
SELECT count(*) FROM (SELECT id FROM hv ORDER BY v <-> (SELECT v FROM hq WHERE q = 1)) s;

-- Inserts after the build are found.
INSERT INTO hv VALUES (5002, 1, '[9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9]', NULL);
SELECT id FROM hv ORDER BY v <-> '[9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9.1]' LIMIT 1;

-- Dimension mismatch: on insert and in a query.
SELECT sqlstate_of($$INSERT INTO hv VALUES (5003, 1, '[1,2,3]', NULL)$$);
CREATE TABLE hv_free (id int, v memory.vector);
INSERT INTO hv_free VALUES (1, '[1,2,3]'), (2, '[1,2,4]');
CREATE INDEX ON hv_free USING memory_hnsw (v vector_l2_ops);
SELECT sqlstate_of($$INSERT INTO hv_free VALUES (3, '[1,2]')$$);
SELECT sqlstate_of($$SELECT id FROM hv_free ORDER BY v <-> '[1,2]' LIMIT 1$$);
SELECT id FROM hv_free ORDER BY v <-> '[1,2,4.1]' LIMIT 1;

-- Values a 16-bit float cannot hold are refused, not stored as infinity.
SELECT sqlstate_of($$INSERT INTO hv_free VALUES (4, '[70000,1,1]')$$);

-- Exact re-ranking: the index returns lower bounds of the exact distance;
-- zero vectors and large queries (where float rounding differs most
-- between the index and the SQL function) never break the order.
CREATE TABLE hz (id int, v memory.vector(64));
INSERT INTO hz SELECT i, CASE WHEN i % 2 = 0 THEN array_fill(0::real, ARRAY[64])
                              ELSE (SELECT array_agg(sin(i * d)::real) FROM generate_series(1, 64) d WHERE i > 0) END::memory.vector(64)
FROM generate_series(1, 400) i;
CREATE INDEX ON hz USING memory_hnsw (v vector_l2_ops);
SET enable_seqscan = off;
SELECT count(*) FROM generate_series(1, 50) q,
  LATERAL (SELECT id FROM hz ORDER BY v <-> (SELECT array_agg((500 * sin(q + d))::real)
                                             FROM generate_series(1, 64) d)::memory.vector(64) LIMIT 5) s;
RESET enable_seqscan;
DROP TABLE hz;

-- Options are validated.
SELECT sqlstate_of($$CREATE INDEX ON hv USING memory_hnsw (v vector_l2_ops) WITH (m = 1)$$);
SELECT sqlstate_of($$CREATE INDEX ON hv USING memory_hnsw (v vector_l2_ops) WITH (m = 16, ef_construction = 16)$$);
SELECT sqlstate_of($$CREATE INDEX ON hv USING memory_hnsw (v vector_l2_ops) WITH (lists = 3)$$);
SELECT sqlstate_of($$CREATE INDEX ON hv USING memory_hnsw (id)$$);

-- Empty tables, zero vectors under cosine (not indexable, never returned
-- by the index), unlogged tables.
CREATE TABLE hv_empty (v memory.vector(3));
CREATE INDEX ON hv_empty USING memory_hnsw (v vector_cosine_ops);
SELECT count(*) FROM (SELECT v FROM hv_empty ORDER BY v <=> '[1,2,3]' LIMIT 5) s;
INSERT INTO hv_empty VALUES ('[0,0,0]'), ('[1,2,3]'), ('[3,2,1]');
SET enable_seqscan = off;
SELECT v FROM hv_empty ORDER BY v <=> '[1,2,3]' LIMIT 5;
RESET enable_seqscan;
CREATE UNLOGGED TABLE hv_unlogged (v memory.vector(2));
CREATE INDEX ON hv_unlogged USING memory_hnsw (v vector_l2_ops);
INSERT INTO hv_unlogged VALUES ('[1,1]'), ('[5,5]');
SELECT v FROM hv_unlogged ORDER BY v <-> '[4,4]' LIMIT 1;

-- DELETE + VACUUM: dead rows disappear from the index, recall is kept,
-- and the graph stays navigable for new inserts.
DELETE FROM hv WHERE id % 3 = 0;
VACUUM hv;
SET enable_seqscan = off;
SELECT count(*), count(*) FILTER (WHERE id % 3 = 0) AS deleted_returned
FROM (SELECT id FROM hv ORDER BY v <-> (SELECT v FROM hq WHERE q = 4)) s;
RESET enable_seqscan;
SET memory.hnsw_ef_search = 100;
SELECT recall('<->', 'v') >= 0.99 AS recall_after_vacuum;
INSERT INTO hv SELECT id + 10000, grp, v, h FROM hv WHERE id < 300 AND v IS NOT NULL;
SELECT recall('<->', 'v') >= 0.99 AS recall_after_reinserts;
REINDEX INDEX hv_l2;
SELECT recall('<->', 'v') >= 0.99 AS recall_after_reindex;
-- Churn: a tenth of the rows deleted, vacuumed and inserted again (new
-- ids), three times.
-- Inserts write over the tombstones VACUUM leaves, so the index keeps its
-- size (without reuse each round adds about seven pages) and its recall.
CREATE TABLE hv_gone (id int, grp int, v memory.vector(16));
SELECT pg_relation_size('hv_l2') AS churn_start \gset
WITH d AS (DELETE FROM hv WHERE id % 10 = 1 RETURNING id, grp, v) INSERT INTO hv_gone SELECT * FROM d;
VACUUM hv;
INSERT INTO hv (id, grp, v) SELECT id + 100000, grp, v FROM hv_gone;
TRUNCATE hv_gone;
WITH d AS (DELETE FROM hv WHERE id % 10 = 2 RETURNING id, grp, v) INSERT INTO hv_gone SELECT * FROM d;
VACUUM hv;
INSERT INTO hv (id, grp, v) SELECT id + 200000, grp, v FROM hv_gone;
TRUNCATE hv_gone;
WITH d AS (DELETE FROM hv WHERE id % 10 = 4 RETURNING id, grp, v) INSERT INTO hv_gone SELECT * FROM d;
VACUUM hv;
INSERT INTO hv (id, grp, v) SELECT id + 300000, grp, v FROM hv_gone;
SELECT (pg_relation_size('hv_l2') - :churn_start) / 8192 <= 3 AS index_kept_its_size,
       recall('<->', 'v') >= 0.99 AS recall_after_churn;
SET enable_seqscan = off;
SELECT count(*) = (SELECT count(*) FROM hv WHERE v IS NOT NULL) AS every_row_once,
       count(DISTINCT id) = count(*) AS no_duplicates
FROM (SELECT id FROM hv ORDER BY v <-> (SELECT v FROM hq WHERE q = 4)) s;
RESET enable_seqscan;
-- Deleting everything leaves an index that returns nothing.
DELETE FROM hv_free;
VACUUM hv_free;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM hv_free ORDER BY v <-> '[1,2,3]') s;
RESET enable_seqscan;
SELECT amvalidate(oid) FROM pg_opclass WHERE opcmethod = (SELECT oid FROM pg_am WHERE amname = 'memory_hnsw') ORDER BY opcname;
DROP TABLE hv, hq, hv_free, hv_empty, hv_unlogged, hv_gone;
DROP FUNCTION recall;
