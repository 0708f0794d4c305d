-- Embedders: the built-ins, and an OpenAI-compatible endpoint (a scripted stub
-- on 127.0.0.1:28818) with every failure path. A failed embedding writes
-- nothing.
SET search_path = public, memory;

-- built-ins: dimensions, unit length, deterministic, similar sentences closer
SELECT memory.dims(memory.embed('hello')) AS minilm_dims, round(memory.l2_norm(memory.embed('hello'))::numeric, 4) AS norm;
SELECT memory.embed('same text') = memory.embed('same text') AS deterministic;
SELECT round((1 - (memory.embed('A man is eating food.') <=> memory.embed('A man is eating a piece of bread.')))::numeric, 3) AS minilm_reference;
SELECT (memory.embed('I love my dog') <=> memory.embed('I adore my puppy'))
     < (memory.embed('I love my dog') <=> memory.embed('The stock market fell')) AS closer;
SET memory.embedder = 'wordllama';
SELECT memory.embedder(), memory.dims(memory.embed('hello')) AS wordllama_dims;
SELECT (memory.embed('I love my dog') <=> memory.embed('I adore my puppy'))
     < (memory.embed('I love my dog') <=> memory.embed('The stock market fell')) AS closer;
RESET memory.embedder;

-- the endpoint settings are for superusers only, and the key is never shown
CREATE ROLE memory_tenant LOGIN;
GRANT USAGE ON SCHEMA memory TO memory_tenant;
SET memory.llm_api_key = 'sk-very-secret';
SET ROLE memory_tenant;
SELECT sqlstate_of($$SET memory.embedding_url = 'http://evil.example/v1'$$);
SELECT sqlstate_of($$SET memory.llm_api_key = 'x'$$);
SELECT sqlstate_of($$SELECT current_setting('memory.llm_api_key')$$);
SELECT sqlstate_of($$SET memory.embedding_model = 'whatever'$$) AS model_is_per_session;
RESET ROLE;
DROP OWNED BY memory_tenant;
DROP ROLE memory_tenant;

-- the stub endpoint
SET memory.embedding_url = 'http://127.0.0.1:28818/v1';
SET memory.embedder = 'openai';
SET memory.embedding_model = 'stub-8';
SELECT memory.embedder(), memory.dims(memory.embed('hello world')) AS dims;
SELECT memories_of(memory.add('[{"role":"user","content":"I like green tea"},
                                {"role":"user","content":"My dog is called Rex"}]'::jsonb,
                              user_id => 'oa', infer => false));
SELECT embedder, memory.dims(embedding) AS dims FROM memory.memories WHERE user_id = 'oa' ORDER BY memory;
SELECT memory FROM memory.search_rows('green tea', user_id => 'oa', top_k => 1);
-- one request per add (a batch), with the bearer key, to /v1/embeddings
SELECT l->>'path' AS path, l->>'inputs' AS inputs, l->>'auth' AS auth
FROM (SELECT line::jsonb AS l, n FROM regexp_split_to_table(pg_read_file('/tmp/memory_ext_stub_28818.log'), E'\n')
      WITH ORDINALITY AS t(line, n) WHERE line <> '') x
WHERE l->>'model' = 'stub-8' ORDER BY n;

-- failures: clear SQLSTATE, nothing written, the key never in the message
CREATE TEMP TABLE before AS SELECT count(*) AS n FROM memory.memories;
CREATE FUNCTION pg_temp.try_add(model text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    PERFORM set_config('memory.embedding_model', model, true);
    r := sqlstate_of($q$SELECT memory.add('[{"role":"user","content":"one"},{"role":"user","content":"two"}]'::jsonb, user_id => 'oa', infer => false)$q$);
    RETURN r;
END $$;
SELECT m AS model, pg_temp.try_add(m) AS result
FROM unnest(ARRAY['stub-500', 'stub-429', 'stub-401', 'stub-malformed', 'stub-wrongcount', 'stub-null', 'stub-ragged']) m;
SELECT (SELECT count(*) FROM memory.memories) = (SELECT n FROM before) AS nothing_written;
-- retries: transient failures once, a client error never
SELECT l->>'model' AS model, count(*) AS requests
FROM (SELECT line::jsonb AS l FROM regexp_split_to_table(pg_read_file('/tmp/memory_ext_stub_28818.log'), E'\n') line
      WHERE line <> '') x
WHERE l->>'model' IN ('stub-500', 'stub-429', 'stub-401', 'stub-malformed') GROUP BY 1 ORDER BY 1;
SELECT position('sk-very-secret' IN pg_temp.try_add('stub-401')) = 0 AS key_not_shown;
-- the detail says what went wrong, without the URL or the key
SET memory.embedding_model = 'stub-500';
SELECT memory.embed('x');
-- a flaky endpoint succeeds on the retry
SET memory.embedding_model = 'stub-flaky';
SELECT memory.dims(memory.embed('retry me')) AS dims_after_retry;
-- the embedder changed within the scope: refused
SET memory.embedding_model = 'stub-16';
SELECT sqlstate_of($$SELECT memory.add('x', user_id => 'oa', infer => false)$$);
-- unreachable, slow, cancelled, unset
SET memory.embedding_model = 'stub-8';
SET memory.embedding_url = 'http://127.0.0.1:9/v1';
SELECT sqlstate_of($$SELECT memory.embed('x')$$);
SET memory.embedding_url = 'http://127.0.0.1:28818/v1';
SET memory.embedding_model = 'stub-slow';
SET memory.llm_timeout_ms = 300;
SELECT sqlstate_of($$SELECT memory.embed('x')$$);
SET memory.llm_timeout_ms = 20000;
SET statement_timeout = '300ms';
\set VERBOSITY terse
SELECT memory.add('slow one', user_id => 'oa', infer => false);
\set VERBOSITY default
RESET statement_timeout;
SELECT count(*) AS slow_not_written FROM memory.memories WHERE memory = 'slow one';
RESET memory.embedding_url;
SELECT sqlstate_of($$SELECT memory.embed('x')$$);
SELECT memory.embed('x');
RESET memory.embedder;
RESET memory.embedding_model;
RESET memory.llm_timeout_ms;
RESET memory.llm_api_key;
SELECT memory.delete_all(user_id => 'oa');

-- A batch of MiniLM texts is split over two threads (the later texts on a
-- helper thread): every stored vector equals the text embedded alone.
SET memory.embedder = 'minilm';
SELECT jsonb_array_length(memory.add(
    '[{"role": "user", "content": "I moved to Porto last spring."},
      {"role": "user", "content": "My sister plays the cello in an orchestra."},
      {"role": "user", "content": "We adopted a grey cat called Miso."},
      {"role": "user", "content": "I am training for a half marathon in October, three runs a week."}]'::jsonb,
    user_id => 'split', infer => false)->'results') AS added;
SELECT count(*) AS rows,
       max(m.embedding OPERATOR(memory.<=>) memory.embed(m.memory)) < 1e-6 AS same_as_alone
FROM memory.memories m WHERE m.user_id = 'split';
SELECT memory.delete_all(user_id => 'split');
RESET memory.embedder;
