-- memory_ext 0.0.3 -> 0.0.4: row-level security fences a request to a set
-- of users. memory.current_user_id may hold a JSON array of user ids (a
-- project key of the REST service acting for the users a request names,
-- design §7b); memory.tenant_users() reads it, and the tenant policies test
-- the row's user against that set. Policies already enabled are rewritten
-- in place; a single user id keeps meaning that one user. For project keys
-- of the REST service: memory.memory_owners (the users owning memories by
-- id) and memory.project_entities (the users listing over every user),
-- executable by every role granted tenant access.
\echo Use "ALTER EXTENSION memory_ext UPDATE TO '0.0.4'" to load this file. \quit

CREATE  FUNCTION "tenant_users"() RETURNS TEXT[] /* Vec < String > */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'tenant_users_wrapper';

DO $upgrade$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT p.polrelid::regclass FROM pg_policy p
              WHERE p.polname = 'tenant_isolation'
                AND p.polrelid IN (SELECT c.oid FROM pg_class c
                                    WHERE c.relnamespace = 'memory'::regnamespace)
    LOOP
        EXECUTE format('ALTER POLICY tenant_isolation ON %s
                            USING (user_id = ANY ((SELECT memory.tenant_users())::text[]))
                            WITH CHECK (user_id = ANY ((SELECT memory.tenant_users())::text[]))', t);
    END LOOP;
END
$upgrade$;

CREATE FUNCTION memory.memory_owners(ids uuid[])
RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT DISTINCT m.user_id FROM memory.memories m
    WHERE m.id = ANY (ids) AND m.user_id IS NOT NULL
$fn$;
COMMENT ON FUNCTION memory.memory_owners(uuid[]) IS
    'REST service: the users owning these memories (a project key fences a call by id to them)';
REVOKE EXECUTE ON FUNCTION memory.memory_owners(uuid[]) FROM PUBLIC;

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

-- Roles granted tenant access (memory.grant_tenant_access, which now grants
-- these too) may run them.
DO $grant$
DECLARE
    r name;
BEGIN
    FOR r IN SELECT DISTINCT g.rolname
               FROM pg_catalog.pg_class c, aclexplode(c.relacl) x
               JOIN pg_catalog.pg_roles g ON g.oid = x.grantee
              WHERE c.oid = 'memory.memories'::regclass
                AND x.privilege_type = 'INSERT' AND x.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION memory.memory_owners(uuid[]) TO %I', r);
        EXECUTE format('GRANT EXECUTE ON FUNCTION memory.project_entities() TO %I', r);
    END LOOP;
END
$grant$;
