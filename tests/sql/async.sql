-- Asynchronous adds: memory.add_async queues, the background worker runs the
-- queue in order per scope, failures are retried or recorded in memory.jobs.
SET search_path = public, memory;
-- wait (up to 30 s) until a job is done, then show how it ended
CREATE FUNCTION wait_job(j jsonb) RETURNS TABLE(status text, attempts int, last_error text) LANGUAGE plpgsql AS $$
DECLARE id uuid := (j->'results'->0->>'event_id')::uuid;
BEGIN
    FOR i IN 1..300 LOOP
        EXIT WHEN (SELECT jb.status IN ('SUCCEEDED', 'FAILED') FROM memory.jobs jb WHERE jb.event_id = id);
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN QUERY SELECT jb.status, jb.attempts, regexp_replace(jb.last_error, 'http://[^ ]*', '<url>')
                 FROM memory.jobs jb WHERE jb.event_id = id;
END $$;

-- the answer comes at once, in Mem0's shape
SELECT r->'results'->0->>'status' AS status, (r->'results'->0->>'event_id')::uuid IS NOT NULL AS has_event_id
FROM (SELECT memory.add_async('I am single and I live in Madrid', user_id => 'async1') AS r) s;
-- the same pipeline runs later: facts extracted, history written
SELECT * FROM wait_job((SELECT jsonb_build_object('results', jsonb_build_array(jsonb_build_object('event_id', event_id)))
                        FROM memory.jobs WHERE user_id = 'async1'));
SELECT memories_of(memory.get_all(user_id => 'async1')) AS memories;
SELECT jsonb_array_length(result->'results') AS results FROM memory.jobs WHERE user_id = 'async1';

-- adds of one scope apply in the order they were queued: the second is an UPDATE of the first
CREATE TEMP TABLE q AS
SELECT n, memory.add_async(m, user_id => 'async2') AS r
FROM (VALUES (1, 'I live in Lisbon'), (2, 'I moved to Porto'), (3, 'I love fado')) v(n, m);
SELECT n, w.status FROM q, LATERAL wait_job(q.r) w ORDER BY n;
SELECT n, j.result->'results'->0->>'event' AS event, j.result->'results'->0->>'memory' AS memory
FROM q JOIN memory.jobs j ON j.event_id = (q.r->'results'->0->>'event_id')::uuid ORDER BY n;
SELECT memories_of(memory.get_all(user_id => 'async2')) AS memories;
-- verbatim, with metadata, a timestamp and an expiry
SELECT memory.add_async('[{"role":"user","content":"Remember the gate code 4711"}]'::jsonb, user_id => 'async3',
                       infer => false, metadata => '{"topic":"home"}', "timestamp" => '2026-01-02 03:04:05+00',
                       expiration_date => '2030-01-01') AS job \gset
SELECT * FROM wait_job(:'job');
SELECT memory, metadata, created_at, expires_at FROM memory.memories WHERE user_id = 'async3';

-- bad requests fail at once, nothing is queued
SELECT sqlstate_of($$SELECT memory.add_async('hello')$$);
SELECT sqlstate_of($$SELECT memory.add_async('   ', user_id => 'async4')$$);
SELECT sqlstate_of($$SELECT memory.add_async('x', user_id => 'async4', infer => false, prompt => 'p')$$);
SELECT sqlstate_of($$SELECT memory.add_async('x', user_id => 'async4', memory_type => 'dream')$$);
SELECT sqlstate_of($$SELECT memory.add_async('x', user_id => 'async4', metadata => '[1]')$$);
SELECT count(*) AS queued FROM memory.jobs WHERE user_id = 'async4';

-- a failing provider: retried with backoff, then FAILED with the reason; nothing written
SET memory.llm = 'openai';
SET memory.llm_url = 'http://127.0.0.1:28818/v1';
SET memory.llm_model = 'llm-500';
SET memory.job_max_attempts = 2;
SELECT memory.add_async('I am a pilot', user_id => 'async5') AS job \gset
SELECT * FROM wait_job(:'job');
SELECT count(*) AS written FROM memory.memories WHERE user_id = 'async5';
-- the settings of the queuing session travel with the job: the same add succeeds with a working model
SET memory.llm_model = 'llm-basic';
SELECT memory.add_async('I am a pilot', user_id => 'async5') AS job \gset
SELECT * FROM wait_job(:'job');
SELECT memories_of(memory.get_all(user_id => 'async5')) AS memories;
RESET memory.llm; RESET memory.llm_url; RESET memory.llm_model; RESET memory.job_max_attempts;
-- a permanent error is not retried: this scope's vectors come from another embedder
SET memory.embedder = 'wordllama';
SELECT memory.add_async('I also fly gliders', user_id => 'async5') AS job \gset
SELECT * FROM wait_job(:'job');
RESET memory.embedder;

-- without the worker, a session can run the queue itself (jobs the worker has not taken yet)
SELECT memory.add_async('I play the cello', user_id => 'async6') IS NOT NULL AS queued;
DO $$ DECLARE n int; BEGIN CALL memory.process_jobs(100, n); END $$;
SELECT * FROM wait_job((SELECT jsonb_build_object('results', jsonb_build_array(jsonb_build_object('event_id', event_id)))
                        FROM memory.jobs WHERE user_id = 'async6'));
SELECT memories_of(memory.get_all(user_id => 'async6')) AS memories;

-- finished jobs are kept for a while (7 days in maintain), then purged; their memories stay
SELECT memory.purge_jobs() AS purged_recent;
SELECT memory.purge_jobs('0 seconds') AS purged_all;
SELECT count(*) AS jobs_left FROM memory.jobs;
SELECT count(*) > 0 AS memories_stay FROM memory.memories WHERE user_id LIKE 'async%';
SELECT sqlstate_of($$SELECT memory.purge_jobs('-1 day')$$);
SELECT memory.delete_all(user_id => u) FROM unnest(ARRAY['async1','async2','async3','async5','async6']) u;
DROP FUNCTION wait_job(jsonb);
