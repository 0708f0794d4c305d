#!/usr/bin/env bash
# Eight sessions add overlapping facts to one user at the same time; at the
# end there must be no duplicate current memory and a history row for every
# change.
#   tests/concurrency.sh <port> <database>              built-in provider
#   tests/concurrency.sh <port> <database> <stub port>  the stub LLM (llm-basic)
# With the LLM, decisions are made without the lock and re-made when the
# candidates changed meanwhile; the script counts those rounds.
set -euo pipefail
port="$1"; db="$2"; stub="${3:-}"
user="conc${stub:+_llm}"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -h localhost -p "$port" -U postgres -d "$db" "$@"; }
debug="$(mktemp)"
trap 'rm -f "$debug"' EXIT
if [ -n "$stub" ]; then
    export PGOPTIONS="-c memory.llm=openai -c memory.llm_url=http://127.0.0.1:${stub}/v1 -c memory.llm_model=llm-basic -c client_min_messages=debug1"
fi
q -c "SELECT memory.delete_all(user_id => '${user}')" >/dev/null
facts=("I live in Paris." "I am vegetarian." "I work at Acme." "I have a cat named Tofu."
       "I love jazz." "I am single." "I play tennis." "I am allergic to peanuts.")
pids=()
for s in $(seq 0 7); do
    (
        for k in $(seq 0 7); do
            f="${facts[$(( (s + k) % 8 ))]}"
            q -c "SELECT memory.add('${f}', user_id => '${user}')" >/dev/null 2>>"$debug.$s"
        done
        # then everybody changes the same two facts
        q -c "SELECT memory.add('I moved to Berlin. I got married.', user_id => '${user}')" >/dev/null 2>>"$debug.$s"
    ) &
    pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
cat "$debug".* > "$debug" 2>/dev/null || true
rm -f "$debug".*
[ "$status" = 0 ] || { echo "a session failed"; grep -v DEBUG "$debug" | head; exit 1; }
unset PGOPTIONS
{ echo "SET conc.owner = '${user}';"; cat <<'SQL'
DO $$
DECLARE cur int; dup int; orphan int;
BEGIN
    SELECT count(*), count(*) - count(DISTINCT hash) INTO cur, dup
    FROM memory.memories WHERE user_id = current_setting('conc.owner') AND valid_to IS NULL;
    SELECT count(*) INTO orphan FROM memory.memories m WHERE user_id = current_setting('conc.owner')
      AND NOT EXISTS (SELECT 1 FROM memory.history h WHERE h.memory_id = m.id AND h.event = 'ADD');
    -- eight facts, residence and marital status once each, whatever the order
    IF cur <> 8 OR dup <> 0 OR orphan <> 0 THEN
        RAISE EXCEPTION 'concurrency check failed: % current, % duplicates, % without history', cur, dup, orphan;
    END IF;
END $$;
SELECT 'current memories: ' || count(*) FROM memory.memories WHERE user_id = current_setting('conc.owner') AND valid_to IS NULL;
SELECT 'duplicate current memories: ' || count(*) - count(DISTINCT hash)
FROM memory.memories WHERE user_id = current_setting('conc.owner') AND valid_to IS NULL;
SELECT 'current texts: ' || string_agg(memory, ', ' ORDER BY memory)
FROM memory.memories WHERE user_id = current_setting('conc.owner') AND valid_to IS NULL;
SELECT 'memories without an ADD in history: ' || count(*) FROM memory.memories m
WHERE user_id = current_setting('conc.owner') AND NOT EXISTS (SELECT 1 FROM memory.history h WHERE h.memory_id = m.id AND h.event = 'ADD');
SELECT 'history rows: ' || string_agg(event || '=' || n, ', ' ORDER BY event)
FROM (SELECT event, count(*) AS n FROM memory.history WHERE user_id = current_setting('conc.owner') GROUP BY event) e;
SQL
} | q
if [ -n "$stub" ]; then
    echo "decisions re-made because the candidates changed meanwhile: $(grep -c 'deciding again' "$debug" || true) (of 72 adds)"
fi
q -c "SELECT memory.delete_all(user_id => '${user}')" >/dev/null
