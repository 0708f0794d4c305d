-- memory_ext 0.0.1 -> 0.0.2: keyword statistics kept by the write path
-- (memory.keyword_stats), filled here from the existing memories; roles
-- granted access to the memories (memory.grant_tenant_access) get the same on
-- the new table, and tenant isolation, when on, covers it too.
\echo Use "ALTER EXTENSION memory_ext UPDATE TO '0.0.2'" to load this file. \quit

-- Keyword statistics of each scope, kept by the write path in the same
-- transaction, so a search's BM25 reads only the postings of its terms: per
-- (user_id, agent_id, run_id, tier), the current memories without an expiry
-- date and the sum of their keyword lengths (fts_len). Memories with an
-- expiry date leave by the clock, not by a write: a search counts those
-- itself, through memories_expiring_idx. Each statement's changes are summed
-- per scope and applied in key order, so concurrent writers lock stats rows
-- in the same order. Not dumped: restoring the memories rebuilds it.
CREATE TABLE memory.keyword_stats (
    user_id   text,
    agent_id  text,
    run_id    text,
    tier      text   NOT NULL,
    docs      bigint NOT NULL,
    total_len bigint NOT NULL,
    CONSTRAINT keyword_stats_scope UNIQUE NULLS NOT DISTINCT (user_id, agent_id, run_id, tier)
);
COMMENT ON TABLE memory.keyword_stats IS
    'memory_ext: BM25 statistics per scope and tier (current memories without an expiry date)';
CREATE INDEX memories_expiring_idx ON memory.memories (user_id)
    WHERE expires_at IS NOT NULL AND valid_to IS NULL;

CREATE FUNCTION memory.keyword_stats_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO memory.keyword_stats AS s (user_id, agent_id, run_id, tier, docs, total_len)
    SELECT n.user_id, n.agent_id, n.run_id, n.tier, count(*), sum(n.fts_len)
    FROM new_rows n WHERE n.valid_to IS NULL AND n.expires_at IS NULL
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT keyword_stats_scope DO UPDATE
        SET docs = s.docs + excluded.docs, total_len = s.total_len + excluded.total_len;
    RETURN NULL;
END $$;
CREATE TRIGGER memories_keyword_stats_insert AFTER INSERT ON memory.memories
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION memory.keyword_stats_insert();

CREATE FUNCTION memory.keyword_stats_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO memory.keyword_stats AS s (user_id, agent_id, run_id, tier, docs, total_len)
    SELECT o.user_id, o.agent_id, o.run_id, o.tier, -count(*), -sum(o.fts_len)
    FROM old_rows o WHERE o.valid_to IS NULL AND o.expires_at IS NULL
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT keyword_stats_scope DO UPDATE
        SET docs = s.docs + excluded.docs, total_len = s.total_len + excluded.total_len;
    RETURN NULL;
END $$;
CREATE TRIGGER memories_keyword_stats_delete AFTER DELETE ON memory.memories
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION memory.keyword_stats_delete();

-- Updates that change what a row counts for (currentness, expiry, tier,
-- length, scope); the access-count bumps of searches fire nothing.
CREATE FUNCTION memory.keyword_stats_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO memory.keyword_stats AS s (user_id, agent_id, run_id, tier, docs, total_len)
    SELECT c.user_id, c.agent_id, c.run_id, c.tier, sum(c.docs), sum(c.len)
    FROM (SELECT OLD.user_id, OLD.agent_id, OLD.run_id, OLD.tier, -1 AS docs, -OLD.fts_len AS len
          WHERE OLD.valid_to IS NULL AND OLD.expires_at IS NULL
          UNION ALL
          SELECT NEW.user_id, NEW.agent_id, NEW.run_id, NEW.tier, 1, NEW.fts_len
          WHERE NEW.valid_to IS NULL AND NEW.expires_at IS NULL) c
    GROUP BY 1, 2, 3, 4 HAVING sum(c.docs) <> 0 OR sum(c.len) <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT keyword_stats_scope DO UPDATE
        SET docs = s.docs + excluded.docs, total_len = s.total_len + excluded.total_len;
    RETURN NULL;
END $$;
CREATE TRIGGER memories_keyword_stats_update AFTER UPDATE ON memory.memories
    FOR EACH ROW
    WHEN (OLD.valid_to IS DISTINCT FROM NEW.valid_to OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.tier IS DISTINCT FROM NEW.tier OR OLD.fts_len IS DISTINCT FROM NEW.fts_len
          OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.agent_id IS DISTINCT FROM NEW.agent_id
          OR OLD.run_id IS DISTINCT FROM NEW.run_id)
    EXECUTE FUNCTION memory.keyword_stats_update();

CREATE FUNCTION memory.keyword_stats_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM memory.keyword_stats;
    RETURN NULL;
END $$;
CREATE TRIGGER memories_keyword_stats_truncate AFTER TRUNCATE ON memory.memories
    FOR EACH STATEMENT EXECUTE FUNCTION memory.keyword_stats_truncate();

INSERT INTO memory.keyword_stats (user_id, agent_id, run_id, tier, docs, total_len)
SELECT user_id, agent_id, run_id, tier, count(*), sum(fts_len)
FROM memory.memories WHERE valid_to IS NULL AND expires_at IS NULL
GROUP BY 1, 2, 3, 4;

DO $$
DECLARE r record;
BEGIN
    -- The roles granted INSERT on the memories by name (not the owner).
    FOR r IN SELECT DISTINCT g.rolname
             FROM pg_catalog.pg_class c, aclexplode(c.relacl) x
             JOIN pg_catalog.pg_roles g ON g.oid = x.grantee
             WHERE c.oid = 'memory.memories'::regclass AND x.privilege_type = 'INSERT'
               AND x.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON memory.keyword_stats TO %I', r.rolname);
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_policy
               WHERE polrelid = 'memory.memories'::regclass AND polname = 'tenant_isolation') THEN
        ALTER TABLE memory.keyword_stats ENABLE ROW LEVEL SECURITY;
        ALTER TABLE memory.keyword_stats FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON memory.keyword_stats
            USING (user_id = current_setting('memory.current_user_id', true))
            WITH CHECK (user_id = current_setting('memory.current_user_id', true));
    END IF;
END $$;
