-- memory.add with an OpenAI-compatible LLM (memory.llm = 'openai') against the
-- scripted stub on 127.0.0.1:28818 (tests/stub_openai.py; the model name
-- picks its behaviour). Every failure: a clear error, nothing written, no
-- lock left behind.
SET search_path = public, memory;
SET memory.llm = 'openai';
SET memory.llm_url = 'http://127.0.0.1:28818/v1';
SET memory.llm_model = 'llm-basic';
SET memory.llm_api_key = 'sk-llm-secret';

CREATE FUNCTION pg_temp.events(r jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg((e->>'event') || ': ' || (e->>'memory')
                               || coalesce(' (was: ' || (e->>'previous_memory') || ')', ''), '; ' ORDER BY n), 'nothing')
    FROM jsonb_array_elements(r->'results') WITH ORDINALITY AS t(e, n)
$$;
CREATE FUNCTION pg_temp.current(u text) RETURNS text[] LANGUAGE sql AS $$
    SELECT array_agg(memory ORDER BY memory) FROM memory.memories
    WHERE user_id = u AND valid_to IS NULL
$$;
-- the chat requests logged by the stub since the mark, in order
CREATE TABLE pg_temp.mark AS SELECT 0 AS lines;
CREATE FUNCTION pg_temp.set_mark() RETURNS void LANGUAGE sql AS $$
    UPDATE pg_temp.mark SET lines = (SELECT count(*) FROM regexp_split_to_table(
        pg_read_file('/tmp/memory_ext_stub_28818.log'), E'\n') l WHERE l <> '')
$$;
CREATE FUNCTION pg_temp.requests() RETURNS TABLE(n bigint, kind text, model text, auth boolean, json_mode boolean, messages jsonb)
LANGUAGE sql AS $$
    SELECT n - (SELECT lines FROM pg_temp.mark), l->>'kind', l->>'model', (l->>'auth')::boolean,
           (l->>'json_mode')::boolean, l->'messages'
    FROM (SELECT line::jsonb AS l, n FROM regexp_split_to_table(pg_read_file('/tmp/memory_ext_stub_28818.log'), E'\n')
          WITH ORDINALITY AS t(line, n) WHERE line <> '') x
    WHERE n > (SELECT lines FROM pg_temp.mark) AND l->>'path' = '/v1/chat/completions'
    ORDER BY n
$$;
CREATE FUNCTION pg_temp.locks() RETURNS bigint LANGUAGE sql AS
    $$ SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() $$;

-- extraction alone: one request, nothing written, the user's language kept
SELECT pg_temp.set_mark();
SELECT memory.extract('[{"role": "user", "content": "Hi! I am single. I live in Paris. What time is it?"},
                        {"role": "assistant", "content": "It is noon."},
                        {"role": "user", "content": "Ich wohne in Köln."}]');
SELECT n, kind, model, auth, json_mode, jsonb_array_length(messages) AS messages,
       messages->2->>'content' AS transcript
FROM pg_temp.requests();
SELECT count(*) AS written FROM memory.memories WHERE user_id = 'llm';

-- first add: no memories yet, so one request only (extraction), all ADD
SELECT pg_temp.set_mark();
SELECT pg_temp.events(memory.add('I am single. I live in Paris. I have a dog.', user_id => 'llm'));
SELECT count(*) AS requests FROM pg_temp.requests();

-- second add: exactly two requests; the decision request lists the
-- candidates with small integer ids (never uuids)
SELECT pg_temp.set_mark();
SELECT pg_temp.events(memory.add('I am married. I moved to Berlin. I like tea.', user_id => 'llm'));
SELECT n, kind FROM pg_temp.requests();
SELECT jsonb_pretty(jsonb_build_object(
         'ids', (SELECT jsonb_agg(e->'id' ORDER BY e->>'id') FROM jsonb_array_elements(d->'existing_memories') e),
         'texts', (SELECT jsonb_agg(e->'text' ORDER BY e->>'text') FROM jsonb_array_elements(d->'existing_memories') e),
         'new_facts', d->'new_facts')) AS decision_input
