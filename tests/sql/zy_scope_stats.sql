-- memory.scope_stats (BM25 statistics and a write version kept by the write
-- path) against a recount from the memories. It runs after the other tests, so every path
-- they took (verbatim and inferred adds, updates, deletes, expiry, purge,
-- tiering, promotion, queued adds) is in the tables it checks.
SET search_path = public, memory;
SET memory.embedder = 'minilm';
CREATE TEMP VIEW stats_drift AS
WITH kept AS (
    SELECT user_id, agent_id, run_id, tier, docs, total_len FROM memory.scope_stats
    WHERE docs <> 0 OR total_len <> 0),
counted AS (
    SELECT user_id, agent_id, run_id, tier, count(*) AS docs, sum(fts_len) AS total_len
    FROM memory.memories WHERE valid_to IS NULL AND expires_at IS NULL GROUP BY 1, 2, 3, 4)
(SELECT 'kept only' AS side, * FROM kept EXCEPT SELECT 'kept only', * FROM counted)
UNION ALL
(SELECT 'counted only', * FROM counted EXCEPT SELECT 'counted only', * FROM kept);

SELECT * FROM stats_drift;

-- Each kind of write, checked right after it.
SELECT jsonb_array_length(memory.add('[{"role": "user", "content": "I play the cello in an orchestra"},
    {"role": "assistant", "content": "Which orchestra?"},
    {"role": "user", "content": "The city orchestra, on Thursdays"}]'::jsonb,
    user_id => 'ks', infer => false)->'results') AS added;
SELECT memory.add('I live in Oslo', user_id => 'ks', agent_id => 'a1')->'results'->0->>'event' AS inferred;
SELECT memory.add('I moved to Bergen', user_id => 'ks', agent_id => 'a1')->'results'->0->>'event' AS conflict;
SELECT * FROM stats_drift;
INSERT INTO memory.memories (memory, user_id, run_id)
SELECT 'bulk note ' || g || ' about cello strings', 'ks', 'r' || (g % 3) FROM generate_series(1, 50) g;
SELECT * FROM stats_drift;
UPDATE memory.memories SET memory = memory || ' and bows' WHERE user_id = 'ks' AND run_id = 'r1';
UPDATE memory.memories SET run_id = 'r9' WHERE user_id = 'ks' AND run_id = 'r2';
SELECT * FROM stats_drift;
SELECT memory.update(id, 'The city orchestra, on Thursdays and Sundays') IS NOT NULL AS updated
FROM memory.memories WHERE user_id = 'ks' AND memory LIKE 'The city orchestra%';
SELECT memory.delete(id) IS NOT NULL AS deleted
FROM memory.memories WHERE user_id = 'ks' AND memory = 'Which orchestra?';
UPDATE memory.memories SET expires_at = now() + interval '1 day' WHERE user_id = 'ks' AND run_id = 'r0';
SELECT * FROM stats_drift;
UPDATE memory.memories SET created_at = created_at - interval '10 days',
       updated_at = updated_at - interval '10 days', valid_from = valid_from - interval '10 days'
WHERE user_id = 'ks' AND run_id = 'r9';
SELECT memory.move_to_cold(array_agg(id), '1 day') AS moved
FROM memory.memories WHERE user_id = 'ks' AND run_id = 'r9';
SELECT * FROM stats_drift;

-- The statistics a search reads are those a recount over the searched set
-- gives: the same BM25 through the kept statistics (a scope) and through a
-- recount (the same scope written as a filter), expiring and cold memories
-- included (the first search promotes the cold memories it returns).
CREATE TEMP TABLE via_stats AS
SELECT memory, explain->'keyword'->>'score' AS bm25
FROM memory.search_rows('cello strings orchestra', user_id => 'ks', top_k => 30, explain => true, include_cold => true);
CREATE TEMP TABLE via_count AS
SELECT memory, explain->'keyword'->>'score' AS bm25
FROM memory.search_rows('cello strings orchestra', filters => '{"user_id": "ks"}', top_k => 30, explain => true, include_cold => true);
SELECT count(*) AS keyword_hits, count(*) FILTER (WHERE s.bm25 = c.bm25) AS same_bm25,
       count(*) FILTER (WHERE m.expires_at IS NOT NULL) > 0 AS expiring_among_them
FROM via_stats s JOIN via_count c USING (memory)
JOIN memory.memories m ON m.memory = s.memory AND m.user_id = 'ks' AND m.valid_to IS NULL
WHERE s.bm25 IS NOT NULL;

SELECT memory.promote(user_id => 'ks', run_id => 'r9') >= 0 AS promoted;
SELECT * FROM stats_drift;
-- The write version: every write to the scope raises it, a search's
-- access-count bump does not.
CREATE TEMP TABLE v(step text, version bigint);
CREATE FUNCTION pg_temp.mark(step text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO v SELECT step, sum(version) FROM memory.scope_stats WHERE user_id = 'ks' $$;
SELECT pg_temp.mark('start');
SELECT count(*) > 0 AS found FROM memory.search_rows('cello', user_id => 'ks');
SELECT pg_temp.mark('search');
UPDATE memory.memories SET immutable = true WHERE user_id = 'ks' AND memory LIKE 'I play the cello%';
SELECT pg_temp.mark('immutable');
UPDATE memory.memories SET metadata = '{"k": 1}' WHERE user_id = 'ks' AND memory LIKE 'I play the cello%';
SELECT pg_temp.mark('metadata only');
SELECT memory.add('Bought new strings', user_id => 'ks', infer => false) IS NOT NULL AS added;
SELECT pg_temp.mark('add');
SELECT step, version > lag(version) OVER (ORDER BY ctid) AS raised FROM v ORDER BY ctid;

SELECT memory.delete_all(user_id => 'ks') > 0 AS cleaned;
SELECT * FROM stats_drift;
SELECT coalesce(sum(docs), 0) AS ks_docs FROM memory.scope_stats WHERE user_id = 'ks';
