#!/usr/bin/env bash
# Eight sessions add overlapping facts to one user at the same time; at the
# end there must be no duplicate current memory and a history row for every
# change. Prints how often a session had to wait for the scope lock.
#   tests/concurrency.sh <port> <database>
set -euo pipefail
port="$1"; db="$2"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -h localhost -p "$port" -U postgres -d "$db" "$@"; }
q -c "SELECT memory.delete_all(user_id => 'conc')" >/dev/null
facts=("I live in Paris." "I am vegetarian." "I work at Acme." "I have a cat named Tofu."
       "I love jazz." "I am single." "I play tennis." "I am allergic to peanuts.")
pids=()
for s in $(seq 0 7); do
    (
        for k in $(seq 0 7); do
            f="${facts[$(( (s + k) % 8 ))]}"
            q -c "SELECT memory.add('${f}', user_id => 'conc')" >/dev/null
        done
        # then everybody changes the same two facts
        q -c "SELECT memory.add('I moved to Berlin. I got married.', user_id => 'conc')" >/dev/null
    ) &
    pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
[ "$status" = 0 ] || { echo "a session failed"; exit 1; }
q <<'SQL'
DO $$
DECLARE cur int; dup int; orphan int;
BEGIN
    SELECT count(*), count(*) - count(DISTINCT hash) INTO cur, dup
    FROM memory.memories WHERE user_id = 'conc' AND valid_to IS NULL;
    SELECT count(*) INTO orphan FROM memory.memories m WHERE user_id = 'conc'
      AND NOT EXISTS (SELECT 1 FROM memory.history h WHERE h.memory_id = m.id AND h.event = 'ADD');
    -- eight facts, residence and marital status once each, whatever the order
    IF cur <> 8 OR dup <> 0 OR orphan <> 0 THEN
        RAISE EXCEPTION 'concurrency check failed: % current, % duplicates, % without history', cur, dup, orphan;
    END IF;
END $$;
SELECT 'current memories: ' || count(*) FROM memory.memories WHERE user_id = 'conc' AND valid_to IS NULL;
SELECT 'duplicate current memories: ' || count(*) - count(DISTINCT hash)
FROM memory.memories WHERE user_id = 'conc' AND valid_to IS NULL;
SELECT 'current texts: ' || string_agg(memory, ', ' ORDER BY memory)
FROM memory.memories WHERE user_id = 'conc' AND valid_to IS NULL;
SELECT 'memories without an ADD in history: ' || count(*) FROM memory.memories m
WHERE user_id = 'conc' AND NOT EXISTS (SELECT 1 FROM memory.history h WHERE h.memory_id = m.id AND h.event = 'ADD');
SELECT 'history rows: ' || string_agg(event || '=' || n, ', ' ORDER BY event)
FROM (SELECT event, count(*) AS n FROM memory.history WHERE user_id = 'conc' GROUP BY event) e;
SQL
q -c "SELECT memory.delete_all(user_id => 'conc')" >/dev/null
