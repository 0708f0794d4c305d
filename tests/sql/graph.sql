-- Graph memory: entities and relations drawn from facts (built-in rules),
-- bi-temporal edges, recursive-CTE walks, graph-aware search.
SET search_path = public, memory;

-- Adam is John's father; weeks later John is sick: who to tell?
SELECT jsonb_pretty(memory.add('Adam is John''s father.', user_id => 'g1', "timestamp" => '2026-01-01')->'relations');
SELECT memory.add('John is sick.', user_id => 'g1', "timestamp" => '2026-02-01')->'relations' AS no_edge;
SELECT name, entity_type FROM memory.entities WHERE user_id = 'g1' ORDER BY name;
SELECT * FROM memory.neighbors('John', user_id => 'g1');
SELECT r->'relations' AS relations, (SELECT array_agg(x->>'memory' ORDER BY x->>'memory') FROM jsonb_array_elements(r->'results') x) AS memories
FROM (SELECT memory.search('John is sick, who should I tell?', user_id => 'g1') AS r) s;
-- the graph channel ranks the memory about Adam, which shares no word with the question
SELECT memory, jsonb_typeof(explain->'graph') = 'object' AS via_graph
FROM memory.search_rows('Who should know that Johnny is unwell?', user_id => 'g1', explain => true)
ORDER BY score DESC;
SELECT memory.search('John', user_id => 'g1', graph => false) ? 'relations' AS relations_when_off;

-- two hops: grandparent
SELECT memory.add('Mary is Adam''s mother.', user_id => 'g1')->'relations'->'added_entities' AS added;
SELECT source, relation, destination, depth, path FROM memory.neighbors('John', user_id => 'g1', depth => 2);
SELECT source, relation, destination, depth FROM memory.neighbors('John', user_id => 'g1', depth => 1);
SELECT * FROM memory.paths('Mary', 'John', user_id => 'g1');

-- a relation that changes over time: the old edge ends, kept for as_of
SELECT memory.add('Alice lives in Paris.', user_id => 'g2', "timestamp" => '2026-03-01')->'relations' AS first;
SELECT memory.add('Alice moved to Berlin.', user_id => 'g2', "timestamp" => '2026-06-01')->'relations' AS moved;
SELECT source, relation, destination FROM memory.neighbors('Alice', user_id => 'g2');
SELECT source, relation, destination FROM memory.neighbors('Alice', user_id => 'g2', as_of => '2026-04-01');
SELECT source, relation, destination FROM memory.neighbors('Alice', user_id => 'g2', as_of => '2026-07-01');
SELECT source, relation, destination FROM memory.neighbors('Alice', user_id => 'g2', as_of => '2026-02-01');
SELECT s.name, r.relation, t.name, r.valid_from, r.valid_to FROM memory.relations r
JOIN memory.entities s ON s.id = r.source_id JOIN memory.entities t ON t.id = r.target_id
WHERE r.user_id = 'g2' ORDER BY r.valid_from;
-- memory.graph: the scope's entities and relations as they stood at a time
SELECT v.label, g->'truncated' AS truncated, (g->>'since')::timestamptz = '2026-03-01' AS since_first,
       (SELECT array_agg(e->>'name' ORDER BY e->>'name') FROM jsonb_array_elements(g->'entities') e) AS entities,
       (SELECT array_agg(format('%s %s %s', r->>'source', r->>'relationship', r->>'destination'))
          FROM jsonb_array_elements(g->'relations') r) AS relations
FROM (VALUES ('now', memory.graph(user_id => 'g2')),
             ('april', memory.graph(user_id => 'g2', as_of => '2026-04-01')),
             ('february', memory.graph(user_id => 'g2', as_of => '2026-02-01'))) v(label, g);
SELECT jsonb_array_length(g->'relations') AS shown, g->'truncated' AS truncated
FROM (SELECT memory.graph(user_id => 'g1', max_relations => 1) AS g) s;
SELECT (g->'relations'->0) ?& ARRAY['source_id', 'destination_id', 'memory_id', 'valid_from', 'valid_to'] AS has_keys
FROM (SELECT memory.graph(user_id => 'g1') AS g) s;
SELECT memory.graph(user_id => 'nobody') - 'as_of' AS empty;
SELECT sqlstate_of($$SELECT memory.graph()$$) AS no_scope,
       sqlstate_of($$SELECT memory.graph(user_id => 'g1', max_relations => 0)$$) AS max_0;

