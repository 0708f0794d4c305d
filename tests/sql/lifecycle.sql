-- Memory lifecycle: time decay in ranking, expiry, hot/cold tiering and
-- maintenance. Timestamps are set through add's "timestamp" (valid_from,
-- updated_at) and by moving last_accessed_at by hand, so ages are exact.
SET search_path = public, memory;
-- texts and tiers of a search, best first; resets access statistics so the
-- next search sees the ages the test set (a search refreshes what it returns)
CREATE FUNCTION lc_search(q text, VARIADIC opts text[] DEFAULT '{}')
RETURNS TABLE(memory text, tier text, score numeric) LANGUAGE plpgsql AS $$
DECLARE r jsonb;
BEGIN
    r := memory.search(q, user_id => 'lc',
                       decay_half_life => nullif(opts[1], '')::interval,
                       include_cold => coalesce(opts[2]::boolean, false),
                       top_k => coalesce(opts[3]::int, 10), explain => true);
    RETURN QUERY SELECT x->>'memory', x->'explain'->>'tier', round((x->>'score')::numeric, 3)
                 FROM jsonb_array_elements(r->'results') WITH ORDINALITY AS t(x, n) ORDER BY n;
END $$;
CREATE FUNCTION lc_age(txt text, days int, uses int DEFAULT 0) RETURNS void LANGUAGE sql AS $$
    UPDATE memory.memories SET valid_from = now() - make_interval(days => days),
           created_at = now() - make_interval(days => days), updated_at = now() - make_interval(days => days),
           last_accessed_at = NULL, access_count = uses
    WHERE user_id = 'lc' AND memory = txt
$$;

------------------------------------------------------------ decay
-- The three facts below are said within minutes, so they form one
-- conversation; neighbour expansion would pull the tea preference toward
-- the hiking memories. These checks are about decay alone.
SET memory.search_neighbors = 0;
SELECT memory.add('Went hiking in the Alps with my brother', user_id => 'lc', infer => false)->'results'->0->>'event';
SELECT memory.add('Went hiking in the Dolomites last weekend', user_id => 'lc', infer => false)->'results'->0->>'event';
SELECT memory.add('Prefers tea over coffee', user_id => 'lc', infer => false)->'results'->0->>'event';
SELECT lc_age('Went hiking in the Alps with my brother', 200), lc_age('Went hiking in the Dolomites last weekend', 3),
       lc_age('Prefers tea over coffee', 3);
-- off by default: relevance only
SHOW memory.decay_half_life;
SELECT * FROM lc_search('hiking in the Alps');
SELECT lc_age('Went hiking in the Alps with my brother', 200), lc_age('Went hiking in the Dolomites last weekend', 3);
-- a 30-day half-life: the 200-day-old memory keeps floor + (1 - floor) * 2^(-200/30) = 0.505 of its relevance
SELECT * FROM lc_search('hiking in the Alps', '30 days');
SELECT lc_age('Went hiking in the Alps with my brother', 200), lc_age('Went hiking in the Dolomites last weekend', 3);
-- the parts of the score
SELECT round((x->'explain'->'decay'->>'age_days')::numeric, 1) AS age_days,
       round((x->'explain'->'decay'->>'recency')::numeric, 4) AS recency,
       round((x->'explain'->'decay'->>'factor')::numeric, 4) AS factor,
       round((x->>'score')::numeric / (x->'explain'->'decay'->>'relevance')::numeric, 4) AS score_over_relevance
FROM jsonb_array_elements(memory.search('hiking in the Alps', user_id => 'lc', decay_half_life => '30 days',
                                        explain => true, top_k => 2)->'results') x
ORDER BY 1;
SELECT lc_age('Went hiking in the Alps with my brother', 200, 10), lc_age('Went hiking in the Dolomites last weekend', 3);
-- use slows decay: 10 uses stretch the half-life by 1 + ln(11)
SELECT round((x->'explain'->'decay'->>'factor')::numeric, 4) AS factor_after_10_uses
FROM jsonb_array_elements(memory.search('hiking in the Alps', user_id => 'lc', decay_half_life => '30 days',
                                        explain => true, top_k => 2, keyword_search => false)->'results') x
