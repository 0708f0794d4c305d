#!/usr/bin/env bash
# Maintenance running while memories are added and searched: four sessions
# add (verbatim and inferred, conflicting facts included) while two loop on
# CALL memory.maintain() with a cold_after so short that every idle row goes
# cold at once, expired rows are purged, and searches promote what they
# return. Nothing may be lost or duplicated.
#   tests/maintenance.sh <port> <database>
set -euo pipefail
port="$1"; db="$2"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -h localhost -p "$port" -U postgres -d "$db" "$@"; }
for s in 0 1 2 3; do q -c "SELECT memory.delete_all(user_id => 'maint${s}')" >/dev/null; done
stop="$(mktemp)"
trap 'rm -f "$stop"' EXIT
pids=()
for s in 0 1 2 3; do
    (
        for k in $(seq 1 25); do
            q -c "SELECT memory.add('Note ${k} of session ${s}: item $(( k * 7 + s ))', user_id => 'maint${s}', infer => false)" >/dev/null
            # short-lived facts for the purge to find
            q -c "SELECT memory.add('Temporary note ${k}', user_id => 'maint${s}', infer => false,
                                    expiration_date => clock_timestamp() + interval '50 milliseconds')" >/dev/null
            if [ $(( k % 5 )) = 0 ]; then
                q -c "SELECT memory.search('item $(( k * 7 + s ))', user_id => 'maint${s}', top_k => 3)" >/dev/null
            fi
        done
        # conflicts resolved against memories that maintenance keeps moving cold
        q -c "SELECT memory.add('I live in Paris. I am single.', user_id => 'maint${s}')" >/dev/null
        q -c "SELECT memory.add('I moved to Berlin. I got married.', user_id => 'maint${s}')" >/dev/null
    ) &
    pids+=($!)
done
mpids=()
for m in 1 2; do
    (
        rounds=0
        while [ -e "$stop" ]; do
            q -c "CALL memory.maintain(7, '1 microsecond')" >/dev/null
            rounds=$(( rounds + 1 ))
        done
        echo "maintenance loop ${m}: ${rounds} rounds"
    ) &
    mpids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
rm -f "$stop"
for p in "${mpids[@]}"; do wait "$p" || status=1; done
[ "$status" = 0 ] || { echo "a session failed"; exit 1; }
sleep 0.2
q -c "CALL memory.maintain(1000, '1 microsecond')" >/dev/null
q <<'SQL'
DO $$
DECLARE notes int; temps int; dup int; orphan int; homes text; status text; purged int; tiers text;
BEGIN
    SELECT count(*) FILTER (WHERE memory LIKE 'Note %'), count(*) FILTER (WHERE memory LIKE 'Temporary%'),
           count(*) - count(DISTINCT (user_id, hash))
      INTO notes, temps, dup
      FROM memory.memories WHERE user_id LIKE 'maint_' AND valid_to IS NULL;
    SELECT count(*) INTO orphan FROM memory.memories m WHERE user_id LIKE 'maint_'
       AND NOT EXISTS (SELECT 1 FROM memory.history h WHERE h.memory_id = m.id AND h.event = 'ADD');
    SELECT count(*) INTO purged FROM memory.history WHERE user_id LIKE 'maint_' AND reason = 'expired';
    SELECT string_agg(DISTINCT memory, ', ') INTO homes FROM memory.memories
     WHERE user_id LIKE 'maint_' AND valid_to IS NULL AND (memory ~ 'Paris|Berlin');
    SELECT string_agg(DISTINCT memory, ', ') INTO status FROM memory.memories
     WHERE user_id LIKE 'maint_' AND valid_to IS NULL AND (memory ~ 'single|married');
    SELECT string_agg(tier || '=' || n, ', ' ORDER BY tier) INTO tiers
      FROM (SELECT tier, count(*) AS n FROM memory.memories WHERE user_id LIKE 'maint_' GROUP BY tier) t;
    RAISE NOTICE 'notes %, temporary left %, purged %, duplicates %, without ADD history %, homes [%], status [%], tiers %',
        notes, temps, purged, dup, orphan, homes, status, tiers;
    IF notes <> 100 OR temps <> 0 OR purged <> 100 OR dup <> 0 OR orphan <> 0
       OR (SELECT count(*) FROM memory.memories WHERE user_id LIKE 'maint_' AND valid_to IS NULL
             AND memory ~ 'Paris|Berlin') <> 4
       OR (SELECT count(*) FROM memory.memories WHERE user_id LIKE 'maint_' AND valid_to IS NULL
             AND memory ~ 'single|married') <> 4 THEN
        RAISE EXCEPTION 'maintenance concurrency check failed';
    END IF;
    -- The keyword statistics the writers and maintenance kept, against a recount.
    IF EXISTS (
        WITH kept AS (SELECT user_id, agent_id, run_id, tier, docs, total_len FROM memory.scope_stats
                      WHERE user_id LIKE 'maint_' AND (docs <> 0 OR total_len <> 0)),
        counted AS (SELECT user_id, agent_id, run_id, tier, count(*) AS docs, sum(fts_len) AS total_len
                    FROM memory.memories WHERE user_id LIKE 'maint_' AND valid_to IS NULL
                      AND expires_at IS NULL GROUP BY 1, 2, 3, 4)
        (SELECT * FROM kept EXCEPT SELECT * FROM counted)
        UNION ALL (SELECT * FROM counted EXCEPT SELECT * FROM kept)) THEN
        RAISE EXCEPTION 'keyword statistics differ from a recount after concurrent maintenance';
    END IF;
END $$;
SQL
for s in 0 1 2 3; do q -c "SELECT memory.delete_all(user_id => 'maint${s}')" >/dev/null; done
echo "maintenance concurrent with adds and searches: nothing lost, scope statistics exact"
