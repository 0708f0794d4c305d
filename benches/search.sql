-- make bench: search latency and embedding throughput (one backend, one core).
-- 100k generated memories across 1,000 users with skewed sizes: user u0 has
-- 10k memories, u1000 has 1k, u1..u999 about 89 each. Stored vectors are
-- random unit vectors (embedding 100k texts would take most of the run);
-- queries are embedded for real, so the timings include the query's embedding.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS memory_ext CASCADE;
CREATE EXTENSION memory_ext;

CREATE TEMP TABLE words(w) AS
SELECT unnest(string_to_array('tea coffee dog cat berlin paris lisbon nurse doctor teacher piano guitar
 marathon football tennis vegetarian vegan allergic peanuts gluten sister brother mother father son
 daughter wife husband car bike train flight holiday beach mountain book film music jazz rock
 invoice order refund meeting project deadline manager office salary rent house garden kitchen
 birthday anniversary wedding doctor appointment medicine pharmacy hospital school exam
 japanese spanish german french chinese lesson course yoga running swimming cycling', ' '));
CREATE TEMP TABLE w AS SELECT row_number() OVER () AS i, w FROM words;
SELECT count(*) AS vocabulary FROM w \gset

\echo == loading 100,000 memories
\timing on
INSERT INTO memory.memories (memory, user_id, embedding, embedder, created_at)
SELECT (SELECT string_agg(w, ' ') FROM w WHERE i IN (1 + (g * 7) % :vocabulary, 1 + (g * 13) % :vocabulary,
                                                   1 + (g * 31) % :vocabulary, 1 + (g * 57) % :vocabulary)),
       CASE WHEN g <= 10000 THEN 'u0' WHEN g <= 11000 THEN 'u1000' ELSE 'u' || (1 + g % 999) END,
       (SELECT memory.l2_normalize(array_agg(random() - 0.5)::real[]::memory.vector)
        FROM generate_series(1, 384) WHERE g > 0),
       'minilm', now() - g * interval '1 minute'
FROM generate_series(1, 100000) g;
\timing off
-- As autovacuum would (and before the timings, not during them): merges the
-- GIN index's pending list of the bulk load, which each keyword scan would
-- otherwise read whole.
VACUUM ANALYZE memory.memories;
SELECT count(*) AS memories, count(DISTINCT user_id) AS users,
       (SELECT count(*) FROM memory.memories WHERE user_id = 'u0') AS u0,
       (SELECT count(*) FROM memory.memories WHERE user_id = 'u1000') AS u1000,
       (SELECT count(*) FROM memory.memories WHERE user_id = 'u1') AS u1
FROM memory.memories;

CREATE TEMP TABLE queries(q) AS VALUES
 ('what does the user drink in the morning?'), ('where does my sister live'), ('piano lessons'),
 ('when is the wedding anniversary?'), ('which medicine should I avoid'), ('order refund status'),
 ('favourite holiday destination'), ('does the user have pets'), ('marathon training plan'),
 ('what language is the user learning'), ('rent and salary'), ('jazz music');

CREATE FUNCTION pg_temp.timed(sql text, runs int) RETURNS TABLE(p50_ms numeric, p95_ms numeric, mean_ms numeric)
LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; d float8[] := '{}'; q text;
BEGIN
    FOR r IN 1..runs LOOP
        FOR q IN SELECT queries.q FROM queries LOOP
            t0 := clock_timestamp();
            EXECUTE sql USING q;
            d := d || extract(epoch FROM clock_timestamp() - t0) * 1000;
        END LOOP;
    END LOOP;
    RETURN QUERY SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY x)::numeric, 2),
                        round(percentile_cont(0.95) WITHIN GROUP (ORDER BY x)::numeric, 2),
                        round(avg(x)::numeric, 2) FROM unnest(d) x;
END $$;

\echo == embedding throughput, one core (sentences/s)
SELECT memory.embed('warm up') IS NOT NULL AS warm;
SET memory.embedder = 'wordllama';
SELECT memory.embed('warm up') IS NOT NULL AS warm;
RESET memory.embedder;
CREATE TEMP TABLE sentences AS SELECT memory AS s FROM memory.memories WHERE user_id = 'u1' LIMIT 200;
SELECT e AS embedder,
       round(200 / extract(epoch FROM (SELECT clock_timestamp() - t0 FROM
            (SELECT clock_timestamp() AS t0, set_config('memory.embedder', e, true)) s,
            LATERAL (SELECT count(memory.embed(s)) FROM sentences) c))::numeric, 0) AS sentences_per_s
FROM unnest(ARRAY['minilm', 'wordllama']) e;

\echo == memory.search latency (ms), minilm, including the query embedding
-- Each query is asked 3 times: the per-session query-embedding cache is off
-- for these rows, so every search embeds its query.
SET memory.query_cache_size = 0;
SELECT 'query embedding only' AS what, * FROM pg_temp.timed('SELECT memory.embed($1)', 3);
SELECT 'user with ~90 memories' AS what, * FROM pg_temp.timed('SELECT memory.search($1, user_id => ''u1'')', 3);
SELECT 'user with 1,000 memories' AS what, * FROM pg_temp.timed('SELECT memory.search($1, user_id => ''u1000'')', 3);
SELECT 'user with 10,000 memories' AS what, * FROM pg_temp.timed('SELECT memory.search($1, user_id => ''u0'')', 3);
SELECT 'u0, keyword channel only' AS what, * FROM pg_temp.timed('SELECT memory.search($1, user_id => ''u0'', vector_weight => 0)', 3);
RESET memory.query_cache_size;
SELECT 'u1, repeated queries (cached embedding)' AS what, * FROM pg_temp.timed('SELECT memory.search($1, user_id => ''u1'')', 3);

\echo == the same with wordllama (stored vectors re-typed as 256-d for u0, u1000 and u1)
UPDATE memory.memories SET embedder = 'wordllama',
       embedding = (SELECT memory.l2_normalize(array_agg(random() - 0.5)::real[]::memory.vector)
                    FROM generate_series(1, 256) WHERE id IS NOT NULL)
WHERE user_id IN ('u0', 'u1000', 'u1');
-- As after the bulk load: the update left a dead version of each of those
-- rows (and their index entries), which autovacuum would clear in its time.
VACUUM ANALYZE memory.memories;
SET memory.embedder = 'wordllama';
SELECT 'query embedding only' AS what, * FROM pg_temp.timed('SELECT memory.embed($1)', 3);
SELECT 'user with ~90 memories' AS what, * FROM pg_temp.timed('SELECT memory.search($1, user_id => ''u1'')', 3);
SELECT 'user with 1,000 memories' AS what, * FROM pg_temp.timed('SELECT memory.search($1, user_id => ''u1000'')', 3);
SELECT 'user with 10,000 memories' AS what, * FROM pg_temp.timed('SELECT memory.search($1, user_id => ''u0'')', 3);
