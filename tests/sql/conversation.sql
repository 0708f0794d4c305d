-- Conversation-aware search (issue #17): each answer below is reachable only
-- through the message before it (context), a neighbouring turn, a date the
-- question names, or who said it. Every check runs with its feature on and
-- then off.
SET search_path = public, memory;
SET memory.embedder = 'minilm';

-- Three sessions of one conversation between Ana and Sam, one turn per add
-- as a chat application would send them; the sessions are weeks apart.
CREATE TEMP TABLE turns (n int, at timestamptz, said text);
INSERT INTO turns VALUES
 (1,  '2024-03-01 10:00+00', 'Ana: Hi Sam, how was your weekend?'),
 (2,  '2024-03-01 10:01+00', 'Sam: Busy! We finally signed the lease for the flat in Lisbon.'),
 (3,  '2024-03-01 10:02+00', 'Ana: Congratulations! When is the big move?'),
 (4,  '2024-03-01 10:03+00', 'Sam: At the end of the month, the van is booked.'),
 (5,  '2024-03-01 10:04+00', 'Ana: I bought a new road bike yesterday.'),
 (6,  '2024-03-01 10:05+00', 'Sam: Nice, which brand did you pick?'),
 (7,  '2024-03-01 10:06+00', 'Ana: A blue Canyon, very light.'),
 (8,  '2024-04-02 18:00+00', 'Sam: We are settled in now.'),
 (9,  '2024-04-02 18:01+00', 'Ana: Is the new place bigger than the old one?'),
 (10, '2024-04-02 18:02+00', 'Sam: Yes, two bedrooms and a balcony over the river.'),
 (11, '2024-04-02 18:03+00', 'Ana: My sister is visiting me next week.'),
 (12, '2024-04-02 18:04+00', 'Sam: Tell her I said hello.'),
 (13, '2024-05-10 09:00+00', 'Ana: I have a recital coming up.'),
 (14, '2024-05-10 09:01+00', 'Sam: That is exciting, good luck!'),
 (15, '2024-05-10 09:02+00', 'Ana: My teacher is strict but kind.');
SELECT count(*) AS added FROM turns,
       LATERAL memory.add(said, user_id => 'conv', metadata => jsonb_build_object('n', n),
                          infer => false, "timestamp" => at);

-- Each turn continues the one before it within a session (same scope, within
-- memory.conversation_window); the first turn of a session starts afresh.
SELECT (m.metadata->>'n')::int AS n, (p.metadata->>'n')::int AS follows,
       m.context_embedding IS NOT NULL AS has_context
FROM memory.memories m LEFT JOIN memory.memories p ON p.id = m.context_id
WHERE m.user_id = 'conv' ORDER BY 1;

-- Rank of turn n for a question (NULL when not in the top 5).
CREATE FUNCTION pg_temp.rank_of(question text, n int) RETURNS bigint LANGUAGE sql AS $$
    SELECT r FROM (SELECT (metadata->>'n')::int AS t, row_number() OVER () AS r
                   FROM memory.search_rows(question, user_id => 'conv', top_k => 5)) x
    WHERE t = n $$;

-- Context: turn 7 names no brand; the question it answers was asked just
-- before it.
SELECT coalesce(pg_temp.rank_of('Which brand did Ana pick?', 7), 99) <= 2 AS context_on;
SET memory.search_context = off;
SELECT coalesce(pg_temp.rank_of('Which brand did Ana pick?', 7), 99) <= 2 AS context_off;
RESET memory.search_context;

-- Neighbours: turn 12 ("tell her I said hello") is the reply to the visit it
-- follows, and comes back with it.
SELECT coalesce(pg_temp.rank_of('Is someone visiting soon?', 12), 99) <= 3 AS neighbours_on;
SET memory.search_neighbors = 0;
SELECT coalesce(pg_temp.rank_of('Is someone visiting soon?', 12), 99) <= 3 AS neighbours_off;
RESET memory.search_neighbors;

-- Time: only the date ties the question to the third session (turns 13-15).
CREATE FUNCTION pg_temp.top3_on_may_10() RETURNS boolean LANGUAGE sql AS $$
    SELECT bool_and((metadata->>'n')::int BETWEEN 13 AND 15)
    FROM memory.search_rows('What was said on 10 May 2024?', user_id => 'conv', top_k => 3) $$;
SELECT pg_temp.top3_on_may_10() AS time_on;
SET memory.search_time = off;
SELECT pg_temp.top3_on_may_10() AS time_off;
RESET memory.search_time;

-- Speaker: both lines name both people and mention a brother who moved; the
-- question about Kai's brother is answered by what Kai said.
SELECT count(*) AS added FROM (VALUES
 (1, 'Lena: Kai, guess what, my brother moved to Oslo for a job.'),
 (2, 'Kai: Oh nice, Lena! Mine moved to Rome last year.'),
 (3, 'Lena: Do you miss him?'),
 (4, 'Kai: A lot, we used to cook together every Sunday.')) v(n, said),
  LATERAL memory.add(said, user_id => 'lena', metadata => jsonb_build_object('n', n), infer => false);
CREATE FUNCTION pg_temp.first_of(question text, who text) RETURNS int LANGUAGE sql AS $$
    SELECT (metadata->>'n')::int FROM memory.search_rows(question, user_id => who, top_k => 1) $$;
SELECT pg_temp.first_of('Where did Kai''s brother move?', 'lena') AS speaker_on,
       pg_temp.first_of('Where did Lena''s brother move?', 'lena') AS other_speaker;
-- The same lines sent as messages whose name is the speaker (no label in the
-- text): the actor_id is the speaker.
SELECT jsonb_array_length(memory.add(
    '[{"role": "user", "name": "Lena", "content": "Kai, guess what, my brother moved to Oslo for a job."},
      {"role": "user", "name": "Kai", "content": "Oh nice, Lena! Mine moved to Rome last year."},
      {"role": "user", "name": "Lena", "content": "Do you miss him?"}]'::jsonb,
    user_id => 'lena2', infer => false)->'results') AS added;
