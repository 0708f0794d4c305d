#!/usr/bin/env bash
# The queue of asynchronous adds survives kill -9 of the server mid-job: a
# job is queued whose LLM call takes 5 s (the stub's llm-slow model); while
# the background worker waits on it, the postmaster and every backend are
# killed with SIGKILL. After the restart the job must run again and be
# applied exactly once: one set of memories, one ADD history row each, the
# job SUCCEEDED on its second attempt. A second job queued behind it (same
# scope) must run after it, not before.
#   tests/queue_crash.sh <port> <database> <stub port>
#   (the server must be one scripts/server.sh runs, with the worker on <database>)
source "$(dirname "$0")/../scripts/common.sh"
set -euo pipefail
port="$1"; db="$2"; stub="$3"
data="$(pg_base)/${port}"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -h localhost -p "$port" -U postgres -d "$db" "$@"; }
q -c "SELECT memory.delete_all(user_id => 'qcrash')" >/dev/null
first="$(PGOPTIONS="-c memory.llm=openai -c memory.llm_url=http://127.0.0.1:${stub}/v1 -c memory.llm_model=llm-slow" \
    q -c "SELECT memory.add_async('I live in Oslo. I am a pilot.', user_id => 'qcrash')->'results'->0->>'event_id'")"
second="$(q -c "SELECT memory.add_async('I moved to Bergen', user_id => 'qcrash')->'results'->0->>'event_id'")"
for _ in $(seq 100); do
    [ "$(q -c "SELECT status FROM memory.jobs WHERE event_id = '${first}'")" = RUNNING ] && break
    sleep 0.1
done
sleep 1   # the worker is now waiting on the slow model
state="$(q -c "SELECT status || '/' || attempts FROM memory.jobs WHERE event_id = '${first}'")"
echo "before the crash: first job ${state}"
[ "$state" = "RUNNING/1" ] || { echo "the job never started"; exit 1; }
pid="$(as_postgres head -1 "${data}/postmaster.pid")"
kill -9 "$pid"
pkill -9 -f -- "-D ${data}" 2>/dev/null || true
pkill -9 -f "memory_ext worker ${db}" 2>/dev/null || true
sleep 1
as_postgres rm -f "${data}/postmaster.pid"
"$REPO/scripts/server.sh" start "$port" >/dev/null
for _ in $(seq 300); do
    done_="$(q -c "SELECT count(*) FROM memory.jobs WHERE event_id IN ('${first}', '${second}') AND status = 'SUCCEEDED'" 2>/dev/null || echo 0)"
    [ "$done_" = 2 ] && break
    sleep 0.1
done
q <<SQL
DO \$\$
DECLARE a text; b text; fin_a timestamptz; fin_b timestamptz; mems text; hist int; n int;
BEGIN
    SELECT status || '/' || attempts, finished_at INTO a, fin_a FROM memory.jobs WHERE event_id = '${first}';
    SELECT status || '/' || attempts, finished_at INTO b, fin_b FROM memory.jobs WHERE event_id = '${second}';
    SELECT string_agg(memory, ', ' ORDER BY memory), count(*) INTO mems, n
      FROM memory.memories WHERE user_id = 'qcrash' AND valid_to IS NULL;
    SELECT count(*) INTO hist FROM memory.history WHERE user_id = 'qcrash' AND event = 'ADD';
    RAISE NOTICE 'after the restart: first job %, second job %, memories [%], ADD history rows %', a, b, mems, hist;
    IF a <> 'SUCCEEDED/2' OR b <> 'SUCCEEDED/1' OR fin_b < fin_a OR n <> 2 OR hist <> 2
       OR mems <> 'Is a pilot, Moved to Bergen' THEN
        RAISE EXCEPTION 'queue crash check failed';
    END IF;
END \$\$;
SQL
q -c "SELECT memory.delete_all(user_id => 'qcrash')" >/dev/null
echo "queue: the interrupted job ran again after kill -9 and was applied exactly once"
