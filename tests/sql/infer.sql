-- memory.add with inference (built-in provider): facts extracted, duplicates
-- and contradictions resolved, history and validity kept, atomic.
SET search_path = public, memory;

-- extraction alone writes nothing
SELECT memory.extract('[{"role": "user", "content": "Hi! I am single and I live in Paris. What is the weather like?"},
                        {"role": "assistant", "content": "It is sunny in Paris."}]');
SELECT memory.extract('[{"role": "user", "content": "我住在北京。你好！"}, {"role": "user", "content": "Ich bin Vegetarierin."}]');
SELECT count(*) AS written FROM memory.memories;
SHOW memory.llm;

CREATE FUNCTION pg_temp.events(r jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg((e->>'event') || ': ' || (e->>'memory')
                               || coalesce(' (was: ' || (e->>'previous_memory') || ')', ''), '; ' ORDER BY n), 'nothing')
    FROM jsonb_array_elements(r->'results') WITH ORDINALITY AS t(e, n)
$$;
CREATE FUNCTION pg_temp.current(u text) RETURNS text[] LANGUAGE sql AS $$
    SELECT array_agg(memory ORDER BY memory) FROM memory.memories
    WHERE user_id = u AND valid_to IS NULL
$$;

-- single → married: one current memory, an UPDATE in history
SELECT pg_temp.events(memory.add('Hi! I am single, and I live in Paris. I have a dog named Rex.', user_id => 'alice'));
SELECT pg_temp.events(memory.add('Big news: I got married last month!', user_id => 'alice'));
SELECT pg_temp.current('alice');
SELECT h.event, h.old_memory, h.new_memory, h.reason
FROM memory.history h JOIN memory.memories m ON m.id = h.memory_id
WHERE m.memory = 'Got married last month' ORDER BY h.id;
-- the same fact in other words: NONE
SELECT pg_temp.events(memory.add('I live in Paris now, still!', user_id => 'alice'));
SELECT pg_temp.events(memory.add('I live in Paris.', user_id => 'alice'));
-- negation: DELETE; the row stays with valid_to set (queryable as history)
SELECT pg_temp.events(memory.add('Sadly I no longer have a dog.', user_id => 'alice'));
SELECT memory, valid_to IS NOT NULL AS superseded FROM memory.memories WHERE memory = 'Has a dog named Rex';
SELECT memories_of(memory.get_all(user_id => 'alice')) AS current_only;
SELECT count(*) AS found FROM memory.search_rows('dog Rex', user_id => 'alice', top_k => 10) WHERE memory LIKE '%Rex%';
SELECT event, old_memory, is_deleted, reason FROM memory.history
WHERE memory_id = (SELECT id FROM memory.memories WHERE memory = 'Has a dog named Rex') ORDER BY id;
-- facts about the sister do not touch the user's own
SELECT pg_temp.events(memory.add('My sister lives in Berlin. My sister is married.', user_id => 'alice'));
SELECT pg_temp.events(memory.add('My sister moved to Munich', user_id => 'alice'));
SELECT pg_temp.current('alice');
-- moving updates the residence, unrelated facts stay side by side
SELECT pg_temp.events(memory.add('I moved to Lyon. I love cycling.', user_id => 'alice'));
SELECT pg_temp.current('alice');
-- questions, greetings and small talk add nothing
SELECT pg_temp.events(memory.add('[{"role":"user","content":"Thanks! What time is it?"},{"role":"assistant","content":"It is noon."}]'::jsonb, user_id => 'alice'));

-- other languages stay in their language
SELECT pg_temp.events(memory.add('Estoy soltera y vivo en Madrid.', user_id => 'lucia'));
SELECT pg_temp.events(memory.add('Me casé en junio.', user_id => 'lucia'));
SELECT pg_temp.events(memory.add('Ich wohne in Hamburg. Ich habe einen Hund.', user_id => 'jonas'));
SELECT pg_temp.events(memory.add('Ich habe keinen Hund mehr.', user_id => 'jonas'));
SELECT pg_temp.events(memory.add('我住在北京。我喜欢喝绿茶。', user_id => 'wei'));
SELECT pg_temp.events(memory.add('我搬到了上海。', user_id => 'wei'));
SELECT user_id, pg_temp.current(user_id) FROM (VALUES ('lucia'), ('jonas'), ('wei')) v(user_id);

