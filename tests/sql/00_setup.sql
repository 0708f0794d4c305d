-- Shared helpers of the end-to-end tests (tests run in file order in one database).
SET client_min_messages = warning;
-- sqlstate_of(q): run q and report its SQLSTATE and message (uuids masked), or 'ok'.
CREATE FUNCTION public.sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN regexp_replace(SQLSTATE || ': ' || SQLERRM,
        '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
END $$;
-- memories_of(j): the texts of a Mem0 {"results": [...]} value, in order.
CREATE FUNCTION public.memories_of(j jsonb) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(r->>'memory' ORDER BY n), '{}')
    FROM jsonb_array_elements(j->'results') WITH ORDINALITY AS t(r, n)
$$;
SELECT extname, nspname FROM pg_extension JOIN pg_namespace n ON n.oid = extnamespace
WHERE extname = 'memory_ext';
SELECT table_name FROM information_schema.tables WHERE table_schema = 'memory' ORDER BY 1;
