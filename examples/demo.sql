-- memory_ext demo: what the extension does today.
\pset footer off
\echo '--- 1. Store a conversation (infer => false keeps each message verbatim)'
SELECT jsonb_pretty(memory.add(
  '[{"role": "user", "content": "Hi, I am Alice. I am single and I live in Paris."},
    {"role": "assistant", "content": "Nice to meet you, Alice!"},
    {"role": "user", "content": "I am allergic to peanuts."}]'::jsonb,
  user_id => 'alice', metadata => '{"source": "onboarding"}', infer => false)) AS added;

SELECT memory.add('Bob prefers tea over coffee', user_id => 'bob', infer => false) IS NOT NULL AS bob_added;

\echo '--- 2. List one user''s memories, newest first (scopes never mix)'
SELECT r->>'memory' AS memory, r->>'role' AS role, r->'metadata' AS metadata
FROM jsonb_array_elements(memory.get_all(user_id => 'alice')->'results') r;

\echo '--- 3. Filter with the Mem0 filter language'
SELECT r->>'memory' AS memory
FROM jsonb_array_elements(memory.get_all(
  filters => '{"AND": [{"user_id": "alice"}, {"role": "user"}, {"metadata.source": {"in": ["onboarding"]}}]}')->'results') r;

\echo '--- 4. Update a fact: the id stays, the old text goes to history'
SELECT id AS fact_id FROM memory.memories
WHERE user_id = 'alice' AND memory LIKE '%single%' \gset
SELECT memory.update(:'fact_id', 'Alice is married and lives in Paris.')->>'memory' AS now;
SELECT h->>'event' AS event, h->>'old_memory' AS old_memory, h->>'new_memory' AS new_memory
FROM jsonb_array_elements(memory.history(:'fact_id')) h;

\echo '--- 5. Search by meaning and by keyword (MiniLM embeddings + BM25, fused)'
SELECT memory.add('[{"role": "user", "content": "My sister Anna is a nurse in Berlin."},
                    {"role": "user", "content": "Order 4521 arrived broken, I asked for a refund."},
                    {"role": "user", "content": "I run every morning before work."}]'::jsonb,
                  user_id => 'alice', infer => false) IS NOT NULL AS added_three_more;
SELECT round(score::numeric, 3) AS score, memory
FROM memory.search_rows('Which foods should Alice avoid?', user_id => 'alice', top_k => 2);
SELECT round(score::numeric, 3) AS score, memory
FROM memory.search_rows('where does her sibling work?', user_id => 'alice', top_k => 1);
SELECT round(score::numeric, 3) AS score, memory, explain->'keyword'->'rank' AS keyword_rank
FROM memory.search_rows('4521', user_id => 'alice', top_k => 1, explain => true);

\echo '--- 6. Vectors: pgvector-compatible types and operators'
CREATE TEMP TABLE docs (id int, embedding memory.vector(3));
INSERT INTO docs VALUES (1, '[1,0,0]'), (2, '[0.9,0.1,0]'), (3, '[0,1,0]');
SELECT id, round((embedding <=> '[1,0,0]')::numeric, 4) AS cosine_distance
FROM docs ORDER BY embedding <=> '[1,0,0]' LIMIT 2;

\echo '--- 7. Clean up one user: every row, with history'
SELECT memory.delete_all(user_id => 'bob') AS bob_deleted;

\echo '--- Not built yet: infer => true (fact extraction and conflict resolution), the memory_hnsw index, the graph.'