-- scopes never mix: the same fact for another user is an ADD there
SELECT pg_temp.events(memory.add('I am single.', user_id => 'bob'));
SELECT pg_temp.events(memory.add('I am single.', user_id => 'carl'));
SELECT pg_temp.events(memory.add('I got married.', user_id => 'carl'));
SELECT pg_temp.current('bob') AS bob, pg_temp.current('carl') AS carl;
SELECT pg_temp.current('alice') @> ARRAY['Got married last month'] AS alice_untouched;

-- metadata, expiration, timestamp and actor are kept
SELECT pg_temp.events(memory.add('[{"role":"user","content":"I am allergic to penicillin.","name":"carol"}]'::jsonb,
                                 user_id => 'carol', metadata => '{"source": "intake"}',
                                 "timestamp" => '2024-01-01 00:00:00+00', expiration_date => '2100-01-01'));
SELECT memory, actor_id, metadata, created_at = '2024-01-01 00:00:00+00' AS imported, expires_at IS NOT NULL AS expires
FROM memory.memories WHERE user_id = 'carol';

-- immutable memories are never updated or deleted by inference
UPDATE memory.memories SET immutable = true WHERE user_id = 'bob' AND memory = 'Is single';
SELECT pg_temp.events(memory.add('I am divorced.', user_id => 'bob'));
SELECT pg_temp.current('bob');

-- everyday phrasing (#20): a negated habit ends it, a preference or an
-- allergy said in other words is not stored twice, two allergies stay two,
-- a career change said indirectly replaces the old job and its graph edge
SELECT pg_temp.events(memory.add('I play tennis every Sunday.', user_id => 'phr'));
SELECT pg_temp.events(memory.add('I don''t play tennis anymore.', user_id => 'phr'));
SELECT pg_temp.events(memory.add('I love hiking.', user_id => 'phr'));
SELECT pg_temp.events(memory.add('I enjoy hiking.', user_id => 'phr'));
SELECT pg_temp.events(memory.add('I am allergic to peanuts.', user_id => 'phr'));
SELECT pg_temp.events(memory.add('I have an allergy to peanuts.', user_id => 'phr'));
SELECT pg_temp.events(memory.add('I am allergic to shellfish.', user_id => 'phr'));
SELECT pg_temp.events(memory.add('I work at Acme.', user_id => 'phr'));
SELECT pg_temp.events(memory.add('I changed careers and now I work as a nurse at the city hospital.', user_id => 'phr'));
SELECT pg_temp.current('phr');
SELECT source, relation, destination FROM memory.neighbors('phr', user_id => 'phr', depth => 1)
WHERE relation = 'works_at';
SELECT memory.delete_all(user_id => 'phr') > 0 AS cleaned;

-- a failing embedder rolls the whole add back
SET memory.embedding_url = 'http://127.0.0.1:28818/v1';
SET memory.embedder = 'openai';
SET memory.embedding_model = 'stub-500';
SELECT count(*) AS before FROM memory.memories;
SELECT sqlstate_of($$SELECT memory.add('I live in Oslo.', user_id => 'dan')$$);
SELECT count(*) AS after FROM memory.memories;
RESET memory.embedder;
RESET memory.embedding_model;
RESET memory.embedding_url;

-- not available yet: refused, not faked
SELECT memory.add('I like tea', user_id => 'dan', prompt => 'Summarize the session');
SELECT sqlstate_of($$SELECT memory.add('I like tea', user_id => 'dan', run_id => 'r1', memory_type => 'summary')$$);
SET memory.llm = 'openai';
SELECT sqlstate_of($$SELECT memory.add('I like tea', user_id => 'dan')$$);
SET memory.llm = 'gpt';
SELECT sqlstate_of($$SELECT memory.add('I like tea', user_id => 'dan')$$);
RESET memory.llm;
SELECT memory.delete_all(user_id => u) FROM unnest(ARRAY['alice', 'bob', 'carl', 'lucia', 'jonas', 'wei', 'carol']) u;
