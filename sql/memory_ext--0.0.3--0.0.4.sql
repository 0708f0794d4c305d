-- memory_ext 0.0.3 -> 0.0.4: row-level security fences a request to a set
-- of users. memory.current_user_id may hold a JSON array of user ids (a
-- project key of the REST service acting for the users a request names,
-- design §7b); memory.tenant_users() reads it, and the tenant policies test
-- the row's user against that set. Policies already enabled are rewritten
-- in place; a single user id keeps meaning that one user.
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
