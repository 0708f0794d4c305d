-- memory_ext 0.0.1 -> 0.0.2: per-scope statistics kept by the write path
-- (memory.scope_stats), filled here from the existing memories; roles
-- granted SELECT on the memories (memory.grant_tenant_access) may read it,
-- and tenant isolation, when on, covers it too.
\echo Use "ALTER EXTENSION memory_ext UPDATE TO '0.0.2'" to load this file. \quit


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

INSERT INTO memory.scope_stats (user_id, agent_id, run_id, tier, docs, total_len)
SELECT user_id, agent_id, run_id, tier,
       count(*) FILTER (WHERE valid_to IS NULL AND expires_at IS NULL),
       coalesce(sum(fts_len) FILTER (WHERE valid_to IS NULL AND expires_at IS NULL), 0)
FROM memory.memories GROUP BY 1, 2, 3, 4;

DO $$
DECLARE r record;
BEGIN
    -- The roles granted SELECT on the memories by name (not the owner)
    -- read the statistics when they search.
    FOR r IN SELECT DISTINCT g.rolname
             FROM pg_catalog.pg_class c, aclexplode(c.relacl) x
             JOIN pg_catalog.pg_roles g ON g.oid = x.grantee
             WHERE c.oid = 'memory.memories'::regclass AND x.privilege_type = 'SELECT'
               AND x.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT SELECT ON memory.scope_stats TO %I', r.rolname);
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_policy
               WHERE polrelid = 'memory.memories'::regclass AND polname = 'tenant_isolation') THEN
        ALTER TABLE memory.scope_stats ENABLE ROW LEVEL SECURITY;
        ALTER TABLE memory.scope_stats FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON memory.scope_stats
            USING (user_id = current_setting('memory.current_user_id', true))
            WITH CHECK (user_id = current_setting('memory.current_user_id', true));
    END IF;
END $$;
