#!/usr/bin/env bash
# ALTER EXTENSION memory_ext UPDATE from each earlier release (their install
# scripts are kept in tests/upgrade/): data written by that release's schema,
# a role granted access and tenant isolation on; after the update the kept
# keyword statistics match a recount,
# the granted role writes and searches under isolation, and the schema equals
# a fresh install's (objects, columns, indexes, constraints, triggers,
# functions, policies, grants).
#   tests/upgrade.sh <port>
set -euo pipefail
source "$(dirname "$0")/../scripts/common.sh"
port="$1"
role=memory_upgrade_app
as_root install -m 644 "$REPO"/tests/upgrade/memory_ext--*.sql "$("$PG_CONFIG" --sharedir)/extension/"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -h localhost -p "$port" -U postgres "$@"; }
cleanup() {
    q -d postgres -c "DROP DATABASE IF EXISTS memory_upgrade" -c "DROP DATABASE IF EXISTS memory_fresh" \
        -c "DROP ROLE IF EXISTS ${role}" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# The walks of the data below, as text: compared before and after the update.
walks="SELECT string_agg(format('%s %s %s %s %s', source, relation, destination, depth, path), '; '
                      ORDER BY depth, source, relation, destination)
       FROM (SELECT * FROM memory.neighbors('up1', user_id => 'up1', depth => 3)
             UNION ALL SELECT * FROM memory.neighbors('Bergen', user_id => 'up1', depth => 1)
             UNION ALL SELECT * FROM memory.neighbors('up1', user_id => 'up1', depth => 3, as_of => (SELECT min(valid_from) FROM memory.relations WHERE user_id = 'up1' AND valid_to IS NOT NULL))) w"

# from <release>: install it, write, update, compare.
from() {
local old="$1"
cleanup
q -d postgres -c "CREATE DATABASE memory_upgrade" -c "CREATE DATABASE memory_fresh" -c "CREATE ROLE ${role}"

setup="SELECT memory.grant_tenant_access('${role}'); SELECT memory.enable_tenant_isolation();"
q -d memory_upgrade >/dev/null <<SQL
CREATE EXTENSION memory_ext VERSION '${old}';
SET memory.embedder = 'wordllama';
SELECT memory.add('[{"role": "user", "content": "I play the cello"},
                    {"role": "assistant", "content": "Since when?"},
                    {"role": "user", "content": "Since I was nine"}]'::jsonb, user_id => 'up1', infer => false);
SELECT memory.add('I live in Oslo', user_id => 'up1');
SELECT memory.add('I moved to Bergen', user_id => 'up1');
SELECT memory.add('Likes green tea', agent_id => 'up-agent', infer => false);
SELECT memory.add('Flight on Friday', user_id => 'up2', infer => false, expiration_date => now() + interval '1 day');
SELECT memory.delete(id) FROM memory.memories WHERE memory = 'Since when?';
${setup}
SQL
[ "$(q -d memory_upgrade -c "SELECT extversion FROM pg_extension WHERE extname = 'memory_ext'")" = "$old" ]
walked="$(q -d memory_upgrade -c "${walks}")"
[ -n "$walked" ] || { echo "upgrade: no graph edges written under ${old}"; exit 1; }
q -d memory_upgrade -c "ALTER EXTENSION memory_ext UPDATE"
[ "$(q -d memory_upgrade -c "${walks}")" = "$walked" ] \
    || { echo "upgrade from ${old}: graph walks differ after the update"; exit 1; }
version="$(q -d memory_upgrade -c "SELECT extversion FROM pg_extension WHERE extname = 'memory_ext'")"
q -d memory_fresh -c "CREATE EXTENSION memory_ext" -c "${setup}" >/dev/null
[ "$(q -d memory_fresh -c "SELECT extversion FROM pg_extension WHERE extname = 'memory_ext'")" = "$version" ]

drift="
WITH kept AS (SELECT user_id, agent_id, run_id, tier, docs, total_len FROM memory.scope_stats
              WHERE docs <> 0 OR total_len <> 0),
counted AS (SELECT user_id, agent_id, run_id, tier, count(*) AS docs, sum(fts_len) AS total_len
            FROM memory.memories WHERE valid_to IS NULL AND expires_at IS NULL GROUP BY 1, 2, 3, 4)
SELECT (SELECT count(*) FROM ((SELECT * FROM kept EXCEPT SELECT * FROM counted)
                              UNION ALL (SELECT * FROM counted EXCEPT SELECT * FROM kept)) d)
       || ' of ' || (SELECT count(*) FROM counted)"
got="$(q -d memory_upgrade -c "${drift}")"
[ "${got%% of *}" = 0 ] && [ "${got##* of }" -ge 2 ] || { echo "upgrade: keyword stats differ from a recount (${got})"; exit 1; }

# The granted role, fenced to its user, writes (the stats trigger too) and searches.
hits="$(q -d memory_upgrade <<SQL
SET ROLE ${role};
SET memory.current_user_id = 'up1';
SET memory.embedder = 'wordllama';
SELECT count(*) FROM memory.add('I also play the piano', user_id => 'up1', infer => false);
SELECT count(*) FROM memory.search_rows('cello piano', user_id => 'up1');
SQL
)"
[ "$(echo "$hits" | tail -1)" -ge 2 ] || { echo "upgrade: the granted role's search found ${hits}"; exit 1; }
got="$(q -d memory_upgrade -c "${drift}")"
[ "${got%% of *}" = 0 ] || { echo "upgrade: keyword stats drift after a fenced add (${got})"; exit 1; }

schema="
SELECT 'obj ' || pg_describe_object(classid, objid, objsubid) FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'memory_ext')
UNION ALL
SELECT 'col ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '
       || a.attnotnull || ' ' || a.attstorage::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = 'memory'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'idx ' || indexdef FROM pg_indexes WHERE schemaname = 'memory'
UNION ALL
SELECT 'con ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'memory'::regnamespace
UNION ALL
SELECT 'trg ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE NOT t.tgisinternal AND c.relnamespace = 'memory'::regnamespace
UNION ALL
SELECT 'fn ' || p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid)) || ' '
       || coalesce(p.proacl::text, '')
FROM pg_proc p WHERE p.pronamespace = 'memory'::regnamespace AND p.prokind IN ('f', 'p')
UNION ALL
SELECT 'pol ' || polrelid::regclass || ' ' || polname || ' ' || pg_get_expr(polqual, polrelid)
FROM pg_policy
UNION ALL
SELECT 'rel ' || relname || ' ' || relkind::text || ' ' || relrowsecurity || ' ' || relforcerowsecurity || ' '
       || coalesce(array_to_string(reloptions, ','), '') || ' '
       || coalesce((SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(relacl) x), '')
FROM pg_class WHERE relnamespace = 'memory'::regnamespace
ORDER BY 1"
upgraded="$(mktemp)"; fresh="$(mktemp)"
q -d memory_upgrade -c "${schema}" > "$upgraded"
q -d memory_fresh -c "${schema}" > "$fresh"
if ! diff -u "$fresh" "$upgraded"; then
    echo "upgrade: the schema after ALTER EXTENSION UPDATE differs from a fresh ${version} install (- fresh, + upgraded)"
    rm -f "$upgraded" "$fresh"
    exit 1
fi
echo "upgrade ${old} -> ${version}: graph walks unchanged, scope stats match a recount, fenced writes work, schema equals a fresh install ($(wc -l < "$fresh") catalog lines)"
rm -f "$upgraded" "$fresh"
}

for kept in "$REPO"/tests/upgrade/memory_ext--*.sql; do
    kept="${kept##*--}"
    from "${kept%.sql}"
done
