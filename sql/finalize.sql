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
    embedding        memory.vector,
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
    CONSTRAINT memories_scope_required
        CHECK (user_id IS NOT NULL OR agent_id IS NOT NULL OR run_id IS NOT NULL),
    CONSTRAINT memories_memory_type_check
        CHECK (memory_type IN ('semantic', 'episodic', 'procedural', 'summary')),
    CONSTRAINT memories_tier_check CHECK (tier IN ('hot', 'cold')),
    CONSTRAINT memories_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
    CONSTRAINT memories_validity CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
COMMENT ON TABLE memory.memories IS 'memory_ext: one row per remembered fact';

CREATE INDEX memories_user_created_idx ON memory.memories (user_id, created_at);
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
CREATE INDEX entities_user_idx ON memory.entities (user_id);

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
CREATE INDEX relations_user_source_idx ON memory.relations (user_id, source_id);
CREATE INDEX relations_user_target_idx ON memory.relations (user_id, target_id);
CREATE INDEX relations_memory_idx ON memory.relations (memory_id);

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
