-- memory_ext 0.0.2 -> 0.0.3: graph walks read the scope's edges and entity
-- names once, from covering indexes, and walk them without reading a table
-- again (memory.graph_edges, and so memory.neighbors and the search's graph
-- channel); the two indexes are rebuilt with their new columns. For adds:
-- an index on the first letters of entity names within their scope, and
-- the memories' (user_id, created_at) index gains seq.
\echo Use "ALTER EXTENSION memory_ext UPDATE TO '0.0.3'" to load this file. \quit

DROP INDEX memory.memories_user_created_idx;
-- (user_id, created_at, seq): an add finds the latest memory of its scope
-- (the conversation it continues) as the first entry of a backward scan.
CREATE INDEX memories_user_created_idx ON memory.memories (user_id, created_at, seq);

DROP INDEX memory.relations_user_source_idx;
-- Covering (user_id first): a graph walk reads a user's edges with an
-- index-only scan, without visiting the heap page of each edge.
CREATE INDEX relations_user_source_idx ON memory.relations (user_id, source_id)
    INCLUDE (target_id, relation, memory_id, agent_id, run_id, valid_from, valid_to);

-- An add finds a name's entity among those of its scope sharing the name's
-- first three letters (the name itself or a variant such as "Johnny").
CREATE INDEX entities_scope_prefix_idx ON memory.entities
    (coalesce(user_id, ''), coalesce(agent_id, ''), coalesce(run_id, ''), left(lower(name), 3));

DROP INDEX memory.entities_user_idx;
-- Covering: a graph walk reads a user's entity names from the index alone.
CREATE INDEX entities_user_idx ON memory.entities (user_id) INCLUDE (id, name, agent_id, run_id);

CREATE OR REPLACE FUNCTION memory.graph_edges(entities text[], user_id text DEFAULT NULL, agent_id text DEFAULT NULL,
                                   run_id text DEFAULT NULL, max_depth int DEFAULT 2, as_of timestamptz DEFAULT NULL)
RETURNS TABLE(source text, relation text, destination text, depth int, path text[], memory_id uuid)
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    src uuid[]; dst uuid[]; rel text[]; mem uuid[];
    ent_ids uuid[]; ent_names text[];
BEGIN
    PERFORM memory.graph_walk_check($2, $3, $4, 'depth', $5);
    -- The scope's edges valid at as_of and its entities. A user's come from
    -- the covering indexes on user_id; other scopes are read by filter.
    IF $2 IS NOT NULL THEN
        SELECT array_agg(r.source_id), array_agg(r.target_id), array_agg(r.relation), array_agg(r.memory_id)
          INTO src, dst, rel, mem
        FROM memory.relations r
        WHERE r.user_id = $2 AND ($3 IS NULL OR r.agent_id = $3) AND ($4 IS NULL OR r.run_id = $4)
          AND CASE WHEN $6 IS NULL THEN r.valid_to IS NULL
                   ELSE r.valid_from <= $6 AND (r.valid_to IS NULL OR r.valid_to > $6) END;
        SELECT array_agg(e.id), array_agg(e.name) INTO ent_ids, ent_names
        FROM memory.entities e
        WHERE e.user_id = $2 AND ($3 IS NULL OR e.agent_id = $3) AND ($4 IS NULL OR e.run_id = $4);
    ELSE
        SELECT array_agg(r.source_id), array_agg(r.target_id), array_agg(r.relation), array_agg(r.memory_id)
          INTO src, dst, rel, mem
        FROM memory.relations r
        WHERE ($3 IS NULL OR r.agent_id = $3) AND ($4 IS NULL OR r.run_id = $4)
          AND CASE WHEN $6 IS NULL THEN r.valid_to IS NULL
                   ELSE r.valid_from <= $6 AND (r.valid_to IS NULL OR r.valid_to > $6) END;
        SELECT array_agg(e.id), array_agg(e.name) INTO ent_ids, ent_names
        FROM memory.entities e
        WHERE ($3 IS NULL OR e.agent_id = $3) AND ($4 IS NULL OR e.run_id = $4);
    END IF;
    IF src IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH RECURSIVE
    edge AS (
        SELECT unnest(src) AS source_id, unnest(dst) AS target_id, unnest(rel) AS relation, unnest(mem) AS memory_id
    ),
    -- Each edge in both directions: the walk's adjacency.
    adj(a, b) AS (
        SELECT unnest(src || dst), unnest(dst || src)
    ),
    label(id, name) AS MATERIALIZED (
        SELECT unnest(ent_ids), unnest(ent_names)
    ),
    -- Breadth first: the frontier of each level joined to the adjacency
    -- (a hash join); UNION keeps each (entity, level) once.
    reach(node, lvl) AS (
        SELECT label.id, 0 FROM label WHERE lower(label.name) = ANY (SELECT lower(x) FROM unnest($1) x)
      UNION
        SELECT adj.b, w.lvl + 1
        FROM reach w JOIN adj ON adj.a = w.node
        WHERE w.lvl < least($5, 6)
    ),
    -- Smallest level and name of each reached entity.
    dist AS MATERIALIZED (
        SELECT r.node, r.d, label.name
        FROM (SELECT reach.node, min(reach.lvl) AS d FROM reach GROUP BY reach.node) r
        JOIN label ON label.id = r.node
    ),
    -- Edges between reached entities, with the side nearer the start.
    near AS MATERIALIZED (
        SELECT r.relation, r.memory_id, ds.name AS source, dt.name AS target, least(ds.d, dt.d) + 1 AS depth,
               CASE WHEN ds.d <= dt.d THEN r.source_id ELSE r.target_id END AS near_id,
               CASE WHEN ds.d <= dt.d THEN ds.name ELSE dt.name END AS near_name,
               CASE WHEN ds.d <= dt.d THEN r.target_id ELSE r.source_id END AS far_id,
               CASE WHEN ds.d <= dt.d THEN dt.name ELSE ds.name END AS far_name,
               greatest(ds.d, dt.d) AS far_d
        FROM edge r JOIN dist ds ON ds.node = r.source_id JOIN dist dt ON dt.node = r.target_id
        WHERE least(ds.d, dt.d) < least($5, 6)
    ),
    -- One parent per entity: a neighbour one level closer (smallest name).
    parent AS MATERIALIZED (
        SELECT DISTINCT ON (n.far_id) n.far_id AS node, n.near_id AS up, n.far_name AS name
        FROM near n WHERE n.far_d = n.depth
        ORDER BY n.far_id, n.near_name, n.near_id
    ),
    -- The path of names from a starting entity to each entity reached.
    chain(node, names) AS (
        SELECT dist.node, ARRAY[dist.name] FROM dist WHERE dist.d = 0
      UNION ALL
        SELECT parent.node, chain.names || parent.name
        FROM chain JOIN parent ON parent.up = chain.node
    )
    SELECT n.source, n.relation, n.target, n.depth, c.names || n.far_name, n.memory_id
    FROM near n JOIN chain c ON c.node = n.near_id;
END
$fn$;
