-- memory_ext 0.0.4 -> 0.0.5, for the memory browser of memory-server:
-- memory.get_all_page (one page of a listing and the total count, only the
-- page's rows made into JSON) and memory.graph (a scope's entities and
-- relations valid at a time, as one jsonb value); memory.memory_owners also
-- finds the owner of a deleted memory in its history (a project key can read
-- that history).
\echo Use "ALTER EXTENSION memory_ext UPDATE TO '0.0.5'" to load this file. \quit

CREATE  FUNCTION "get_all_page"(
	"user_id" TEXT DEFAULT NULL, /* Option < & str > */
	"agent_id" TEXT DEFAULT NULL, /* Option < & str > */
	"run_id" TEXT DEFAULT NULL, /* Option < & str > */
	"filters" jsonb DEFAULT NULL, /* Option < JsonB > */
	"page" INT DEFAULT 1, /* i32 */
	"page_size" INT DEFAULT 100 /* i32 */
) RETURNS jsonb /* JsonB */
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'get_all_page_wrapper';

-- A scope's knowledge graph as it stood at as_of (now when NULL): the
-- relations valid then, oldest first and at most max_relations of them, with
-- the memory each came from, and the entities they join; `since` is when the
-- scope's first relation began (the start of its timeline), `truncated` says
-- whether relations were left out. For the memory browser and SQL users.
CREATE FUNCTION memory.graph(user_id text DEFAULT NULL, agent_id text DEFAULT NULL, run_id text DEFAULT NULL,
                             as_of timestamptz DEFAULT NULL, max_relations int DEFAULT 1000)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    g jsonb;
BEGIN
    PERFORM memory.graph_walk_check($1, $2, $3, 'max_relations', $5);
    WITH scoped AS (
        SELECT r.source_id, r.relation, r.target_id, r.memory_id, r.valid_from, r.valid_to, r.id
        FROM memory.relations r
        WHERE ($1 IS NULL OR r.user_id = $1) AND ($2 IS NULL OR r.agent_id = $2)
          AND ($3 IS NULL OR r.run_id = $3)
    ), valid AS (
        SELECT s.* FROM scoped s
        WHERE CASE WHEN $4 IS NULL THEN s.valid_to IS NULL
                   ELSE s.valid_from <= $4 AND (s.valid_to IS NULL OR s.valid_to > $4) END
        ORDER BY s.valid_from, s.id
        LIMIT $5::bigint + 1
    ), shown AS (
        SELECT v.* FROM valid v ORDER BY v.valid_from, v.id LIMIT $5
    ), ents AS (
        SELECT e.id, e.name, e.entity_type FROM memory.entities e
        WHERE e.id IN (SELECT sh.source_id FROM shown sh UNION SELECT sh.target_id FROM shown sh)
    )
    SELECT jsonb_build_object(
        'as_of', coalesce($4, statement_timestamp()),
        'since', (SELECT min(s.valid_from) FROM scoped s),
        'truncated', (SELECT count(*) FROM valid) > $5,
        'entities', coalesce((SELECT jsonb_agg(jsonb_build_object('id', e.id, 'name', e.name, 'type', e.entity_type)
                                               ORDER BY lower(e.name), e.id) FROM ents e), '[]'::jsonb),
        'relations', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                   'source', a.name, 'source_id', sh.source_id, 'relationship', sh.relation,
                                   'destination', b.name, 'destination_id', sh.target_id,
                                   'memory_id', sh.memory_id, 'valid_from', sh.valid_from, 'valid_to', sh.valid_to)
                                   ORDER BY sh.valid_from, sh.id)
                               FROM shown sh JOIN ents a ON a.id = sh.source_id JOIN ents b ON b.id = sh.target_id),
                              '[]'::jsonb))
    INTO g;
    RETURN g;
END
$fn$;
COMMENT ON FUNCTION memory.graph IS
    'memory_ext: a scope''s entities and relations valid at as_of (now by default), as jsonb';

CREATE OR REPLACE FUNCTION memory.memory_owners(ids uuid[])
RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT m.user_id FROM memory.memories m
    WHERE m.id = ANY (ids) AND m.user_id IS NOT NULL
    UNION
    -- a deleted memory: the user its history names (its history stays
    -- readable, as in Mem0)
    SELECT h.user_id FROM memory.history h
    WHERE h.memory_id = ANY (ids) AND h.user_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM memory.memories m WHERE m.id = h.memory_id)
$fn$;