FROM (SELECT (messages->1->>'content')::jsonb AS d FROM pg_temp.requests() WHERE kind = 'decide') x;
SELECT (SELECT messages::text FROM pg_temp.requests() WHERE kind = 'decide')
       ~ '[0-9a-f]{8}-[0-9a-f]{4}-' AS uuid_sent;
SELECT pg_temp.current('llm');
SELECT h.event, h.old_memory, h.new_memory, h.reason FROM memory.history h
JOIN memory.memories m ON m.id = h.memory_id WHERE m.user_id = 'llm' AND h.event = 'UPDATE' ORDER BY h.new_memory;
-- the same fact again: NONE; a negation: DELETE (row kept with valid_to)
SELECT pg_temp.events(memory.add('I like tea.', user_id => 'llm'));
SELECT pg_temp.events(memory.add('I no longer have a dog.', user_id => 'llm'));
SELECT memory, valid_to IS NOT NULL AS superseded FROM memory.memories WHERE user_id = 'llm' AND memory = 'Has a dog';
SELECT pg_temp.locks() AS locks_after_success;

-- failures: a clear error, nothing written, no lock kept
CREATE TABLE pg_temp.before AS SELECT (SELECT count(*) FROM memory.memories) AS m, (SELECT count(*) FROM memory.history) AS h;
CREATE FUNCTION pg_temp.unchanged() RETURNS boolean LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM memory.memories) = m AND (SELECT count(*) FROM memory.history) = h FROM pg_temp.before
$$;
CREATE FUNCTION pg_temp.try_model(model text, msg text) RETURNS TABLE(error text, requests bigint, unchanged boolean, locks bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_temp.set_mark();
    PERFORM set_config('memory.llm_model', model, true);
    error := sqlstate_of(format('SELECT memory.add(%L, user_id => %L)', msg, 'llm'));
    requests := (SELECT count(*) FROM pg_temp.requests());
    unchanged := pg_temp.unchanged();
    locks := pg_temp.locks();
    RETURN NEXT;
END $$;
-- an invented id, twice: error after one corrective retry (2 + 1 requests)
SELECT * FROM pg_temp.try_model('llm-invent', 'I am divorced.');
-- the corrective request carries the rejected answer and the reason
SELECT messages->-2->>'role' AS role, messages->-1->>'content' AS correction
FROM pg_temp.requests() WHERE n = (SELECT max(n) FROM pg_temp.requests());
-- an invented id once, then a valid answer: applied (the scope lock is
-- held until the transaction ends, as every transaction-level lock)
SELECT * FROM pg_temp.try_model('llm-invent-once', 'I am divorced.');
SELECT pg_temp.current('llm');
DELETE FROM pg_temp.before;
INSERT INTO pg_temp.before SELECT (SELECT count(*) FROM memory.memories), (SELECT count(*) FROM memory.history);
-- an UPDATE without a text
SELECT * FROM pg_temp.try_model('llm-notext', 'I live in Rome.');
-- malformed JSON, always and once
SELECT * FROM pg_temp.try_model('llm-malformed', 'I live in Rome.');
SELECT * FROM pg_temp.try_model('llm-malformed-once', 'I like coffee.');
SELECT pg_temp.events(memory.add('I like coffee.', user_id => 'llm')) AS coffee_known_now;
DELETE FROM pg_temp.before;
INSERT INTO pg_temp.before SELECT (SELECT count(*) FROM memory.memories), (SELECT count(*) FROM memory.history);
-- an answer cut off at the token limit
SELECT * FROM pg_temp.try_model('llm-length', 'I live in Rome.');
-- HTTP 500 and 429: retried once, then an error
SELECT * FROM pg_temp.try_model('llm-500', 'I live in Rome.');
SELECT * FROM pg_temp.try_model('llm-429', 'I live in Rome.');
-- the API key never shows in an error
SELECT position('sk-llm-secret' IN error) = 0 AS key_not_shown FROM pg_temp.try_model('llm-500', 'x y z');
-- no endpoint listening
SET memory.llm_url = 'http://127.0.0.1:9/v1';
SELECT * FROM pg_temp.try_model('llm-basic', 'I live in Rome.');
SET memory.llm_url = 'http://127.0.0.1:28818/v1';
-- a slow answer: memory.llm_timeout_ms, and statement_timeout cancels it
SET memory.llm_timeout_ms = 300;
SELECT * FROM pg_temp.try_model('llm-slow', 'I live in Rome.');
RESET memory.llm_timeout_ms;
SET memory.llm_model = 'llm-slow';
SET statement_timeout = '300ms';
\set VERBOSITY terse
SELECT clock_timestamp() AS t0 \gset
SELECT memory.add('I live in Rome.', user_id => 'llm');
\set VERBOSITY default
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1.5 s' AS cancelled_quickly, pg_temp.unchanged() AS unchanged,
       pg_temp.locks() AS locks;
SET memory.llm_model = 'llm-basic';
-- in a transaction block: a failed add rolls back with the statement, earlier work stays
BEGIN;
SELECT pg_temp.events(memory.add('I work at Acme.', user_id => 'llm'));
SAVEPOINT s;
SET LOCAL memory.llm_model = 'llm-invent';
SELECT sqlstate_of($$SELECT memory.add('I work at Globex.', user_id => 'llm')$$) AS failed;
ROLLBACK TO s;
SELECT pg_temp.events(memory.add('I work at Globex.', user_id => 'llm'));
COMMIT;
SELECT pg_temp.current('llm');

-- a custom extraction prompt is sent instead of the default one
SELECT pg_temp.set_mark();
SELECT memory.extract('[{"role": "user", "content": "I like jazz."}]', prompt => 'Keep only musical tastes.');
SELECT messages->0->>'content' AS system_prompt FROM pg_temp.requests();

-- categories: from memory.custom_categories, or per call in metadata; the
-- model's tags are kept when listed (the stub also sends an unlisted one,
-- which is dropped)
SET memory.custom_categories = 'music: songs and bands, food';
SELECT pg_temp.events(memory.add('I like jazz music.', user_id => 'cats'));
RESET memory.custom_categories;
SELECT pg_temp.events(memory.add('I like sushi food.', user_id => 'cats',
    metadata => '{"custom_categories": [{"food": "what the user eats"}], "source": "chat"}'));