CREATE FUNCTION pg_temp.first_by(question text) RETURNS text LANGUAGE sql AS $$
    SELECT actor_id FROM memory.memories
    WHERE id = (SELECT id FROM memory.search_rows(question, user_id => 'lena2', top_k => 1)) $$;
SELECT pg_temp.first_by('Where did Kai''s brother move?') AS actor_on;
SET memory.search_speaker = off;
SELECT pg_temp.first_of('Where did Kai''s brother move?', 'lena') AS speaker_off,
       pg_temp.first_by('Where did Kai''s brother move?') AS actor_off;
RESET memory.search_speaker;
SELECT memory.delete_all(user_id => 'lena') + memory.delete_all(user_id => 'lena2') AS cleaned;

-- explain shows what each feature added.
SELECT (metadata->>'n')::int AS n,
       (explain->'context'->>'keyword')::float8 > 0 AS context_keyword,
       explain->'context'->'vector' IS NOT NULL AS context_vector,
       (explain->>'time')::float8 > 0 AS time,
       (explain->>'neighbors')::float8 > 0 AS neighbors,
       (explain->>'speaker')::float8 > 0 AS speaker
FROM memory.search_rows('What did Ana buy on 1 March 2024, which brand?', user_id => 'conv',
                        top_k => 3, explain => true)
ORDER BY 1;

-- A small searched set's vector channel is computed from one read of its
-- vectors (taken while the query is embedded); without the keyword channel
-- the search does not know the set's size and takes the SQL path. Both give
-- every memory the same vector rank and similarity.
WITH a AS (SELECT id, (explain->'vector'->>'rank')::int AS r, (explain->'vector'->>'score')::float8 AS s
           FROM memory.search_rows('where is the new flat?', user_id => 'conv', top_k => 50, explain => true)
           WHERE explain->'vector' <> 'null'),
     b AS (SELECT id, (explain->'vector'->>'rank')::int AS r, (explain->'vector'->>'score')::float8 AS s
           FROM memory.search_rows('where is the new flat?', user_id => 'conv', top_k => 50, explain => true,
                                   keyword_search => false))
SELECT count(*) AS both_paths, count(*) FILTER (WHERE a.r <> b.r OR abs(a.s - b.s) > 1e-9) AS differ,
       (SELECT count(*) FROM a) = (SELECT count(*) FROM b) AS same_count
FROM a JOIN b USING (id);

