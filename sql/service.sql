-- memory_ext objects used by the REST service (server/, design §7a):
-- API keys, the key lookup the service runs at the start of each request,
-- and the entity listing / deletion behind /v1/entities/.
-- Plain SQL; runs after finalize.sql.

------------------------------------------------------------------ API keys

-- Only the sha256 of a key is kept; the key itself is shown once, by
-- memory.create_api_key. Each key maps to a database role (never a
-- superuser) that the service switches to with SET LOCAL ROLE for the
-- request, and optionally to one user_id, which the service puts in
-- memory.current_user_id so that row-level security fences the request.
CREATE TABLE memory.api_keys (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (name <> ''),
    key_hash   text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    prefix     text NOT NULL,
    role_name  name NOT NULL,
    user_id    text CHECK (user_id <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
COMMENT ON TABLE memory.api_keys IS
    'REST service keys: sha256 of each key, the role it acts as, an optional bound user_id';
-- Keys are dumped with the database (pg_dump includes extension config tables).
SELECT pg_catalog.pg_extension_config_dump('memory.api_keys', '');
-- Nobody but the owner (and superusers) reads the hashes, even a role that
-- was granted SELECT on every table of the schema: RLS with no policy.
REVOKE ALL ON memory.api_keys FROM PUBLIC;
ALTER TABLE memory.api_keys ENABLE ROW LEVEL SECURITY;

CREATE FUNCTION memory.create_api_key(name text, role name, user_id text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    key text;
    r record;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'memory.create_api_key is for superusers'
            USING ERRCODE = '42501';
    END IF;
    IF name IS NULL OR name = '' THEN
        RAISE EXCEPTION 'name must not be empty' USING ERRCODE = '22023';
    END IF;
    IF user_id = '' THEN
        RAISE EXCEPTION 'user_id must not be empty (pass NULL for a key bound to no user)'
            USING ERRCODE = '22023';
    END IF;
    SELECT rolname, rolsuper INTO r FROM pg_roles WHERE rolname = role;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role "%" does not exist', role USING ERRCODE = '22023';
    END IF;
    IF r.rolsuper THEN
        RAISE EXCEPTION 'role "%" is a superuser', role USING ERRCODE = '22023',
            HINT = 'API keys act as an ordinary role, so that row-level security applies.';
    END IF;
    -- 244 random bits from two version-4 UUIDs.
    key := 'm0x_' || replace(gen_random_uuid()::text, '-', '')
                  || replace(gen_random_uuid()::text, '-', '');
    INSERT INTO memory.api_keys (name, key_hash, prefix, role_name, user_id)
    VALUES (create_api_key.name, encode(sha256(convert_to(key, 'UTF8')), 'hex'),
            left(key, 12), create_api_key.role, create_api_key.user_id);
    RETURN key;
END
$fn$;
COMMENT ON FUNCTION memory.create_api_key(text, name, text) IS
    'new REST service key acting as a role (and bound to a user_id); returns the key, stored only as a hash';
REVOKE EXECUTE ON FUNCTION memory.create_api_key(text, name, text) FROM PUBLIC;

CREATE FUNCTION memory.revoke_api_key(name text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    n bigint;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'memory.revoke_api_key is for superusers'
            USING ERRCODE = '42501';
    END IF;
    UPDATE memory.api_keys k SET revoked_at = now()
     WHERE k.name = revoke_api_key.name AND k.revoked_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n > 0;
END
$fn$;
COMMENT ON FUNCTION memory.revoke_api_key(text) IS 'revoke a REST service key; true when it was active';
REVOKE EXECUTE ON FUNCTION memory.revoke_api_key(text) FROM PUBLIC;

-- The service's lookup: the active key with this text, when its role exists
-- and is no superuser. SECURITY DEFINER so the service's login role needs
-- only EXECUTE on it (GRANT it), not access to the table.
CREATE FUNCTION memory.api_key_lookup(key text)
RETURNS TABLE (key_name text, role_name name, user_id text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT k.name, k.role_name, k.user_id
    FROM memory.api_keys k
    JOIN pg_roles r ON r.rolname = k.role_name
    WHERE k.key_hash = encode(sha256(convert_to(key, 'UTF8')), 'hex')
      AND k.revoked_at IS NULL
      AND NOT r.rolsuper
$fn$;
COMMENT ON FUNCTION memory.api_key_lookup(text) IS
    'REST service: role and bound user_id of an active key (superuser roles never match)';
REVOKE EXECUTE ON FUNCTION memory.api_key_lookup(text) FROM PUBLIC;

-- A project key's call about memories by id (design §7b): the users those
-- memories belong to, so that the service fences the request to exactly
-- them. SECURITY DEFINER, and it reveals only the owner of an id the caller
-- already holds; memory.grant_tenant_access gives EXECUTE.
CREATE FUNCTION memory.memory_owners(ids uuid[])
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
COMMENT ON FUNCTION memory.memory_owners(uuid[]) IS
    'REST service: the users owning these memories (a project key fences a call by id to them)';
REVOKE EXECUTE ON FUNCTION memory.memory_owners(uuid[]) FROM PUBLIC;

------------------------------------------------------------------ entities

-- Mem0's "users": every user, agent, run and app that has current memories,
-- with counts. SECURITY INVOKER: row-level security limits it to what the
-- caller may see.
CREATE FUNCTION memory.list_entities()
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    WITH cur AS (
        SELECT m.user_id, m.agent_id, m.run_id, m.app_id, m.created_at, m.updated_at
        FROM memory.memories m
        WHERE m.valid_to IS NULL
          AND (m.expires_at IS NULL OR m.expires_at > statement_timestamp())
    ), e AS (
        SELECT 'user' AS type, user_id AS name, count(*) AS n,
               min(created_at) AS created_at, max(updated_at) AS updated_at
          FROM cur WHERE user_id IS NOT NULL GROUP BY user_id
        UNION ALL
        SELECT 'agent', agent_id, count(*), min(created_at), max(updated_at)
          FROM cur WHERE agent_id IS NOT NULL GROUP BY agent_id
        UNION ALL
        SELECT 'run', run_id, count(*), min(created_at), max(updated_at)
          FROM cur WHERE run_id IS NOT NULL GROUP BY run_id
        UNION ALL
        SELECT 'app', app_id, count(*), min(created_at), max(updated_at)
          FROM cur WHERE app_id IS NOT NULL GROUP BY app_id
    )
    SELECT jsonb_build_object('count', count(*), 'results', coalesce(jsonb_agg(
               jsonb_build_object('id', e.name, 'name', e.name, 'type', e.type,
                                  'total_memories', e.n, 'created_at', e.created_at,
                                  'updated_at', e.updated_at, 'metadata', '{}'::jsonb)
               ORDER BY e.type, e.name), '[]'::jsonb))
    FROM e
$fn$;
COMMENT ON FUNCTION memory.list_entities() IS
    'users, agents, runs and apps with current memories: {"count", "results": [{"type", "name", "total_memories", ...}]}';

-- Mem0's users listing for a project key, which spans every user of the
-- database: memory.list_entities() over all rows (names and counts, no
-- memory text). SECURITY DEFINER; memory.grant_tenant_access gives EXECUTE.
CREATE FUNCTION memory.project_entities()
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT memory.list_entities()
$fn$;
COMMENT ON FUNCTION memory.project_entities() IS
    'REST service: memory.list_entities() over every user (a project key''s users listing)';
REVOKE EXECUTE ON FUNCTION memory.project_entities() FROM PUBLIC;

-- Delete one entity's memories (Mem0's delete_users): user, agent and run
-- through memory.delete_all (history, entities and relations included), app
-- through memory.delete of each of its memories. With user_id, an agent, run
-- or app is deleted only within that user. Returns the number removed.
CREATE FUNCTION memory.delete_entity(entity_type text, name text, user_id text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
    n bigint;
BEGIN
    IF name IS NULL OR name = '' THEN
        RAISE EXCEPTION 'entity name must not be empty' USING ERRCODE = '22023';
    END IF;
    CASE entity_type
    WHEN 'user' THEN
        IF delete_entity.user_id IS NOT NULL AND delete_entity.user_id <> name THEN
            RAISE EXCEPTION 'user "%" is outside the allowed scope', name USING ERRCODE = '42501';
        END IF;
        n := memory.delete_all(user_id => name);
    WHEN 'agent' THEN
        n := memory.delete_all(user_id => delete_entity.user_id, agent_id => name);
    WHEN 'run' THEN
        n := memory.delete_all(user_id => delete_entity.user_id, run_id => name);
    WHEN 'app' THEN
        SELECT count(*) FILTER (WHERE memory.delete(m.id)) INTO n
          FROM memory.memories m
         WHERE m.app_id = name
           AND (delete_entity.user_id IS NULL OR m.user_id = delete_entity.user_id);
    ELSE
        RAISE EXCEPTION 'unknown entity type "%"', entity_type USING ERRCODE = '22023',
            HINT = 'Use user, agent, run or app.';
    END CASE;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION memory.delete_entity(text, text, text) IS
    'delete the memories of a user, agent, run or app (optionally within one user); the count';