WHERE x->>'memory' LIKE '%Alps%';
SELECT lc_age('Went hiking in the Alps with my brother', 200), lc_age('Went hiking in the Dolomites last weekend', 3);
-- the setting, and the per-call value overriding it
SET memory.decay_half_life = '30 days';
SELECT memory FROM lc_search('hiking in the Alps') LIMIT 1;
SELECT lc_age('Went hiking in the Alps with my brother', 200), lc_age('Went hiking in the Dolomites last weekend', 3);
SELECT memory FROM lc_search('hiking in the Alps', '100 years') LIMIT 1;
SELECT lc_age('Went hiking in the Alps with my brother', 200), lc_age('Went hiking in the Dolomites last weekend', 3);
-- the threshold applies to the decayed score
SELECT memory.search('hiking in the Alps', user_id => 'lc', threshold => 0.6)->'results' @? '$[*] ? (@.memory like_regex "Alps")' AS old_memory_above_0_6;
RESET memory.decay_half_life;
SELECT memory.search('hiking in the Alps', user_id => 'lc', threshold => 0.6)->'results' @? '$[*] ? (@.memory like_regex "Alps")' AS without_decay;
SELECT sqlstate_of($$SELECT memory.search('x', user_id => 'lc', decay_half_life => '-1 day')$$);
SELECT sqlstate_of($$SET memory.decay_floor = 1.5$$);

RESET memory.search_neighbors;

------------------------------------------------------------ expiry
SELECT memory.add('Is staying at the Hilton this week', user_id => 'lc', infer => false,
                  expiration_date => now() + interval '7 days')->'results'->0->>'event';
SELECT memory.add('Has a dentist appointment on Friday', user_id => 'lc', infer => false,
                  expiration_date => now() + interval '7 days')->'results'->0->>'event';
SELECT memory, expires_at > now() AS expires_later FROM memory.memories WHERE user_id = 'lc' AND expires_at IS NOT NULL ORDER BY 1;
-- a week passes for the hotel stay
UPDATE memory.memories SET expires_at = now() - interval '1 minute' WHERE memory LIKE 'Is staying at the Hilton%';
SELECT memories_of(memory.search('Where am I staying, the Hilton?', user_id => 'lc', top_k => 3)) AS search_hides_expired;
SELECT NOT memories_of(memory.get_all(user_id => 'lc')) @> ARRAY['Is staying at the Hilton this week'] AS get_all_hides_expired;
SELECT memory.get(id) IS NULL AS get_hides_expired FROM memory.memories WHERE memory LIKE 'Is staying%';
SELECT memory.stats(user_id => 'lc')->'expired' AS expired;
-- update sets and clears an expiry ('infinity' removes it)
SELECT memory.update(id, 'Has a dentist appointment on Friday at 10', expiration_date => '2030-01-01')->>'expiration_date' AS set
FROM memory.memories WHERE memory LIKE 'Has a dentist%';
SELECT memory.update(id, 'Has a dentist appointment on Friday at 11', expiration_date => 'infinity') ? 'expiration_date' AS still_expires
FROM memory.memories WHERE memory LIKE 'Has a dentist%';
-- purge: the row goes, history says why
SELECT memory.purge_expired();
SELECT count(*) AS hilton_rows FROM memory.memories WHERE memory LIKE 'Is staying%';
SELECT event, old_memory, reason, is_deleted FROM memory.history WHERE old_memory LIKE 'Is staying%' ORDER BY id;
SELECT memory.purge_expired() AS nothing_left;
SELECT sqlstate_of($$SELECT memory.purge_expired(0)$$);

