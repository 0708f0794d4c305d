-- memory_ext demo: conversations in, current facts out.
\pset footer off
CREATE FUNCTION pg_temp.show(r jsonb) RETURNS TABLE(event text, memory text, previous_memory text)
LANGUAGE sql AS $$
    SELECT e->>'event', e->>'memory', e->>'previous_memory'
    FROM jsonb_array_elements(r->'results') WITH ORDINALITY AS t(e, n) ORDER BY n
$$;

\echo '--- 0. An HNSW index over the MiniLM embeddings: memory.search uses it for large scopes'
CREATE INDEX memories_minilm_hnsw ON memory.memories
    USING memory_hnsw (embedding memory.vector_cosine_ops) WHERE embedder = 'minilm';

\echo '--- 1. A conversation goes in; the facts worth keeping come out (built-in extractor, offline)'
SELECT * FROM pg_temp.show(memory.add(
  '[{"role": "user", "content": "Hi! I am Alice. I am single and I live in Paris."},
    {"role": "assistant", "content": "Nice to meet you, Alice! How can I help?"},
    {"role": "user", "content": "I am allergic to peanuts. My sister Anna is a nurse in Berlin."},
    {"role": "user", "content": "Order 4521 arrived broken, I asked for a refund. What a day!"}]'::jsonb,
  user_id => 'alice', metadata => '{"source": "onboarding"}'));

\echo '--- 2. A contradiction updates the fact instead of duplicating it; a repeat changes nothing'
SELECT * FROM pg_temp.show(memory.add('Big news: I got married last month!', user_id => 'alice'));
SELECT * FROM pg_temp.show(memory.add('I live in Paris.', user_id => 'alice'));

\echo '--- 3. The full history of that fact (the id never changed)'
SELECT h->>'event' AS event, h->>'old_memory' AS old_memory, h->>'new_memory' AS new_memory, h->>'reason' AS reason
FROM jsonb_array_elements(memory.history(
       (SELECT id FROM memory.memories WHERE user_id = 'alice' AND memory LIKE 'Got married%'))) h;

\echo '--- 4. Search by meaning and by exact words (MiniLM embeddings + BM25, fused)'
SELECT round(score::numeric, 3) AS score, memory
FROM memory.search_rows('Which foods should she avoid?', user_id => 'alice', top_k => 2);
SELECT round(score::numeric, 3) AS score, memory
FROM memory.search_rows('where does her sibling work?', user_id => 'alice', top_k => 1);
SELECT round(score::numeric, 3) AS score, memory, explain->'keyword'->'rank' AS keyword_rank
FROM memory.search_rows('4521', user_id => 'alice', top_k => 1, explain => true);

\echo '--- 5. Scopes never mix, and Mem0 filters narrow a listing'
SELECT memory.add('I am single and I live in Rome.', user_id => 'bob') IS NOT NULL AS bob_added;
SELECT r->>'memory' AS alice_current_memories
FROM jsonb_array_elements(memory.get_all(user_id => 'alice',
       filters => '{"metadata.source": "onboarding"}')->'results') r;

\echo '--- 6. pgvector-compatible vectors for your own tables'
CREATE TEMP TABLE docs (id int, embedding memory.vector(3));
INSERT INTO docs VALUES (1, '[1,0,0]'), (2, '[0.9,0.1,0]'), (3, '[0,1,0]');
SELECT id, round((embedding <=> '[1,0,0]')::numeric, 4) AS cosine_distance
FROM docs ORDER BY embedding <=> '[1,0,0]' LIMIT 2;

\echo '--- 7. The knowledge graph: "Adam is John''s father", weeks later "John is sick": who to tell?'
SELECT memory.add('Adam is John''s father.', user_id => 'alice')->'relations'->'added_entities' AS added_edges;
SELECT memory.add('John is sick.', user_id => 'alice') IS NOT NULL AS added;
SELECT r->'relations' AS relations
FROM (SELECT memory.search('John is sick, who should I tell?', user_id => 'alice') AS r) s;
SELECT source, relation, destination, depth FROM memory.neighbors('alice', user_id => 'alice', depth => 2);

\echo '--- 8. Clean up one user: every row, with history'
SELECT memory.delete_all(user_id => 'bob') AS bob_deleted;

\echo '--- Also: memory.llm = openai (any OpenAI-compatible endpoint), session summaries, categories; see README.'