SELECT memory, categories, metadata FROM memory.memories WHERE user_id = 'cats' ORDER BY memory;
SELECT sqlstate_of($$SELECT memory.add('x', user_id => 'cats', metadata => '{"custom_categories": 5}')$$);

-- session summary: one per run_id, rewritten in place (same id, history)
SELECT pg_temp.events(memory.add('We plan a trip to Japan.', user_id => 'sum', run_id => 's1', memory_type => 'summary'));
SELECT id AS first_id FROM memory.memories WHERE run_id = 's1' \gset
SELECT pg_temp.events(memory.add('The budget is 3000 euros.', user_id => 'sum', run_id => 's1', memory_type => 'summary'));
SELECT pg_temp.events(memory.add('Another session.', user_id => 'sum', run_id => 's2', memory_type => 'summary'));
SELECT run_id, memory, memory_type, id = :'first_id' AS same_id FROM memory.memories WHERE user_id = 'sum' ORDER BY run_id;
SELECT event, old_memory, new_memory FROM memory.history WHERE memory_id = :'first_id' ORDER BY id;
SELECT sqlstate_of($$SELECT memory.add('x', user_id => 'sum', memory_type => 'summary')$$);
-- facts of the same run are not decided against the summary
SELECT pg_temp.events(memory.add('I am vegan.', user_id => 'sum', run_id => 's1'));

RESET memory.llm_model;
RESET memory.llm_api_key;
RESET memory.llm_url;
RESET memory.llm;
SELECT memory.delete_all(user_id => 'llm'), memory.delete_all(user_id => 'cats'), memory.delete_all(user_id => 'sum');