-- Scores stay in [0, 1] with the calibrated fusion; max and rrf still work.
SELECT bool_and(score > 0 AND score < 1) AS unit_scores
FROM memory.search_rows('road bike', user_id => 'conv', top_k => 15);
SELECT count(*) AS max_hits FROM memory.search_rows('road bike', user_id => 'conv', fusion => 'max');
SELECT memory.search('x', user_id => 'conv', fusion => 'z');

-- A separate add call more than memory.conversation_window later starts a
-- new conversation; one in the same run always continues it.
SELECT memory.add('Ana: Back from the recital!', user_id => 'conv', infer => false,
                  "timestamp" => '2024-05-10 12:00+00') IS NOT NULL AS added;
SELECT context_id IS NULL AS new_conversation FROM memory.memories
WHERE user_id = 'conv' AND memory = 'Ana: Back from the recital!';
SELECT memory.add('[{"role": "user", "content": "first"}, {"role": "assistant", "content": "second"}]'::jsonb,
                  user_id => 'conv', run_id => 'conv-run', infer => false,
                  "timestamp" => '2024-01-01') IS NOT NULL AS added;
SELECT memory.add('third, a year later', user_id => 'conv', run_id => 'conv-run', infer => false,
                  "timestamp" => '2025-01-01') IS NOT NULL AS added;
SELECT m.memory, p.memory AS follows FROM memory.memories m
LEFT JOIN memory.memories p ON p.id = m.context_id
WHERE m.user_id = 'conv' AND m.run_id = 'conv-run' ORDER BY m.created_at;

-- Only a reply (a change of speaker: name, transcript label, else role)
-- takes the message before it as context; one speaker's next sentence is
-- linked as a neighbour but keeps its own vector alone.
SELECT memory.add('[{"role": "user", "content": "I moved to Lisbon."},
                    {"role": "user", "content": "I am allergic to nuts."},
                    {"role": "assistant", "content": "Noted, no nuts."},
                    {"role": "user", "content": "Bea: hi", "name": "Bea"},
                    {"role": "user", "content": "Cy: hello"}]'::jsonb,
                  user_id => 'conv', run_id => 'turns', infer => false) IS NOT NULL AS added;
SELECT m.memory, p.memory AS follows, m.context_embedding IS NOT NULL AS has_context
FROM memory.memories m LEFT JOIN memory.memories p ON p.id = m.context_id
WHERE m.user_id = 'conv' AND m.run_id = 'turns' ORDER BY m.seq;

-- Rewriting a memory drops its context embedding (it no longer is what was
-- said), keeping its place in the conversation.
SELECT memory.update(id, 'Ana: A red Canyon, very light.') IS NOT NULL AS updated
FROM memory.memories WHERE user_id = 'conv' AND metadata->>'n' = '7';
SELECT context_id IS NOT NULL AS linked, context_embedding IS NULL AS no_context_vector
FROM memory.memories WHERE user_id = 'conv' AND metadata->>'n' = '7';

SELECT memory.delete_all(user_id => 'conv') > 0 AS cleaned;

-- Inferred facts: a named speaker who is not the scope's user keeps the
-- name, so two speakers' facts never overwrite each other, and the facts of
-- consecutive turns are linked like the messages they came from.
SELECT memory.add('[{"role": "user", "content": "I live in Lisbon now.", "name": "Sam"}]'::jsonb,
                  user_id => 'chat', "timestamp" => '2024-03-01 10:00+00')->'results'->0->>'memory' AS sam;
SELECT memory.add('[{"role": "user", "content": "I live in Porto.", "name": "Ana"}]'::jsonb,
                  user_id => 'chat', "timestamp" => '2024-03-01 10:01+00')->'results'->0->>'event' AS ana_adds;
SELECT m.memory, p.memory AS follows FROM memory.memories m
LEFT JOIN memory.memories p ON p.id = m.context_id
WHERE m.user_id = 'chat' AND m.valid_to IS NULL ORDER BY m.created_at;
-- the scope's own user keeps Mem0's form
SELECT memory.add('[{"role": "user", "content": "I am vegetarian.", "name": "chat"}]'::jsonb,
                  user_id => 'chat')->'results'->0->>'memory' AS own_fact;
SELECT memory.delete_all(user_id => 'chat') AS cleaned;
