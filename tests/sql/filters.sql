-- Mem0 filters: every operator, AND/OR/NOT, metadata forms, and errors.
SET search_path = public, memory;

SELECT count(*) FROM (
    SELECT memory.add(m, user_id => 'gus', agent_id => a, run_id => r, metadata => md, infer => false)
    FROM (VALUES
        ('likes tea',     'chef',  'r1', '{"topic": "food",   "priority": 1, "tags": ["drink", "hot"], "day": "2024-01-05"}'::jsonb),
        ('likes pasta',   'chef',  'r2', '{"topic": "food",   "priority": 3, "tags": ["dish"],         "day": "2024-02-10", "nested": {"k": "v"}}'),
        ('visits Rome',   'guide', 'r1', '{"topic": "travel", "priority": 2, "tags": ["city"],         "day": "2024-03-15"}'),
        ('Runs at dawn',  NULL,    NULL, '{"topic": "Sport",  "priority": "high", "note": "Early BIRD"}'),
        ('no metadata',   NULL,    'r3', '{}')
    ) v(m, a, r, md)) s;
UPDATE memory.memories SET categories = '{food}' WHERE memory IN ('likes tea', 'likes pasta');
UPDATE memory.memories SET categories = '{travel,leisure}' WHERE memory = 'visits Rome';
UPDATE memory.memories SET created_at = '2024-01-01'::timestamptz + (interval '1 day' * length(memory))
WHERE user_id = 'gus';

CREATE FUNCTION pg_temp.f(filters jsonb) RETURNS text[] LANGUAGE sql AS $$
    SELECT array(SELECT x FROM unnest(memories_of(memory.get_all(user_id => 'gus', filters => filters))) x ORDER BY x)
$$;

-- scope columns
SELECT pg_temp.f('{"agent_id": "chef"}');
SELECT pg_temp.f('{"agent_id": {"eq": "chef"}}');
SELECT pg_temp.f('{"agent_id": {"ne": "chef"}}') AS ne_includes_missing;
SELECT pg_temp.f('{"run_id": {"in": ["r1", "r3"]}}');
SELECT pg_temp.f('{"run_id": {"nin": ["r1"]}}') AS nin_includes_missing;
SELECT pg_temp.f('{"agent_id": "*"}') AS wildcard;
SELECT pg_temp.f('{"agent_id": null}') AS is_null;
SELECT pg_temp.f('{"agent_id": {"contains": "ui"}}');
SELECT pg_temp.f('{"agent_id": {"icontains": "CHE"}}');
SELECT pg_temp.f('{"run_id": {"gt": "r1"}}'), pg_temp.f('{"run_id": {"lte": "r2"}}');
-- metadata, dotted and document forms
SELECT pg_temp.f('{"metadata.topic": "food"}');
SELECT pg_temp.f('{"metadata": {"topic": "food", "priority": 3}}');
SELECT pg_temp.f('{"metadata": {"nested": {"k": "v"}}}'), pg_temp.f('{"metadata.nested.k": "v"}');
SELECT pg_temp.f('{"metadata.priority": {"gte": 2}}') AS numbers_as_numbers;
SELECT pg_temp.f('{"metadata.priority": {"lt": 10}}') AS text_priority_not_compared_as_number;
SELECT pg_temp.f('{"metadata.day": {"gt": "2024-02-01"}}') AS text_as_text;
SELECT pg_temp.f('{"metadata.priority": {"gt": 1, "lt": 3}}') AS range;
SELECT pg_temp.f('{"metadata.topic": {"in": ["food", "Sport"]}}');
SELECT pg_temp.f('{"metadata.topic": {"nin": ["food"]}}') AS nin_includes_missing;
SELECT pg_temp.f('{"metadata.topic": {"ne": "food"}}') AS ne_includes_missing;
SELECT pg_temp.f('{"metadata.tags": {"contains": "hot"}}') AS array_contains;
SELECT pg_temp.f('{"metadata.note": {"contains": "BIRD"}}') AS substring;
SELECT pg_temp.f('{"metadata.note": {"icontains": "bird"}}') AS case_insensitive;
SELECT pg_temp.f('{"metadata.note": "*"}') AS has_key;
SELECT pg_temp.f('{"metadata.user_id": "gus"}') AS metadata_scope_key_is_plain_metadata;
-- categories and time
SELECT pg_temp.f('{"categories": {"contains": "food"}}');
SELECT pg_temp.f('{"categories": {"in": ["leisure", "x"]}}');
SELECT pg_temp.f('{"categories": {"nin": ["food"]}}');
SELECT pg_temp.f('{"created_at": {"gte": "2024-01-12", "lt": "2024-01-13"}}') AS eleven_chars;
SELECT pg_temp.f('{"created_at": {"lt": 1704931200}}') AS unix_seconds;
-- boolean structure
SELECT pg_temp.f('{"AND": [{"agent_id": "chef"}, {"metadata.priority": {"gt": 1}}]}');
SELECT pg_temp.f('{"OR": [{"agent_id": "guide"}, {"run_id": "r3"}]}');
SELECT pg_temp.f('{"NOT": [{"agent_id": "chef"}]}') AS not_includes_missing;
SELECT pg_temp.f('{"NOT": [{"metadata.topic": "food"}, {"run_id": "r2"}]}');
SELECT pg_temp.f('{"OR": [{"NOT": [{"run_id": "r1"}]}, {"agent_id": "guide"}]}');

