-- Statements kept across calls (src/plans.rs) survive schema changes in the
-- same session: PostgreSQL revalidates a kept plan when a table it reads
-- changes, and a dropped and re-created extension (new tables, new type
-- oids) gets plans of its own. Runs in a database of its own.
SET client_min_messages = warning;
CREATE DATABASE memory_plans_test;
\c memory_plans_test
SET client_min_messages = warning;
CREATE EXTENSION memory_ext;
SELECT memory.add('Ana rides a blue road bike to work', user_id => 'p', infer => false) IS NOT NULL AS added;
SELECT memory.add('Ana drinks green tea every morning', user_id => 'p', infer => false) IS NOT NULL AS added;
SELECT memory FROM memory.search_rows('which bike does Ana ride?', user_id => 'p', top_k => 1);
-- a column added and dropped, an index dropped: the next search replans
ALTER TABLE memory.memories ADD COLUMN plans_probe int;
DROP INDEX memory.memories_fts_idx;
SELECT memory FROM memory.search_rows('which bike does Ana ride?', user_id => 'p', top_k => 1);
ALTER TABLE memory.memories DROP COLUMN plans_probe;
SELECT memory FROM memory.search_rows('what does Ana drink?', user_id => 'p', top_k => 1);
-- the extension dropped and created again in the same session
DROP EXTENSION memory_ext CASCADE;
CREATE EXTENSION memory_ext;
SELECT count(*) AS empty FROM memory.search_rows('which bike does Ana ride?', user_id => 'p');
SELECT memory.add('Ana walks to work now', user_id => 'p', infer => false) IS NOT NULL AS added;
SELECT memory FROM memory.search_rows('how does Ana get to work?', user_id => 'p', top_k => 1);
-- a repeated query is served from the session's query-embedding cache,
-- with exactly the scores of a fresh embedding
CREATE TEMP TABLE scores AS
SELECT score AS cached FROM memory.search_rows('how does Ana get to work?', user_id => 'p', top_k => 1);
SET memory.query_cache_size = 0;
SELECT s.score = scores.cached AS same_as_fresh
FROM memory.search_rows('how does Ana get to work?', user_id => 'p', top_k => 1) s, scores;
\c memory_regress
DROP DATABASE memory_plans_test;