-- the user's own facts: the user entity is named after user_id
SELECT memory.add('I live in Paris. I work at Acme. I have a dog named Rex. My sister lives in Berlin.', user_id => 'g3')->'relations'->'added_entities' AS added;
SELECT source, relation, destination, depth FROM memory.neighbors('g3', user_id => 'g3', depth => 1);
-- moving: the user's residence edge is superseded, the sister's stays
SELECT memory.add('I moved to Rome.', user_id => 'g3')->'relations' AS moved;
SELECT source, relation, destination FROM memory.neighbors('g3', user_id => 'g3', depth => 2) ORDER BY 1, 2, 3;
-- a negation deletes the memory: its edge ends
SELECT memory.add('I no longer have a dog.', user_id => 'g3')->'relations'->'deleted_entities' AS ended;
-- memory.update redraws the edges of the new text
SELECT memory.update((SELECT id FROM memory.memories WHERE user_id = 'g3' AND memory = 'Works at Acme'), 'Works at Globex') ->> 'memory';
SELECT source, relation, destination FROM memory.neighbors('g3', user_id => 'g3', depth => 1) ORDER BY 1, 2, 3;
-- memory.delete ends the edges of the memory
SELECT memory.delete((SELECT id FROM memory.memories WHERE user_id = 'g3' AND memory = 'Works at Globex'));
SELECT count(*) AS works_at_now FROM memory.neighbors('g3', user_id => 'g3', depth => 1) WHERE relation = 'works_at';

-- cycles terminate: a triangle Anna -> Ben -> Carl -> Anna, and Dora beyond
SELECT memory.add('Anna is Ben''s friend. Ben is Carl''s boss. Carl is Anna''s brother. Dora is Carl''s mother.', user_id => 'g4')->'relations'->'added_entities' AS added;
SELECT source, relation, destination, depth, path FROM memory.neighbors('Anna', user_id => 'g4', depth => 6);
SELECT * FROM memory.paths('Anna', 'Dora', user_id => 'g4');

-- scopes never mix
SELECT count(*) AS other_user FROM memory.neighbors('John', user_id => 'g2');
SELECT count(*) AS other_agent FROM memory.neighbors('John', agent_id => 'g1');
SELECT sqlstate_of($$SELECT * FROM memory.neighbors('John')$$);
SELECT sqlstate_of($$SELECT * FROM memory.neighbors('John', user_id => 'g1', depth => 0)$$);
-- an agent's own graph, and one user's graph under two agents: a walk scoped
-- by user spans both agents, one scoped by user and agent only that agent's
SELECT memory.add('Tom is Eve''s brother.', agent_id => 'g6-agent')->'relations'->'added_entities' AS agent_only;
SELECT source, relation, destination, depth, path FROM memory.neighbors('Eve', agent_id => 'g6-agent');
SELECT count(*) AS agent_graph_is_no_users FROM memory.neighbors('Eve', user_id => 'g6-agent');
SELECT count(*) FROM memory.add('Tom is Eve''s brother.', user_id => 'g6', agent_id => 'a1');
SELECT count(*) FROM memory.add('Eve is Kim''s mother.', user_id => 'g6', agent_id => 'a2');
SELECT source, relation, destination, depth, path FROM memory.neighbors('Eve', user_id => 'g6', depth => 3);
SELECT source, relation, destination, depth FROM memory.neighbors('Eve', user_id => 'g6', agent_id => 'a2', depth => 3);

-- Chinese, Spanish, German
SELECT memory.add('亚当是约翰的父亲。', user_id => 'g5')->'relations'->'added_entities' AS zh;
SELECT source, relation, destination FROM memory.neighbors('约翰', user_id => 'g5');
SELECT (memory.search('约翰生病了', user_id => 'g5')->'relations') AS zh_search;
SELECT memory.add('Adam es el padre de Juan.', user_id => 'g5')->'relations'->'added_entities' AS es;
SELECT memory.add('Ich wohne in Köln.', user_id => 'g5')->'relations'->'added_entities' AS de;

-- delete_all removes the scope's graph
SELECT memory.delete_all(user_id => 'g1');
SELECT count(*) AS entities_left FROM memory.entities WHERE user_id = 'g1';
SELECT memory.delete_all(user_id => 'g2'), memory.delete_all(user_id => 'g3'), memory.delete_all(user_id => 'g4'),
       memory.delete_all(user_id => 'g5'), memory.delete_all(user_id => 'g6'), memory.delete_all(agent_id => 'g6-agent');
SELECT count(*) AS relations_left FROM memory.relations;
