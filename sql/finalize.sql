-- memory_ext schema objects that pgrx cannot generate: the vector types,
-- their casts and operators, and the memory tables (design §3, §4).

------------------------------------------------------------------ types

CREATE TYPE memory.vector (
    INPUT     = memory.vector_in,
    OUTPUT    = memory.vector_out,
    TYPMOD_IN = memory.vector_typmod_in,
    RECEIVE   = memory.vector_recv,
    SEND      = memory.vector_send,
    STORAGE   = external,
    ALIGNMENT = int4
);
COMMENT ON TYPE memory.vector IS 'float4 vector, pgvector text and binary format';

CREATE TYPE memory.halfvec (
    INPUT     = memory.halfvec_in,
    OUTPUT    = memory.halfvec_out,
    TYPMOD_IN = memory.halfvec_typmod_in,
    RECEIVE   = memory.halfvec_recv,
    SEND      = memory.halfvec_send,
    STORAGE   = external,
    ALIGNMENT = int4
);
COMMENT ON TYPE memory.halfvec IS 'float16 vector, pgvector text and binary format';

------------------------------------------------------------------ casts

CREATE CAST (memory.vector AS memory.vector)
    WITH FUNCTION memory.vector(memory.vector, integer, boolean) AS IMPLICIT;
CREATE CAST (memory.halfvec AS memory.halfvec)
    WITH FUNCTION memory.halfvec(memory.halfvec, integer, boolean) AS IMPLICIT;

