-- make bench: graph walks on 100k entities / 500k relations across 1,000
-- users (100 entities and ~500 edges each, random pairs: denser than real
-- conversation graphs, so paths abound), and the latency graph => true adds
-- to memory.search.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
SELECT memory.reset();
SELECT setseed(0.17);
INSERT INTO memory.entities (user_id, name, entity_type)
SELECT 'u' || (g / 100), 'e' || g, 'person' FROM generate_series(0, 99999) g;
INSERT INTO memory.relations (source_id, relation, target_id, user_id)
SELECT ids[1 + floor(random() * 100)::int], 'rel' || floor(random() * 8)::int, ids[1 + floor(random() * 100)::int], user_id
FROM (SELECT user_id, array_agg(id ORDER BY name) AS ids FROM memory.entities GROUP BY user_id) u,
     generate_series(1, 500) k;
DELETE FROM memory.relations WHERE source_id = target_id;
ANALYZE memory.entities;
ANALYZE memory.relations;
SELECT (SELECT count(*) FROM memory.entities) AS entities, (SELECT count(*) FROM memory.relations) AS relations;

CREATE FUNCTION pg_temp.walks(d int, runs int) RETURNS TABLE(depth int, p50_ms numeric, p95_ms numeric, edges_returned numeric)
LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; x float8[] := '{}'; n bigint; total bigint := 0; u text;
BEGIN
    FOR i IN 1..runs LOOP
        u := 'u' || (i * 37 % 1000);
        t0 := clock_timestamp();
        SELECT count(*) INTO n FROM memory.neighbors('e' || (substr(u, 2)::int * 100 + i % 100), user_id => u, depth => d);
        x := x || extract(epoch FROM clock_timestamp() - t0) * 1000;
        total := total + n;
    END LOOP;
    RETURN QUERY SELECT d,
        round(percentile_cont(0.5) WITHIN GROUP (ORDER BY v)::numeric, 2),
        round(percentile_cont(0.95) WITHIN GROUP (ORDER BY v)::numeric, 2),
        round(total::numeric / runs, 0)
    FROM unnest(x) v;
END $$;
\echo == memory.neighbors on a user with ~500 edges, 200 walks each
SELECT * FROM pg_temp.walks(2, 200);
SELECT * FROM pg_temp.walks(4, 200);

-- add (built-in inference, graph on) among 1,000 tenants' graphs: the
-- entities of the writing scope are found through its range of the scope
-- index, whatever the other tenants hold
CREATE FUNCTION pg_temp.adds(runs int) RETURNS TABLE(p50_ms numeric, p95_ms numeric, edges_per_add numeric)
LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; x float8[] := '{}'; n bigint := 0; r jsonb;
BEGIN
    FOR i IN 1..runs LOOP
        t0 := clock_timestamp();
        r := memory.add('Adam is the father of Person' || i || '. I live in Town' || i || '.',
                        user_id => 'u' || (100 + i));
        x := x || extract(epoch FROM clock_timestamp() - t0) * 1000;
        n := n + jsonb_array_length(r->'relations'->'added_entities');
    END LOOP;
    RETURN QUERY SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY v)::numeric, 2),
        round(percentile_cont(0.95) WITHIN GROUP (ORDER BY v)::numeric, 2), round(n::numeric / runs, 1)
    FROM unnest(x) v;
END $$;
\echo == memory.add (built-in, wordllama) into users of this database, 40 adds
SET memory.embedder = 'wordllama';
SELECT memory.embed('warm up') IS NOT NULL AS warm;
SELECT * FROM pg_temp.adds(40);
RESET memory.embedder;

-- search with and without the graph channel: one user, 200 memories whose
-- texts name the user's entities, queries that name one entity
INSERT INTO memory.memories (memory, user_id, embedding, embedder)
SELECT 'Note ' || g || ' about e' || (700 + g % 100), 'u7',
       (SELECT memory.l2_normalize(array_agg(random() - 0.5)::real[]::memory.vector)
        FROM generate_series(1, 384) WHERE g > 0), 'minilm'
FROM generate_series(1, 200) g;
UPDATE memory.relations r SET memory_id = (SELECT id FROM memory.memories m WHERE m.memory LIKE '% about ' || s.name LIMIT 1)
FROM memory.entities s WHERE s.id = r.source_id AND r.user_id = 'u7';
ANALYZE memory.memories;
CREATE FUNCTION pg_temp.searches(g boolean, runs int) RETURNS TABLE(graph boolean, p50_ms numeric, p95_ms numeric)
LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; x float8[] := '{}';
BEGIN
    FOR i IN 1..runs LOOP
        t0 := clock_timestamp();
        PERFORM memory.search('what do we know about e' || (700 + i % 100), user_id => 'u7', graph => g);
        x := x || extract(epoch FROM clock_timestamp() - t0) * 1000;
    END LOOP;
    RETURN QUERY SELECT g,
        round(percentile_cont(0.5) WITHIN GROUP (ORDER BY v)::numeric, 2),
        round(percentile_cont(0.95) WITHIN GROUP (ORDER BY v)::numeric, 2)
    FROM unnest(x) v;
END $$;
\echo == memory.search (minilm, 200 memories, ~500 edges) without and with the graph channel, 100 each
SELECT memory.embed('warm up') IS NOT NULL AS warm;
SELECT * FROM pg_temp.searches(false, 100);
SELECT * FROM pg_temp.searches(true, 100);
SELECT memory.reset();