-- scope may come from the filters (an equality reachable through AND)
SELECT memories_of(memory.get_all(filters => '{"AND": [{"user_id": "gus"}, {"agent_id": "guide"}]}'));
-- a filter without a scope equality is no scope for a plain role
SELECT memory.add('Ann collects stamps', user_id => 'ann', infer => false)->'results'->0->>'event';
CREATE ROLE memory_reader LOGIN;
GRANT USAGE ON SCHEMA memory TO memory_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA memory TO memory_reader;
SET ROLE memory_reader;
SELECT sqlstate_of($$SELECT memory.get_all(filters => '{"metadata.topic": "food"}')$$);
SELECT sqlstate_of($$SELECT memory.get_all(filters => '{"app_id": "home"}')$$);
-- an equality on agent_id is a scope like any other
SELECT memories_of(memory.get_all(filters => '{"agent_id": "chef"}'));
SELECT sqlstate_of($$SELECT memory.get_all(filters => '{"user_id": "*"}')$$);
-- several users are a scope when every branch names one: in over user_id,
-- or an OR of equalities, for get_all and search
SELECT array(SELECT x FROM unnest(memories_of(memory.get_all(filters => '{"user_id": {"in": ["ann", "nobody"]}}'))) x ORDER BY x);
SELECT cardinality(memories_of(memory.get_all(filters => '{"OR": [{"user_id": "gus"}, {"user_id": "ann"}]}'))) AS gus_and_ann,
       cardinality(memories_of(memory.get_all(user_id => 'gus'))) + 1 AS expected;
SELECT memories_of(memory.search('stamps', filters => '{"OR": [{"user_id": "ann"}, {"AND": [{"user_id": "gus"}, {"agent_id": "guide"}]}]}', top_k => 1));
SELECT sqlstate_of($$SELECT memory.search('stamps', filters => '{"user_id": {"in": ["ann", "gus"]}}')$$) AS search_ok;
-- ... but not when a branch leaves other users' rows possible
SELECT sqlstate_of($$SELECT memory.get_all(filters => '{"OR": [{"user_id": "gus"}, {"metadata.topic": "food"}]}')$$);
SELECT sqlstate_of($$SELECT memory.get_all(filters => '{"user_id": {"nin": ["gus"]}}')$$);
SELECT sqlstate_of($$SELECT memory.search('stamps', filters => '{"NOT": [{"user_id": "gus"}]}')$$);
RESET ROLE;
SELECT memory.delete_all(user_id => 'ann');
-- ... but a superuser may pass explicit filters
SELECT memories_of(memory.get_all(filters => '{"agent_id": "guide"}'));

-- errors: unknown fields and operators, wrong types, limits (never ignored)
SELECT memory.get_all(user_id => 'gus', filters => '{"topic": "food"}');
SELECT memory.get_all(user_id => 'gus', filters => '{"agent_id": {"like": "c%"}}');
SELECT sqlstate_of($$SELECT memory.get_all(user_id => 'gus', filters => '{"agent_id": 5}')$$);
SELECT sqlstate_of($$SELECT memory.get_all(user_id => 'gus', filters => '{"agent_id": {"in": "chef"}}')$$);
SELECT sqlstate_of($$SELECT memory.get_all(user_id => 'gus', filters => '{"metadata.priority": {"gt": [1]}}')$$);
SELECT sqlstate_of($$SELECT memory.get_all(user_id => 'gus', filters => '{"created_at": {"contains": "2024"}}')$$);
SELECT sqlstate_of($$SELECT memory.get_all(user_id => 'gus', filters => '{"categories": {"gt": "a"}}')$$);
SELECT sqlstate_of($$SELECT memory.get_all(user_id => 'gus', filters => '{}')$$);
SELECT sqlstate_of($$SELECT memory.get_all(user_id => 'gus', filters => '[]')$$);
SELECT sqlstate_of($$SELECT memory.get_all(user_id => 'gus', filters => '{"AND": []}')$$);
SELECT sqlstate_of($$SELECT memory.get_all(user_id => 'gus', filters => '{"metadata": {"a": {"gt": 1, "b": 2}}}')$$);
-- in Mem0's nested metadata form, another filter language's operator is an
-- unknown operator (not a nested key that matches nothing), for get_all and search alike
SELECT sqlstate_of($$SELECT memory.get_all(user_id => 'gus', filters => '{"metadata": {"topic": {"like": "fo%"}}}')$$);
SELECT sqlstate_of($$SELECT memory.search('food', user_id => 'gus', filters => '{"metadata": {"topic": {"like": "fo%"}}}')$$);
SELECT sqlstate_of($$SELECT memory.search('food', user_id => 'gus', filters => '{"metadata": {"topic": {"$in": ["food"]}}}')$$);
SELECT sqlstate_of($$SELECT memory.get_all(user_id => 'gus', filters => '{"created_at": {"gt": "not a date"}}')$$);
SELECT sqlstate_of($$SELECT memory.get_all(user_id => 'gus', filters => '{"user_id''; DROP TABLE memory.memories; --": 1}')$$);
SELECT sqlstate_of(format($$SELECT memory.get_all(user_id => 'gus', filters => %L)$$,
    repeat('{"AND": [', 40) || '{"user_id": "gus"}' || repeat(']}', 40)));
SELECT sqlstate_of(format($$SELECT memory.get_all(user_id => 'gus', filters => %L)$$,
    jsonb_build_object('run_id', jsonb_build_object('in', (SELECT jsonb_agg(i::text) FROM generate_series(1, 10001) i)))));
-- hostile values are data, not SQL
SELECT pg_temp.f('{"metadata.topic": "food''; DROP TABLE memory.memories; --"}') AS no_match;
SELECT count(*) > 0 AS table_still_there FROM memory.memories;
SELECT memory.delete_all(user_id => 'gus');
DROP OWNED BY memory_reader;
DROP ROLE memory_reader;