------------------------------------------------------------ tiering
-- idle for a long time (the other tests' memories are younger than 1000 days)
SELECT memory.add('Owns a red kayak called Nessie', user_id => 'lc', infer => false)->'results'->0->>'event';
SELECT memory.add('I live in Paris', user_id => 'lc')->'results'->0->>'memory';
SELECT lc_age('Owns a red kayak called Nessie', 2000), lc_age('Lives in Paris', 2000), lc_age('Prefers tea over coffee', 2000);
DO $$ DECLARE r jsonb; BEGIN
    CALL memory.maintain(NULL, '1000 days', r);
    RAISE NOTICE 'maintain: moved_cold % of % candidates, purged %', r->'moved_cold', r->'cold_candidates', r->'expired_purged';
END $$;
SELECT memory, tier, embedding IS NULL AS no_f32, memory.dims(embedding_half) AS f16_dims
FROM memory.memories WHERE user_id = 'lc' AND valid_to IS NULL ORDER BY tier, memory;
-- listings name the cold tier (a hot memory has no 'tier' key)
SELECT x->>'memory' AS memory, x->>'tier' AS tier
FROM jsonb_array_elements(memory.get_all(user_id => 'lc')->'results') x ORDER BY 2, 1;
SELECT s->'hot'->'current' AS hot, s->'cold'->'current' AS cold,
       (s->'cold'->>'embedding_bytes')::int < (s->'hot'->>'embedding_bytes')::int AS cold_vectors_smaller
FROM memory.stats(user_id => 'lc') s;
-- the hot tier answers about hiking: nothing cold is read
SELECT memory, tier FROM lc_search('hiking trip', '', 'false', '2');
-- nothing hot is about kayaks: the search reaches into the cold tier ...
SELECT memory, tier FROM lc_search('What boat do I have?', '', 'false', '1');
-- ... and the memory it returned is hot again, with its vector back in f32
SELECT tier, memory.dims(embedding) AS f32_dims, embedding_half IS NULL AS no_f16
FROM memory.memories WHERE memory = 'Owns a red kayak called Nessie';
-- include_cold reads the cold tier even when the hot one suffices
SELECT memory, tier FROM lc_search('hiking, or tea?', '', 'false', '2');
SELECT memory, tier FROM lc_search('hiking, or tea?', '', 'true', '2');
-- a cold memory still takes part in conflict resolution: Paris -> Berlin is an UPDATE, not a second home
SELECT tier FROM memory.memories WHERE memory = 'Lives in Paris';
SELECT r->>'event' AS event, r->>'previous_memory' AS previous FROM jsonb_array_elements(memory.add('I moved to Berlin', user_id => 'lc')->'results') r;
SELECT memory, tier FROM memory.memories WHERE user_id = 'lc' AND (memory LIKE '%Berlin%' OR memory LIKE '%Paris%');
-- superseded memories go cold at once; hot memories used lately stay hot
SELECT memory.add('Went hiking in the Alps with my sister', user_id => 'lc', infer => false)->'results'->0->>'event';
UPDATE memory.memories SET valid_to = now() WHERE memory = 'Went hiking in the Alps with my sister';
SELECT cardinality(memory.cold_candidates('1000 days')) AS due;
SELECT memory.move_to_cold(memory.cold_candidates('1000 days'), '1000 days') AS moved;
SELECT memory, tier FROM memory.memories WHERE memory LIKE 'Went hiking in the Alps with my s%';
-- promote a whole scope back
SELECT memory.promote(user_id => 'lc') >= 1 AS promoted, count(*) FILTER (WHERE tier = 'cold') AS cold_left
FROM memory.memories WHERE user_id = 'lc' AND valid_to IS NULL;
-- maintain commits per batch: it cannot run inside a transaction block
BEGIN;
SELECT sqlstate_of($$CALL memory.maintain()$$);
ROLLBACK;
SELECT sqlstate_of($$SELECT memory.cold_candidates('-1 day')$$);
SELECT sqlstate_of($$SELECT memory.move_to_cold('{}', '0 days')$$);
-- leave nothing behind for the tests that follow
SELECT memory.delete_all(user_id => 'lc') > 0 AS cleaned;
DROP FUNCTION lc_search(text, text[]);
DROP FUNCTION lc_age(text, int, int);
