-- get, get_all, update, delete, delete_all, history, reset.
SET search_path = public, memory;

SELECT memories_of(memory.add('[{"role":"user","content":"I am single"},
                                {"role":"user","content":"I work at Acme"},
                                {"role":"user","content":"I have a dog named Rex"}]'::jsonb,
                              user_id => 'dana', infer => false));

-- get: Mem0's item shape (ids and times vary, so only the keys are shown)
SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(memory.get(id)) k) AS keys
FROM memory.memories WHERE memory = 'I am single';
SELECT memory.get(id)->>'memory' AS memory, memory.get(id)->>'user_id' AS user_id
FROM memory.memories WHERE memory = 'I am single';
SELECT memory.get('00000000-0000-0000-0000-000000000000') IS NULL AS unknown_is_null;
SELECT sqlstate_of($$SELECT memory.get('not-a-uuid')$$);

-- get_all: newest first, top_k
SELECT memories_of(memory.get_all(user_id => 'dana'));
SELECT memories_of(memory.get_all(user_id => 'dana', top_k => 2));
SELECT sqlstate_of($$SELECT memory.get_all(user_id => 'dana', top_k => 0)$$);
SELECT memory.get_all(user_id => 'nobody');
-- get_all_page: one page, newest first, and the count of all
SELECT p->'count' AS count, memories_of(p) FROM (SELECT memory.get_all_page(user_id => 'dana', page => 1, page_size => 2) AS p) s;
SELECT p->'count' AS count, memories_of(p) FROM (SELECT memory.get_all_page(user_id => 'dana', page => 2, page_size => 2) AS p) s;
SELECT memory.get_all_page(user_id => 'dana', page => 9) AS past_the_end;
SELECT memory.get_all_page(user_id => 'nobody');
SELECT sqlstate_of($$SELECT memory.get_all_page(user_id => 'dana', page => 0)$$) AS page_0,
       sqlstate_of($$SELECT memory.get_all_page(user_id => 'dana', page_size => 1001)$$) AS page_size_1001,
       sqlstate_of($$SELECT memory.get_all_page()$$) AS no_scope;

-- update keeps the id, writes history with old and new text
SELECT id AS single_id FROM memory.memories WHERE memory = 'I am single' \gset
SELECT u->>'memory' AS memory, (u->>'id')::uuid = :'single_id' AS same_id,
       u->'metadata' AS metadata
FROM memory.update(:'single_id', 'I am married', metadata => '{"source": "chat"}') u;
SELECT hash = md5('i am married') AS hash_updated FROM memory.memories WHERE id = :'single_id';
SELECT e->>'event' AS event, e->>'old_memory' AS old_memory, e->>'new_memory' AS new_memory,
       (e->>'updated_at')::timestamptz >= (e->>'created_at')::timestamptz AS ordered
FROM jsonb_array_elements(memory.history(:'single_id')) e;
SELECT sqlstate_of($$SELECT memory.update('00000000-0000-0000-0000-000000000000', 'x')$$);
SELECT sqlstate_of(format($$SELECT memory.update(%L, '')$$, :'single_id'));
SELECT sqlstate_of(format($$SELECT memory.update(%L, 'x', metadata => '"str"')$$, :'single_id'));
SELECT memory.update('00000000-0000-0000-0000-000000000000', 'x');

-- immutable and superseded memories are not updated
UPDATE memory.memories SET immutable = true WHERE memory = 'I work at Acme';
SELECT sqlstate_of(format($$SELECT memory.update(%L, 'I work at Initech')$$, id))
FROM memory.memories WHERE memory = 'I work at Acme';
UPDATE memory.memories SET valid_to = now() WHERE memory = 'I have a dog named Rex';
SELECT sqlstate_of(format($$SELECT memory.update(%L, 'I have a cat')$$, id))
FROM memory.memories WHERE memory = 'I have a dog named Rex';
SELECT memories_of(memory.get_all(user_id => 'dana')) AS superseded_not_listed;
UPDATE memory.memories SET valid_to = NULL WHERE memory = 'I have a dog named Rex';

-- delete: true once, then false; history keeps a DELETE row
SELECT id AS dog_id FROM memory.memories WHERE memory = 'I have a dog named Rex' \gset
SELECT memory.delete(:'dog_id') AS first, memory.delete(:'dog_id') AS second;
SELECT memory.get(:'dog_id') IS NULL AS gone;
SELECT e->>'event' AS event, e->>'old_memory' AS old_memory, e->'is_deleted' AS is_deleted
FROM jsonb_array_elements(memory.history(:'dog_id')) e;
SELECT memory.history('00000000-0000-0000-0000-000000000000') AS unknown_history;

-- delete_all: every matching row, no cap, history for each, graph of the scope removed
SELECT jsonb_array_length(memory.add(
           (SELECT jsonb_agg(jsonb_build_object('role', 'user', 'content', 'fact ' || i))
            FROM generate_series(1, 150) i), user_id => 'erin', infer => false)->'results') AS added;
INSERT INTO memory.entities (user_id, name, entity_type) VALUES ('erin', 'Erin', 'user'), ('erin', 'Rex', 'pet');
INSERT INTO memory.relations (source_id, relation, target_id, user_id)
SELECT a.id, 'owns', b.id, 'erin' FROM memory.entities a, memory.entities b
WHERE a.name = 'Erin' AND b.name = 'Rex';
SELECT memory.delete_all(user_id => 'erin') AS deleted;
SELECT count(*) AS left_memories FROM memory.memories WHERE user_id = 'erin';
SELECT count(*) AS delete_rows FROM memory.history WHERE user_id = 'erin' AND event = 'DELETE';
SELECT (SELECT count(*) FROM memory.entities WHERE user_id = 'erin') AS entities,
       (SELECT count(*) FROM memory.relations WHERE user_id = 'erin') AS relations;
SELECT memory.delete_all(user_id => 'erin') AS again;
SELECT memory.delete_all();
SELECT sqlstate_of($$SELECT memory.delete_all(agent_id => '')$$);

-- delete_all matches every given scope column
SELECT memories_of(memory.add('run fact', user_id => 'fay', run_id => 'r1', infer => false));
SELECT memories_of(memory.add('other run fact', user_id => 'fay', run_id => 'r2', infer => false));
SELECT memory.delete_all(user_id => 'fay', run_id => 'r1') AS deleted;
SELECT memories_of(memory.get_all(user_id => 'fay'));

-- reset is for superusers only
CREATE ROLE memory_plain LOGIN;
GRANT USAGE ON SCHEMA memory TO memory_plain;
SET ROLE memory_plain;
SELECT memory.reset();
RESET ROLE;
SELECT memory.reset();
SELECT (SELECT count(*) FROM memory.memories) AS memories, (SELECT count(*) FROM memory.history) AS history;
DROP OWNED BY memory_plain;
DROP ROLE memory_plain;
