-- memory.add with infer => false: verbatim storage, Mem0 JSON, validation.
SET search_path = public, memory;

-- a plain string is one user message
SELECT jsonb_path_query_array(r, '$.results[*].event') AS events,
       memories_of(r), r->'relations' AS relations,
       jsonb_path_query_array(r, '$.results[*].role') AS roles
FROM memory.add('I love green tea', user_id => 'alice', infer => false) r;

-- a Mem0 message list: roles and actors kept, system messages skipped, order kept
SELECT memories_of(r), jsonb_path_query_array(r, '$.results[*].role') AS roles,
       jsonb_path_query_array(r, '$.results[*].actor_id') AS actors
FROM memory.add('[{"role": "system", "content": "You are helpful."},
                  {"role": "user", "content": "I live in Paris", "name": "ally"},
                  {"role": "assistant", "content": "Paris is lovely."},
                  {"role": "user", "content": "   "}]'::jsonb,
                user_id => 'alice', agent_id => 'travel-bot', run_id => 'r1',
                metadata => '{"topic": "travel"}', infer => false) r;

-- a single message object and a JSON string work too
SELECT memories_of(memory.add('{"role": "user", "content": "Ich trinke gern Tee"}'::jsonb, user_id => 'bob', infer => false));
SELECT memories_of(memory.add('"我喜欢喝茶"'::jsonb, user_id => 'bob', infer => false));

-- stored rows: scope, metadata, hash of the normalized text, history 'ADD'
SELECT memory, user_id, agent_id, run_id, role, actor_id, metadata, memory_type,
       hash = md5('i live in paris') AS hash_ok, memory.dims(embedding) AS dims, embedder, tier
FROM memory.memories WHERE user_id = 'alice' ORDER BY created_at;
SELECT h.event, h.new_memory, h.old_memory IS NULL AS no_old, h.user_id, h.role
FROM memory.history h JOIN memory.memories m ON m.id = h.memory_id
WHERE m.user_id = 'alice' ORDER BY h.id;

-- memory_type, app_id, expiration_date and timestamp
SELECT memories_of(memory.add('Step 1: open the valve', agent_id => 'plumber', memory_type => 'procedural',
                              app_id => 'home', infer => false));
SELECT memory_type, app_id FROM memory.memories WHERE agent_id = 'plumber';
SELECT memories_of(memory.add('Met Carol at the conference', user_id => 'carol',
                              "timestamp" => '2024-03-01 10:00:00+00', infer => false));
SELECT created_at = '2024-03-01 10:00:00+00' AS created, valid_from = '2024-03-01 10:00:00+00' AS valid_from
FROM memory.memories WHERE user_id = 'carol';
SELECT memories_of(memory.add('Temporary code 1234', user_id => 'carol',
                              expiration_date => now() - interval '1 day', infer => false));
SELECT memories_of(memory.get_all(user_id => 'carol')) AS expired_not_listed;
SELECT count(*) AS expired_rows_kept FROM memory.memories WHERE user_id = 'carol' AND expires_at < now();

-- the whole add is one statement: a failure writes nothing
SELECT count(*) AS before FROM memory.memories;
SELECT sqlstate_of($$SELECT memory.add('[{"role":"user","content":"ok"},{"role":"user","content":5}]'::jsonb, user_id => 'zed', infer => false)$$);
SELECT count(*) AS after FROM memory.memories;
-- a failure while writing the second message leaves no trace of the first
CREATE FUNCTION pg_temp.boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.memory = 'boom' THEN RAISE EXCEPTION 'refusing %', NEW.memory; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER boom BEFORE INSERT ON memory.memories FOR EACH ROW EXECUTE FUNCTION pg_temp.boom();
SELECT sqlstate_of($$SELECT memory.add('[{"role":"user","content":"first"},{"role":"user","content":"boom"}]'::jsonb, user_id => 'zed', infer => false)$$);
DROP TRIGGER boom ON memory.memories;
SELECT (SELECT count(*) FROM memory.memories) AS memories_after, (SELECT count(*) FROM memory.history WHERE user_id = 'zed') AS zed_history;

-- validation errors
SELECT memory.add('hello', infer => false);
SELECT sqlstate_of($$SELECT memory.add('hello', user_id => '', infer => false)$$);
SELECT sqlstate_of($$SELECT memory.add(NULL::text, user_id => 'a', infer => false)$$);
SELECT sqlstate_of($$SELECT memory.add('[]'::jsonb, user_id => 'a', infer => false)$$);
-- with inference too, messages without any text are refused (22023), as by add_async
SELECT sqlstate_of($$SELECT memory.add('[]'::jsonb, user_id => 'a')$$);
SELECT sqlstate_of($$SELECT memory.add('   ', user_id => 'a')$$);
SELECT sqlstate_of($$SELECT memory.add('[{"role":"user","content":""}]'::jsonb, user_id => 'a')$$);
SELECT sqlstate_of($$SELECT memory.add_async('[]'::jsonb, user_id => 'a')$$);
SELECT sqlstate_of($$SELECT memory.add('[{"role":"system","content":"x"}]'::jsonb, user_id => 'a', infer => false)$$);
SELECT sqlstate_of($$SELECT memory.add('[{"content":"x"}]'::jsonb, user_id => 'a', infer => false)$$);
SELECT sqlstate_of($$SELECT memory.add('[{"role":"boss","content":"x"}]'::jsonb, user_id => 'a', infer => false)$$);
SELECT sqlstate_of($$SELECT memory.add('5'::jsonb, user_id => 'a', infer => false)$$);
SELECT sqlstate_of($$SELECT memory.add('x', user_id => 'a', metadata => '[1]', infer => false)$$);
SELECT sqlstate_of($$SELECT memory.add('x', user_id => 'a', memory_type => 'facts', infer => false)$$);
SELECT sqlstate_of($$SELECT memory.add('x', user_id => 'a', prompt => 'summarize', infer => false)$$);
SELECT sqlstate_of($$SELECT memory.add('x', user_id => repeat('u', 600), infer => false)$$);
SELECT sqlstate_of($$SELECT memory.add('x', user_id => 'a', app_id => ' ', infer => false)$$);
SELECT sqlstate_of($$INSERT INTO memory.memories (memory) VALUES ('no scope')$$);
