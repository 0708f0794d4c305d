-- make bench: built-in inference add throughput and latency with 1k, 10k and
-- 100k existing memories in the scope. Existing memories get random unit
-- vectors (embedding 100k texts would take most of the run); the added
-- messages are embedded for real. Candidates are found by an exact scan of
-- the scope, then (second table) through a memory_hnsw index.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS memory_ext CASCADE;
CREATE EXTENSION memory_ext;

CREATE FUNCTION pg_temp.fill(n int) RETURNS void LANGUAGE sql AS $$
    SELECT memory.reset();
    INSERT INTO memory.memories (memory, user_id, embedding, embedder)
    SELECT 'Background fact number ' || g || ' about topic ' || (g % 97), 'big',
           (SELECT memory.l2_normalize(array_agg(random() - 0.5)::real[]::memory.vector)
            FROM generate_series(1, 384) WHERE g > 0),
           'minilm'
    FROM generate_series(1, n) g;
    ANALYZE memory.memories;
$$;

CREATE FUNCTION pg_temp.adds(runs int) RETURNS TABLE(p50_ms numeric, p95_ms numeric, messages_per_s numeric,
                                                     embed_share numeric)
LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; d float8[] := '{}'; e float8[] := '{}'; msg text;
BEGIN
    FOR i IN 1..runs LOOP
        msg := format('I started learning instrument %s this year. I now work at company %s.', i, i);
        t0 := clock_timestamp();
        PERFORM memory.extract(jsonb_build_array(jsonb_build_object('role', 'user', 'content', msg)));
        PERFORM memory.embed(format('Started learning instrument %s this year', i)),
                memory.embed(format('Now works at company %s', i));
        e := e || extract(epoch FROM clock_timestamp() - t0) * 1000;
        t0 := clock_timestamp();
        PERFORM memory.add(msg, user_id => 'big');
        d := d || extract(epoch FROM clock_timestamp() - t0) * 1000;
    END LOOP;
    RETURN QUERY
    SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY x)::numeric, 1),
           round(percentile_cont(0.95) WITHIN GROUP (ORDER BY x)::numeric, 1),
           round(1000 / avg(x)::numeric, 1),
           round((SELECT avg(y) FROM unnest(e) y)::numeric / avg(x)::numeric, 2)
    FROM unnest(d) x;
END $$;

SELECT memory.embed('warm up') IS NOT NULL AS warm;
\echo == memory.add (built-in inference, minilm), one session, 40 adds each
SELECT 1000 AS existing, * FROM (SELECT pg_temp.fill(1000)) f, pg_temp.adds(40);
SELECT 10000 AS existing, * FROM (SELECT pg_temp.fill(10000)) f, pg_temp.adds(40);
SELECT 100000 AS existing, * FROM (SELECT pg_temp.fill(100000)) f, pg_temp.adds(40);
\echo == the same with a memory_hnsw index on the embeddings (candidates found by index scans)
CREATE FUNCTION pg_temp.indexed(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DROP INDEX IF EXISTS memory.bench_add_hnsw;
    PERFORM pg_temp.fill(n);
    CREATE INDEX bench_add_hnsw ON memory.memories
        USING memory_hnsw (embedding memory.vector_cosine_ops) WHERE embedder = 'minilm';
    ANALYZE memory.memories;
END $$;
SELECT 10000 AS existing, * FROM (SELECT pg_temp.indexed(10000)) f, pg_temp.adds(40);
SELECT 100000 AS existing, * FROM (SELECT pg_temp.indexed(100000)) f, pg_temp.adds(40);
DROP INDEX memory.bench_add_hnsw;
SELECT memory.reset();
