-- Scope fencing: a call for one user never sees, changes or deletes another's
-- rows; with tenant isolation on, not even raw SQL does.
SET search_path = public, memory;

SELECT memories_of(memory.add('Alice likes jazz', user_id => 'alice', infer => false));
SELECT memories_of(memory.add('Bob likes metal', user_id => 'bob', infer => false));
SELECT memories_of(memory.add('Bot default tone: formal', agent_id => 'bot', infer => false));
SELECT memories_of(memory.add('Alice told bot about jazz', user_id => 'alice', agent_id => 'bot', infer => false));
SELECT id AS bob_id FROM memory.memories WHERE memory = 'Bob likes metal' \gset

-- listings are fenced by equality on each given scope column
SELECT memories_of(memory.get_all(user_id => 'alice'));
SELECT memories_of(memory.get_all(agent_id => 'bot'));
SELECT memories_of(memory.get_all(user_id => 'alice', agent_id => 'bot'));
SELECT memories_of(memory.get_all(user_id => 'alice', filters => '{"user_id": "bob"}')) AS contradiction_is_empty;
-- by-id calls with a scope treat other scopes' rows as absent
SELECT memory.get(:'bob_id', user_id => 'alice') IS NULL AS get_fenced;
SELECT memory.get(:'bob_id', user_id => 'bob')->>'memory' AS get_own;
SELECT sqlstate_of(format($$SELECT memory.update(%L, 'hacked', user_id => 'alice')$$, :'bob_id')) AS update_fenced;
SELECT memory.delete(:'bob_id', user_id => 'alice') AS delete_fenced;
SELECT memory.history(:'bob_id', user_id => 'alice') AS history_fenced;
SELECT jsonb_array_length(memory.history(:'bob_id', user_id => 'bob')) AS history_own;
SELECT memory.delete_all(user_id => 'alice') AS alice_deleted;
SELECT memory FROM memory.memories ORDER BY memory;
-- a metadata key named user_id scopes nothing
SELECT memories_of(memory.add('I am in metadata only', agent_id => 'x', metadata => '{"user_id": "bob"}', infer => false));
SELECT memories_of(memory.get_all(user_id => 'bob'));

-- row-level security keyed on memory.current_user_id
SELECT memories_of(memory.add('Alice is back', user_id => 'alice', infer => false));
SELECT memory.enable_tenant_isolation();
SELECT memory.enable_tenant_isolation() AS idempotent;
CREATE ROLE memory_app LOGIN;
SELECT memory.grant_tenant_access('memory_app');
SELECT sqlstate_of($$SELECT memory.grant_tenant_access('no_such_role')$$);
SET ROLE memory_app;
-- unset: nothing is visible
SELECT count(*) AS visible_unset FROM memory.memories;
SET memory.current_user_id = 'alice';
SELECT memory FROM memory.memories ORDER BY memory;
SELECT count(*) AS bob_rows_raw_sql FROM memory.memories WHERE user_id = 'bob';
SELECT memories_of(memory.get_all(user_id => 'bob')) AS bob_via_api;
SELECT memory.get(:'bob_id') IS NULL AS get_bob_invisible;
SELECT memory.delete(:'bob_id') AS delete_bob;
UPDATE memory.memories SET memory = 'hacked' WHERE user_id = 'bob';
SELECT count(*) AS bob_history_visible FROM memory.history WHERE user_id = 'bob';
-- writes for another user are refused
SELECT sqlstate_of($$SELECT memory.add('sneaky', user_id => 'bob', infer => false)$$);
SELECT sqlstate_of($$INSERT INTO memory.memories (memory, user_id) VALUES ('sneaky', 'bob')$$);
-- own writes work
SELECT memories_of(memory.add('Alice likes blues', user_id => 'alice', infer => false));
-- queued adds too: run by the worker as this role and tenant; other tenants' jobs stay hidden
SELECT memory.add_async('Alice plays the oboe', user_id => 'alice', infer => false)->'results'->0->>'status' AS queued;
SELECT sqlstate_of($$SELECT memory.add_async('sneaky', user_id => 'bob', infer => false)$$);
DO $$ BEGIN
    FOR i IN 1..300 LOOP
        EXIT WHEN (SELECT bool_and(status = 'SUCCEEDED') FROM memory.jobs);
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
SELECT status, user_id, result->'results'->0->>'memory' AS memory FROM memory.jobs;
SELECT memories_of(memory.search('oboe', user_id => 'alice', top_k => 1)) AS found;
-- a set of users (a REST project key acting for the users a request names):
-- a JSON array; each listed user is visible and writable, no other
SET memory.current_user_id = '["alice", "bob"]';
SELECT memory.tenant_users();
SELECT user_id, count(*) FROM memory.memories GROUP BY user_id ORDER BY user_id;
SELECT memories_of(memory.search('blues', filters => '{"user_id": {"in": ["alice", "bob"]}}', top_k => 5)) AS both_users;
SELECT memories_of(memory.add('Bob plays blues too', user_id => 'bob', infer => false));
SELECT sqlstate_of($$SELECT memory.add('sneaky', user_id => 'carol', infer => false)$$) AS carol_refused;
SELECT sqlstate_of($$INSERT INTO memory.memories (memory, user_id) VALUES ('sneaky', 'carol')$$) AS carol_raw_refused;
SET memory.current_user_id = '["bob"]';
SELECT count(*) AS alice_rows_for_bob FROM memory.memories WHERE user_id = 'alice';
SET memory.current_user_id = '[]';
SELECT count(*) AS visible_empty_list FROM memory.memories;
SET memory.current_user_id = '[alice';
SELECT sqlstate_of($$SELECT count(*) FROM memory.memories$$) AS malformed_list;
SET memory.current_user_id = 'alice';
SELECT memory.delete_all(user_id => 'alice') AS alice_deleted;
RESET ROLE;
RESET memory.current_user_id;
SELECT memory FROM memory.memories ORDER BY memory;
SELECT memory.disable_tenant_isolation();
SELECT relname, relrowsecurity FROM pg_class
WHERE relnamespace = 'memory'::regnamespace AND relkind = 'r' ORDER BY relname;
DROP OWNED BY memory_app;
DROP ROLE memory_app;
SELECT memory.reset();