CREATE CAST (real[] AS memory.vector)
    WITH FUNCTION memory.array_to_vector(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (double precision[] AS memory.vector)
    WITH FUNCTION memory.array_to_vector(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (integer[] AS memory.vector)
    WITH FUNCTION memory.array_to_vector(integer[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (memory.vector AS real[])
    WITH FUNCTION memory.vector_to_float4(memory.vector, integer, boolean) AS IMPLICIT;

CREATE CAST (real[] AS memory.halfvec)
    WITH FUNCTION memory.array_to_halfvec(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (double precision[] AS memory.halfvec)
    WITH FUNCTION memory.array_to_halfvec(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (integer[] AS memory.halfvec)
    WITH FUNCTION memory.array_to_halfvec(integer[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (memory.halfvec AS real[])
    WITH FUNCTION memory.halfvec_to_float4(memory.halfvec, integer, boolean) AS ASSIGNMENT;

CREATE CAST (memory.vector AS memory.halfvec)
    WITH FUNCTION memory.vector_to_halfvec(memory.vector, integer, boolean) AS IMPLICIT;
CREATE CAST (memory.halfvec AS memory.vector)
    WITH FUNCTION memory.halfvec_to_vector(memory.halfvec, integer, boolean) AS ASSIGNMENT;

-------------------------------------------------------------- operators

CREATE OPERATOR memory.<-> (
    LEFTARG = memory.vector, RIGHTARG = memory.vector,
    FUNCTION = memory.l2_distance, COMMUTATOR = OPERATOR(memory.<->)
);
CREATE OPERATOR memory.<=> (
    LEFTARG = memory.vector, RIGHTARG = memory.vector,
    FUNCTION = memory.cosine_distance, COMMUTATOR = OPERATOR(memory.<=>)
);
CREATE OPERATOR memory.<#> (
    LEFTARG = memory.vector, RIGHTARG = memory.vector,
    FUNCTION = memory.vector_negative_inner_product, COMMUTATOR = OPERATOR(memory.<#>)
);
CREATE OPERATOR memory.= (
    LEFTARG = memory.vector, RIGHTARG = memory.vector, FUNCTION = memory.vector_eq,
    COMMUTATOR = OPERATOR(memory.=), NEGATOR = OPERATOR(memory.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel
);
CREATE OPERATOR memory.<> (
    LEFTARG = memory.vector, RIGHTARG = memory.vector, FUNCTION = memory.vector_ne,
    COMMUTATOR = OPERATOR(memory.<>), NEGATOR = OPERATOR(memory.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);

CREATE OPERATOR memory.<-> (
    LEFTARG = memory.halfvec, RIGHTARG = memory.halfvec,
    FUNCTION = memory.l2_distance, COMMUTATOR = OPERATOR(memory.<->)
);
CREATE OPERATOR memory.<=> (
    LEFTARG = memory.halfvec, RIGHTARG = memory.halfvec,
    FUNCTION = memory.cosine_distance, COMMUTATOR = OPERATOR(memory.<=>)
);
CREATE OPERATOR memory.<#> (
    LEFTARG = memory.halfvec, RIGHTARG = memory.halfvec,
    FUNCTION = memory.halfvec_negative_inner_product, COMMUTATOR = OPERATOR(memory.<#>)
);
CREATE OPERATOR memory.= (
    LEFTARG = memory.halfvec, RIGHTARG = memory.halfvec, FUNCTION = memory.halfvec_eq,
    COMMUTATOR = OPERATOR(memory.=), NEGATOR = OPERATOR(memory.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel
);
CREATE OPERATOR memory.<> (
    LEFTARG = memory.halfvec, RIGHTARG = memory.halfvec, FUNCTION = memory.halfvec_ne,
    COMMUTATOR = OPERATOR(memory.<>), NEGATOR = OPERATOR(memory.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);

----------------------------------------------------------------- tables

CREATE TABLE memory.memories (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    memory           text        NOT NULL,
    hash             text,
    user_id          text,
    agent_id         text,
    run_id           text,
    app_id           text,
    actor_id         text,
    role             text,
    metadata         jsonb       NOT NULL DEFAULT '{}',
    categories       text[]      NOT NULL DEFAULT '{}',
    memory_type      text        NOT NULL DEFAULT 'semantic',
    embedding        memory.vector,          -- hot tier: the f32 vector (NULL when cold)
    embedding_half   memory.halfvec,         -- cold tier: the same vector in f16 (NULL when hot)
    embedder         text,
    fts              tsvector,
    fts_len          integer     NOT NULL DEFAULT 0,
    immutable        boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    valid_from       timestamptz NOT NULL DEFAULT now(),
    valid_to         timestamptz,
    expires_at       timestamptz,
    access_count     integer     NOT NULL DEFAULT 0,
    last_accessed_at timestamptz,
    tier             text        NOT NULL DEFAULT 'hot',
    -- Conversation context (design §7): the write order, the memory said
    -- just before this one in the same conversation (same add call, same
    -- run, or the same scope within memory.conversation_window), and the
    -- embedding of that memory's text joined with this one's (hot tier only;
    -- NULL when there is no context or the text was rewritten).
    seq               bigint      GENERATED BY DEFAULT AS IDENTITY,
    context_id        uuid,
    context_embedding memory.vector,
    CONSTRAINT memories_scope_required
        CHECK (user_id IS NOT NULL OR agent_id IS NOT NULL OR run_id IS NOT NULL),
    CONSTRAINT memories_memory_type_check
        CHECK (memory_type IN ('semantic', 'episodic', 'procedural', 'summary')),
    CONSTRAINT memories_tier_check CHECK (tier IN ('hot', 'cold')),
    CONSTRAINT memories_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
    CONSTRAINT memories_validity CHECK (valid_to IS NULL OR valid_to >= valid_from),
    CONSTRAINT memories_tier_vectors
        CHECK (tier = 'cold' OR embedding_half IS NULL),
    CONSTRAINT memories_cold_vectors
        CHECK (tier = 'hot' OR (embedding IS NULL AND context_embedding IS NULL))
)
-- Room on each page for the access-count bumps of searches to stay HOT
-- updates (no new index entries, in particular none in a memory_hnsw index).
WITH (fillfactor = 90);
COMMENT ON TABLE memory.memories IS 'memory_ext: one row per remembered fact';

-- (user_id, created_at, seq): an add finds the latest memory of its scope
-- (the conversation it continues) as the first entry of a backward scan.
CREATE INDEX memories_user_created_idx ON memory.memories (user_id, created_at, seq);
-- Finds another embedder in a user's scope without reading all its rows
-- (every add checks that a scope's vectors stay comparable).
CREATE INDEX memories_user_embedder_idx ON memory.memories (user_id, embedder) WHERE embedding IS NOT NULL;
CREATE INDEX memories_agent_idx ON memory.memories (agent_id);
CREATE INDEX memories_run_idx ON memory.memories (run_id);
CREATE INDEX memories_app_idx ON memory.memories (app_id) WHERE app_id IS NOT NULL;
CREATE INDEX memories_hash_idx ON memory.memories (hash);
CREATE INDEX memories_metadata_idx ON memory.memories USING gin (metadata jsonb_path_ops);
CREATE INDEX memories_expires_idx ON memory.memories (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX memories_fts_idx ON memory.memories USING gin (fts);
-- The memories said right after a given one (neighbour expansion in search).
CREATE INDEX memories_context_idx ON memory.memories (context_id) WHERE context_id IS NOT NULL;

-- Keyword terms of every memory, however it is written: stemmed lexemes of
-- memory.text_search_config (default english) plus CJK character bigrams;
-- fts_len is the number of term occurrences (BM25's document length).
CREATE FUNCTION memory.memories_keywords() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.fts := to_tsvector(
                   coalesce(nullif(current_setting('memory.text_search_config', true), ''), 'english')::regconfig,
                   NEW.memory)
               || memory.cjk_terms(NEW.memory)::tsvector;
    NEW.fts_len := (SELECT coalesce(sum(coalesce(array_length(positions, 1), 1)), 0)
                    FROM unnest(NEW.fts));
    RETURN NEW;
END $$;
CREATE TRIGGER memories_keywords BEFORE INSERT OR UPDATE OF memory ON memory.memories
    FOR EACH ROW EXECUTE FUNCTION memory.memories_keywords();

-- Statistics of each scope, kept by the write path in the same transaction,
-- per (user_id, agent_id, run_id, tier):
-- - docs, total_len: the current memories without an expiry date and the sum
--   of their keyword lengths (fts_len), so a search's BM25 reads only the
--   postings of its terms. Memories with an expiry date leave by the clock,
--   not by a write: a search counts those itself (memories_expiring_idx).
-- - version: bumped by every statement that writes the key's memories (and
--   by each update of what a memory is: text, validity, expiry, tier, kind,
--   embedder, immutability), so an add that decided without the scope's
--   lock can tell whether its candidates may have changed since.
-- Each statement's changes are summed per key and applied in key order, so
-- concurrent writers lock stats rows in the same order. The triggers run as
-- the extension's owner, so a role that may write memories needs no grant
-- here (searches read it: SELECT). Not dumped: restoring the memories
-- rebuilds it.
CREATE TABLE memory.scope_stats (
    user_id   text,
    agent_id  text,
    run_id    text,
    tier      text   NOT NULL,
    docs      bigint NOT NULL DEFAULT 0,
    total_len bigint NOT NULL DEFAULT 0,
    version   bigint NOT NULL DEFAULT 0,
    CONSTRAINT scope_stats_key UNIQUE NULLS NOT DISTINCT (user_id, agent_id, run_id, tier)
);
COMMENT ON TABLE memory.scope_stats IS
    'memory_ext: per scope and tier, BM25 statistics of current memories without an expiry date, and a write version';
CREATE INDEX memories_expiring_idx ON memory.memories (user_id)
    WHERE expires_at IS NOT NULL AND valid_to IS NULL;

CREATE FUNCTION memory.scope_stats_insert() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO memory.scope_stats AS s (user_id, agent_id, run_id, tier, docs, total_len, version)
    SELECT n.user_id, n.agent_id, n.run_id, n.tier,
           count(*) FILTER (WHERE n.valid_to IS NULL AND n.expires_at IS NULL),
           coalesce(sum(n.fts_len) FILTER (WHERE n.valid_to IS NULL AND n.expires_at IS NULL), 0), 1
    FROM new_rows n GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT scope_stats_key DO UPDATE
        SET docs = s.docs + excluded.docs, total_len = s.total_len + excluded.total_len,
            version = s.version + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER memories_scope_stats_insert AFTER INSERT ON memory.memories
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION memory.scope_stats_insert();

CREATE FUNCTION memory.scope_stats_delete() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO memory.scope_stats AS s (user_id, agent_id, run_id, tier, docs, total_len, version)
    SELECT o.user_id, o.agent_id, o.run_id, o.tier,
           -count(*) FILTER (WHERE o.valid_to IS NULL AND o.expires_at IS NULL),
           -coalesce(sum(o.fts_len) FILTER (WHERE o.valid_to IS NULL AND o.expires_at IS NULL), 0), 1
    FROM old_rows o GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT scope_stats_key DO UPDATE
        SET docs = s.docs + excluded.docs, total_len = s.total_len + excluded.total_len,
            version = s.version + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER memories_scope_stats_delete AFTER DELETE ON memory.memories
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION memory.scope_stats_delete();

-- Per row, only for updates that change what a memory is or counts for; the
-- access-count bumps of searches fire nothing.
CREATE FUNCTION memory.scope_stats_update() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO memory.scope_stats AS s (user_id, agent_id, run_id, tier, docs, total_len, version)
    SELECT c.user_id, c.agent_id, c.run_id, c.tier, sum(c.docs), sum(c.len), 1
    FROM (SELECT OLD.user_id, OLD.agent_id, OLD.run_id, OLD.tier,
                 CASE WHEN OLD.valid_to IS NULL AND OLD.expires_at IS NULL THEN -1 ELSE 0 END AS docs,
                 CASE WHEN OLD.valid_to IS NULL AND OLD.expires_at IS NULL THEN -OLD.fts_len ELSE 0 END AS len
          UNION ALL
          SELECT NEW.user_id, NEW.agent_id, NEW.run_id, NEW.tier,
                 CASE WHEN NEW.valid_to IS NULL AND NEW.expires_at IS NULL THEN 1 ELSE 0 END,
                 CASE WHEN NEW.valid_to IS NULL AND NEW.expires_at IS NULL THEN NEW.fts_len ELSE 0 END) c
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT scope_stats_key DO UPDATE
        SET docs = s.docs + excluded.docs, total_len = s.total_len + excluded.total_len,
            version = s.version + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER memories_scope_stats_update AFTER UPDATE ON memory.memories
    FOR EACH ROW
    WHEN (OLD.valid_to IS DISTINCT FROM NEW.valid_to OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.tier IS DISTINCT FROM NEW.tier OR OLD.fts_len IS DISTINCT FROM NEW.fts_len
          OR OLD.memory IS DISTINCT FROM NEW.memory OR OLD.memory_type IS DISTINCT FROM NEW.memory_type
          OR OLD.embedder IS DISTINCT FROM NEW.embedder OR OLD.immutable IS DISTINCT FROM NEW.immutable
          OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.agent_id IS DISTINCT FROM NEW.agent_id
          OR OLD.run_id IS DISTINCT FROM NEW.run_id)
    EXECUTE FUNCTION memory.scope_stats_update();

CREATE FUNCTION memory.scope_stats_truncate() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM memory.scope_stats;
    RETURN NULL;
END $$;
CREATE TRIGGER memories_scope_stats_truncate AFTER TRUNCATE ON memory.memories
    FOR EACH STATEMENT EXECUTE FUNCTION memory.scope_stats_truncate();

CREATE TABLE memory.history (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    memory_id   uuid        NOT NULL,
    old_memory  text,
    new_memory  text,
    event       text        NOT NULL CHECK (event IN ('ADD', 'UPDATE', 'DELETE')),
    actor_id    text,
    role        text,
    user_id     text,
    agent_id    text,
    run_id      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz,
    is_deleted  boolean     NOT NULL DEFAULT false,
    reason      text
);
COMMENT ON TABLE memory.history IS 'memory_ext: every ADD, UPDATE and DELETE of a memory';
CREATE INDEX history_memory_idx ON memory.history (memory_id, id);
CREATE INDEX history_user_idx ON memory.history (user_id);

CREATE TABLE memory.entities (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     text,
    agent_id    text,
    run_id      text,
    name        text        NOT NULL,
    entity_type text,
    embedding   memory.vector,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT entities_scope_required
        CHECK (user_id IS NOT NULL OR agent_id IS NOT NULL OR run_id IS NOT NULL)
);
CREATE UNIQUE INDEX entities_scope_name_key ON memory.entities
    (coalesce(user_id, ''), coalesce(agent_id, ''), coalesce(run_id, ''), lower(name));
-- An add finds a name's entity among those of its scope sharing the name's
-- first three letters (the name itself or a variant such as "Johnny").
CREATE INDEX entities_scope_prefix_idx ON memory.entities
    (coalesce(user_id, ''), coalesce(agent_id, ''), coalesce(run_id, ''), left(lower(name), 3));
-- Covering: a graph walk reads a user's entity names from the index alone.
CREATE INDEX entities_user_idx ON memory.entities (user_id) INCLUDE (id, name, agent_id, run_id);

CREATE TABLE memory.relations (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    source_id   uuid        NOT NULL REFERENCES memory.entities (id) ON DELETE CASCADE,
    relation    text        NOT NULL,
    target_id   uuid        NOT NULL REFERENCES memory.entities (id) ON DELETE CASCADE,
    memory_id   uuid,
    user_id     text,
    agent_id    text,
    run_id      text,
    valid_from  timestamptz NOT NULL DEFAULT now(),
    valid_to    timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT relations_scope_required
        CHECK (user_id IS NOT NULL OR agent_id IS NOT NULL OR run_id IS NOT NULL)
);
-- Covering (user_id first): a graph walk reads a user's edges with an
-- index-only scan, without visiting the heap page of each edge.
CREATE INDEX relations_user_source_idx ON memory.relations (user_id, source_id)
    INCLUDE (target_id, relation, memory_id, agent_id, run_id, valid_from, valid_to);
CREATE INDEX relations_user_target_idx ON memory.relations (user_id, target_id);
CREATE INDEX relations_memory_idx ON memory.relations (memory_id);
CREATE INDEX relations_source_idx ON memory.relations (source_id);
CREATE INDEX relations_target_idx ON memory.relations (target_id);
CREATE INDEX entities_name_idx ON memory.entities (lower(name));

-- Graph walks (recursive CTEs). Edges are followed in both directions (a
-- question about John reaches "Adam -father_of-> John"). memory.graph_edges
-- reads the scope's edges and entity names once (index-only scans for a
-- user), then runs a breadth-first search over them: `reach` keeps each
-- (entity, level) once (UNION), so cycles end and the work is bounded by
-- entities x depth, not by the number of paths; each edge is returned once,
-- at its smallest depth, with one shortest path to it (parents chosen by
-- name). The walk itself reads no table, so its plan is made once per
-- session and reused. Depth is capped at 6. Edges are those valid at `as_of`
-- (valid_from <= as_of < valid_to), current ones when as_of is NULL, within
-- the scope given (equality per argument, at least one required).
-- The arguments every graph walk checks: a scope, and a depth of at least 1.
CREATE FUNCTION memory.graph_walk_check(user_id text, agent_id text, run_id text, depth_name text, depth int)
RETURNS void LANGUAGE plpgsql IMMUTABLE AS $fn$
BEGIN
    IF $1 IS NULL AND $2 IS NULL AND $3 IS NULL THEN
        RAISE EXCEPTION 'a graph walk needs a scope'
            USING ERRCODE = '22023', HINT = 'Pass user_id, agent_id or run_id.';
    END IF;
    IF $5 IS NULL OR $5 < 1 THEN
        RAISE EXCEPTION '% must be at least 1, not %', $4, coalesce($5::text, 'NULL') USING ERRCODE = '22023';
    END IF;
END
$fn$;

CREATE FUNCTION memory.graph_edges(entities text[], user_id text DEFAULT NULL, agent_id text DEFAULT NULL,
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
COMMENT ON FUNCTION memory.graph_edges IS 'memory_ext: edges around entities, with the memory each came from';

CREATE FUNCTION memory.neighbors(entity text, user_id text DEFAULT NULL, agent_id text DEFAULT NULL,
                                 run_id text DEFAULT NULL, depth int DEFAULT 2, as_of timestamptz DEFAULT NULL)
RETURNS TABLE(source text, relation text, destination text, depth int, path text[])
LANGUAGE sql STABLE AS $fn$
    SELECT g.source, g.relation, g.destination, g.depth, g.path
    FROM memory.graph_edges(ARRAY[$1], $2, $3, $4, $5, $6) g
    ORDER BY g.depth, g.source, g.relation, g.destination
$fn$;

-- Simple paths (no entity twice) from one entity to another, shortest first,
-- at most 100; `relations` names each step, "(reverse)" when walked against
-- the edge's direction.
CREATE FUNCTION memory.paths(from_entity text, to_entity text, user_id text DEFAULT NULL,
                             agent_id text DEFAULT NULL, run_id text DEFAULT NULL, max_depth int DEFAULT 4,
                             as_of timestamptz DEFAULT NULL)
RETURNS TABLE(path text[], relations text[], length int)
LANGUAGE plpgsql STABLE AS $fn$
BEGIN
    PERFORM memory.graph_walk_check($3, $4, $5, 'max_depth', $6);
    RETURN QUERY
    WITH RECURSIVE walk(node, lvl, names, nodes, rels, done) AS (
        SELECT e.id, 0, ARRAY[e.name], ARRAY[e.id], ARRAY[]::text[], false
        FROM memory.entities e
        WHERE lower(e.name) = lower($1)
          AND ($3 IS NULL OR e.user_id = $3) AND ($4 IS NULL OR e.agent_id = $4)
          AND ($5 IS NULL OR e.run_id = $5)
      UNION ALL
        SELECT n.id, w.lvl + 1, w.names || n.name, w.nodes || n.id,
               w.rels || CASE WHEN r.source_id = w.node THEN r.relation ELSE r.relation || ' (reverse)' END,
               lower(n.name) = lower($2)
        FROM walk w
        JOIN memory.relations r ON (r.source_id = w.node OR r.target_id = w.node)
        JOIN memory.entities n ON n.id = CASE WHEN r.source_id = w.node THEN r.target_id ELSE r.source_id END
        WHERE NOT w.done AND w.lvl < least($6, 6)
          AND NOT n.id = ANY (w.nodes)
          AND ($3 IS NULL OR r.user_id = $3) AND ($4 IS NULL OR r.agent_id = $4)
          AND ($5 IS NULL OR r.run_id = $5)
          AND CASE WHEN $7 IS NULL THEN r.valid_to IS NULL
                   ELSE r.valid_from <= $7 AND (r.valid_to IS NULL OR r.valid_to > $7) END
    )
    -- The recursive CTE produces level by level, so the first paths found are
    -- the shortest and LIMIT ends the walk early.
    SELECT w.names, w.rels, w.lvl FROM walk w WHERE w.done
    LIMIT 100;
END
$fn$;

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

-- The memory_hnsw index access method and its operator classes.
CREATE ACCESS METHOD memory_hnsw TYPE INDEX HANDLER memory.memory_hnsw_handler;
COMMENT ON ACCESS METHOD memory_hnsw IS 'memory_ext: HNSW approximate nearest-neighbour index';

CREATE OPERATOR CLASS memory.vector_l2_ops FOR TYPE memory.vector USING memory_hnsw AS
    OPERATOR 1 memory.<-> (memory.vector, memory.vector) FOR ORDER BY float_ops,
    FUNCTION 1 memory.l2_distance(memory.vector, memory.vector);
CREATE OPERATOR CLASS memory.vector_cosine_ops FOR TYPE memory.vector USING memory_hnsw AS
    OPERATOR 1 memory.<=> (memory.vector, memory.vector) FOR ORDER BY float_ops,
    FUNCTION 1 memory.cosine_distance(memory.vector, memory.vector);
CREATE OPERATOR CLASS memory.vector_ip_ops FOR TYPE memory.vector USING memory_hnsw AS
    OPERATOR 1 memory.<#> (memory.vector, memory.vector) FOR ORDER BY float_ops,
    FUNCTION 1 memory.vector_negative_inner_product(memory.vector, memory.vector);
CREATE OPERATOR CLASS memory.halfvec_l2_ops FOR TYPE memory.halfvec USING memory_hnsw AS
    OPERATOR 1 memory.<-> (memory.halfvec, memory.halfvec) FOR ORDER BY float_ops,
    FUNCTION 1 memory.l2_distance(memory.halfvec, memory.halfvec);
CREATE OPERATOR CLASS memory.halfvec_cosine_ops FOR TYPE memory.halfvec USING memory_hnsw AS
    OPERATOR 1 memory.<=> (memory.halfvec, memory.halfvec) FOR ORDER BY float_ops,
    FUNCTION 1 memory.cosine_distance(memory.halfvec, memory.halfvec);
CREATE OPERATOR CLASS memory.halfvec_ip_ops FOR TYPE memory.halfvec USING memory_hnsw AS
    OPERATOR 1 memory.<#> (memory.halfvec, memory.halfvec) FOR ORDER BY float_ops,
    FUNCTION 1 memory.halfvec_negative_inner_product(memory.halfvec, memory.halfvec);

----------------------------------------------------------------- asynchronous adds

-- memory.add_async() queues an add here; the background worker (or CALL
-- memory.process_jobs()) runs it with the same pipeline. A job is marked done
-- in the transaction that writes its memories, so a crash at any point leaves
-- it either done or queued, never half-applied or applied twice.
CREATE TABLE memory.job_queue (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    seq             bigint      GENERATED ALWAYS AS IDENTITY,
    user_id         text,
    agent_id        text,
    run_id          text,
    scope_key       text        NOT NULL,
    args            jsonb       NOT NULL,
    settings        jsonb       NOT NULL DEFAULT '{}',
    role_name       name        NOT NULL DEFAULT current_user,
    tenant          text        DEFAULT current_setting('memory.current_user_id', true),
    status          text        NOT NULL DEFAULT 'PENDING',
    attempts        integer     NOT NULL DEFAULT 0,
    max_attempts    integer     NOT NULL DEFAULT 5,
    last_error      text,
    result          jsonb,
    enqueued_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at      timestamptz,
    finished_at     timestamptz,
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT job_queue_status_check CHECK (status IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED'))
);
COMMENT ON TABLE memory.job_queue IS 'memory_ext: queued asynchronous adds';
CREATE INDEX job_queue_open_idx ON memory.job_queue (seq) WHERE status IN ('PENDING', 'RUNNING');
CREATE INDEX job_queue_scope_idx ON memory.job_queue (scope_key, seq) WHERE status IN ('PENDING', 'RUNNING');

-- security_invoker: readers see the jobs row-level security lets them see.
CREATE VIEW memory.jobs WITH (security_invoker = true) AS
    SELECT id AS event_id, status, user_id, agent_id, run_id, attempts, max_attempts, last_error,
           result, enqueued_at, started_at, finished_at,
           CASE WHEN status = 'PENDING' THEN next_attempt_at END AS next_attempt_at
    FROM memory.job_queue;
COMMENT ON VIEW memory.jobs IS 'memory_ext: status of asynchronous adds (event_id as returned by add_async)';

-- Claim the next runnable job: the oldest pending one whose scope has no
-- older unfinished job (adds of one scope apply in the order they were
-- queued). Marks it RUNNING and counts the attempt; the caller commits, then
-- runs it with memory.run_job.
CREATE FUNCTION memory.claim_job() RETURNS uuid LANGUAGE sql AS $$
    WITH next AS (
        SELECT j.id FROM memory.job_queue j
        WHERE j.status = 'PENDING' AND j.next_attempt_at <= clock_timestamp()
          AND NOT EXISTS (SELECT 1 FROM memory.job_queue e
                          WHERE e.scope_key = j.scope_key AND e.status IN ('PENDING', 'RUNNING')
                            AND e.seq < j.seq)
        ORDER BY j.seq
        LIMIT 1
        FOR UPDATE SKIP LOCKED)
    UPDATE memory.job_queue q
       SET status = 'RUNNING', attempts = q.attempts + 1, started_at = clock_timestamp()
      FROM next WHERE q.id = next.id
    RETURNING q.id
$$;

-- Run a claimed job as the role (and tenant) that queued it, with the
-- settings it was queued under. Success and the memories commit together;
-- a failure is recorded: retried with exponential backoff (1 s, 2 s, 4 s, ...
-- up to 5 min) when transient (endpoint unreachable or failing, timeout,
-- lock or serialization conflict), FAILED at once when the input is wrong
-- or after max_attempts.
CREATE FUNCTION memory.run_job(job uuid) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    j       memory.job_queue;
    out     jsonb;
    k       text;
    state   text;
    msg     text;
    retry   boolean;
BEGIN
    SELECT * INTO j FROM memory.job_queue WHERE id = job AND status = 'RUNNING' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    BEGIN
        FOR k IN SELECT jsonb_object_keys(j.settings) LOOP
            IF current_setting(k, true) IS DISTINCT FROM j.settings->>k THEN
                PERFORM set_config(k, j.settings->>k, true);
            END IF;
        END LOOP;
        PERFORM set_config('memory.current_user_id', coalesce(j.tenant, ''), true);
        PERFORM set_config('role', j.role_name, true);
        IF jsonb_typeof(j.args->'messages') = 'string' THEN
            out := memory.add(j.args->>'messages', j.user_id, j.agent_id, j.run_id, j.args->'metadata',
                              (j.args->>'infer')::boolean, j.args->>'memory_type', j.args->>'prompt',
                              (j.args->>'expiration_date')::timestamptz, (j.args->>'timestamp')::timestamptz,
                              j.args->>'app_id');
        ELSE
            out := memory.add(j.args->'messages', j.user_id, j.agent_id, j.run_id, j.args->'metadata',
                              (j.args->>'infer')::boolean, j.args->>'memory_type', j.args->>'prompt',
                              (j.args->>'expiration_date')::timestamptz, (j.args->>'timestamp')::timestamptz,
                              j.args->>'app_id');
        END IF;
        PERFORM set_config('role', 'none', true);
        UPDATE memory.job_queue SET status = 'SUCCEEDED', result = out, last_error = NULL,
               finished_at = clock_timestamp()
         WHERE id = job;
        RETURN 'SUCCEEDED';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    END;
    retry := (left(state, 2) IN ('08', '40', '53', '57', '58') OR state = '55P03')
             AND j.attempts < j.max_attempts;
    UPDATE memory.job_queue
       SET status = CASE WHEN retry THEN 'PENDING' ELSE 'FAILED' END,
           last_error = state || ': ' || msg,
           next_attempt_at = clock_timestamp()
                             + least(power(2, j.attempts - 1), 300) * interval '1 second',
           finished_at = CASE WHEN retry THEN NULL ELSE clock_timestamp() END
     WHERE id = job;
    RETURN CASE WHEN retry THEN 'RETRY' ELSE 'FAILED' END;
END
$$;

-- Run queued jobs in this session (without the background worker, or from
-- a scheduler), committing after each; returns how many ran.
CREATE PROCEDURE memory.process_jobs(max_jobs integer DEFAULT 100, INOUT processed integer DEFAULT 0)
LANGUAGE plpgsql AS $$
DECLARE
    job uuid;
BEGIN
    processed := 0;
    WHILE processed < max_jobs LOOP
        job := memory.claim_job();
        EXIT WHEN job IS NULL;
        COMMIT;
        PERFORM memory.run_job(job);
        COMMIT;
        processed := processed + 1;
    END LOOP;
END
$$;

----------------------------------------------------------------- maintenance

-- Lifecycle maintenance in short transactions: purge expired memories and
-- finished jobs older than 7 days, then move idle memories to the cold tier, committing after every batch so no lock is
-- held for long and adds and searches go on meanwhile (every batch skips rows
-- another session holds). CALL it at top level (not inside BEGIN ... COMMIT);
-- the background worker runs the same batches when it is configured.
CREATE PROCEDURE memory.maintain(batch integer DEFAULT NULL, cold_after interval DEFAULT NULL,
                                 INOUT report jsonb DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    started timestamptz := clock_timestamp();
    b       integer;
    n       bigint;
    purged  bigint := 0;
    cooled  bigint := 0;
    jobs    bigint := 0;
    ids     uuid[];
    i       integer := 1;
BEGIN
    LOOP
        n := memory.purge_expired(batch);
        -- The first call loaded the library, so its settings exist now.
        b := coalesce(batch, current_setting('memory.maintenance_batch')::integer);
        purged := purged + n;
        COMMIT;
        EXIT WHEN n < b;
    END LOOP;
    LOOP
        n := memory.purge_jobs(batch => b);
        jobs := jobs + n;
        COMMIT;
        EXIT WHEN n < b;
    END LOOP;
    ids := memory.cold_candidates(cold_after);
    WHILE i <= coalesce(cardinality(ids), 0) LOOP
        cooled := cooled + memory.move_to_cold(ids[i : i + b - 1], cold_after);
        COMMIT;
        i := i + b;
    END LOOP;
    report := jsonb_build_object(
        'expired_purged', purged,
        'jobs_purged', jobs,
        'cold_candidates', coalesce(cardinality(ids), 0),
        'moved_cold', cooled,
        'seconds', round(extract(epoch FROM clock_timestamp() - started)::numeric, 3));
END
$$;
COMMENT ON PROCEDURE memory.maintain(integer, interval, jsonb) IS
    'memory_ext: purge expired memories and move idle ones to the cold tier, in short transactions';
