//! In-database tests (`cargo pgrx test`): the glue between SQL and the pure
//! modules. End-to-end behaviour with expected output lives in tests/sql.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;
    use pgrx::JsonB;

    fn one<T: FromDatum + IntoDatum>(sql: &str) -> Option<T> {
        Spi::get_one::<T>(sql).expect("query failed")
    }

    fn json(sql: &str) -> serde_json::Value {
        one::<JsonB>(sql).expect("no row").0
    }

    #[pg_test]
    fn the_three_candidate_reads_agree() {
        Spi::run(
            "SELECT setseed(0.42);
             INSERT INTO memory.memories (memory, user_id, embedding, embedder)
             SELECT 'memory ' || g, 'cand',
                    (SELECT memory.l2_normalize(array_agg(random() - 0.5)::real[]::memory.vector)
                     FROM generate_series(1, 64) WHERE g > 0), 'minilm'
             FROM generate_series(1, 400) g",
        )
        .unwrap();
        // Three query vectors from a small linear congruential generator.
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        let vectors: Vec<Vec<f32>> = (0..3).map(|_| (0..64).map(|_| next()).collect()).collect();
        let embedded = crate::embed::Embedded {
            embedder: "minilm".into(),
            vectors,
        };
        let [small, one_pass, scans] = crate::api::infer::candidates_three_ways("cand", &embedded);
        assert!(
            small.len() >= 5 && small.len() <= 15,
            "{} candidates",
            small.len()
        );
        assert_eq!(small, one_pass);
        assert_eq!(small, scans);
    }

    #[pg_test]
    fn a_search_scored_while_reading_ranks_as_one_that_kept_vectors() {
        // A small scope's vectors are kept while MiniLM embeds the query on
        // its thread (cache off), and scored as they are read when the
        // query's embedding is already known (a cache hit): same ranking,
        // same scores.
        Spi::run(
            "SELECT memory.add(jsonb_build_array(
                 jsonb_build_object('role', 'user', 'content', 'My sister lives in Lisbon near the river ' || g),
                 jsonb_build_object('role', 'assistant', 'content', 'Noted, piano lessons on day ' || g)),
                 user_id => 'sc', infer => false)
             FROM generate_series(1, 12) g",
        )
        .unwrap();
        let search = "SELECT jsonb_agg(jsonb_build_array(r.id, round(r.score::numeric, 6)))
                      FROM memory.search_rows('where does my sister live', user_id => 'sc') r";
        // The first search counts its hits' uses; the others, within
        // memory.access_interval, do not.
        let _counted = json(search);
        Spi::run("SET memory.query_cache_size = 0").unwrap();
        let kept = json(search);
        Spi::run("RESET memory.query_cache_size").unwrap();
        let _cached = json(search);
        let scored = json(search);
        assert!(kept.as_array().is_some_and(|a| a.len() >= 5), "{kept}");
        assert_eq!(kept, scored);
    }

    #[pg_test]
    fn vector_text_round_trip() {
        assert_eq!(
            one::<String>("SELECT '[1,2.5,-3e-7]'::memory.vector::text").as_deref(),
            Some("[1,2.5,-3e-07]")
        );
        assert_eq!(
            one::<String>("SELECT '[1,2.5]'::memory.halfvec::text").as_deref(),
            Some("[1,2.5]")
        );
    }

    #[pg_test]
    fn vector_binary_round_trip() {
        let bytes = one::<Vec<u8>>("SELECT memory.vector_send('[1,-2]'::memory.vector)").unwrap();
        assert_eq!(bytes, vec![0, 2, 0, 0, 0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0]);
        let hbytes =
            one::<Vec<u8>>("SELECT memory.halfvec_send('[1,-2]'::memory.halfvec)").unwrap();
        assert_eq!(hbytes, vec![0, 2, 0, 0, 0x3c, 0, 0xc0, 0]);
    }

    #[pg_test]
    fn distances_match_definitions() {
        Spi::run("SET LOCAL search_path = public, memory").unwrap();
        let d = one::<f64>("SELECT '[0,0]'::memory.vector <-> '[3,4]'::memory.vector").unwrap();
        assert!((d - 5.0).abs() < 1e-9);
        let c = one::<f64>("SELECT '[1,0]'::memory.vector <=> '[0,1]'::memory.vector").unwrap();
        assert!((c - 1.0).abs() < 1e-9);
        let ip = one::<f64>("SELECT '[1,2]'::memory.vector <#> '[3,4]'::memory.vector").unwrap();
        assert!((ip + 11.0).abs() < 1e-9);
        let h = one::<f64>("SELECT '[0,0]'::memory.halfvec <-> '[3,4]'::memory.halfvec").unwrap();
        assert!((h - 5.0).abs() < 1e-9);
    }

    #[pg_test]
    #[should_panic(expected = "expected 3 dimensions, not 2")]
    fn typmod_enforced_on_insert() {
        Spi::run("CREATE TEMP TABLE t (v memory.vector(3)); INSERT INTO t VALUES ('[1,2]')")
            .unwrap();
    }

    #[pg_test]
    fn add_get_update_delete_cycle() {
        let added = json("SELECT memory.add('I like tea', user_id => 'u1', infer => false)");
        let id = added["results"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(added["results"][0]["event"], "ADD");
        let got = json(&format!("SELECT memory.get('{id}')"));
        assert_eq!(got["memory"], "I like tea");
        assert_eq!(got["user_id"], "u1");
        let upd = json(&format!("SELECT memory.update('{id}', 'I like coffee')"));
        assert_eq!(upd["memory"], "I like coffee");
        assert_eq!(upd["id"], id.as_str());
        let hist = json(&format!("SELECT memory.history('{id}')"));
        let events: Vec<&str> = hist
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["event"].as_str().unwrap())
            .collect();
        assert_eq!(events, ["ADD", "UPDATE"]);
        assert_eq!(hist[1]["old_memory"], "I like tea");
        assert_eq!(
            one::<bool>(&format!("SELECT memory.delete('{id}')")),
            Some(true)
        );
        assert_eq!(
            one::<bool>(&format!("SELECT memory.delete('{id}')")),
            Some(false)
        );
        assert!(one::<JsonB>(&format!("SELECT memory.get('{id}')")).is_none());
        let hist = json(&format!("SELECT memory.history('{id}')"));
        assert_eq!(hist.as_array().unwrap().len(), 3);
        assert_eq!(hist[2]["is_deleted"], true);
    }

    #[pg_test]
    fn scopes_never_mix() {
        Spi::run("SELECT memory.add('a fact', user_id => 'a', infer => false)").unwrap();
        Spi::run("SELECT memory.add('b fact', user_id => 'b', infer => false)").unwrap();
        let a = json("SELECT memory.get_all(user_id => 'a')");
        assert_eq!(a["results"].as_array().unwrap().len(), 1);
        assert_eq!(a["results"][0]["memory"], "a fact");
        let b_id =
            one::<String>("SELECT id::text FROM memory.memories WHERE user_id = 'b'").unwrap();
        assert!(one::<JsonB>(&format!("SELECT memory.get('{b_id}', user_id => 'a')")).is_none());
        assert_eq!(
            one::<bool>(&format!("SELECT memory.delete('{b_id}', user_id => 'a')")),
            Some(false)
        );
        assert_eq!(
            one::<i64>("SELECT memory.delete_all(user_id => 'a')"),
            Some(1)
        );
        assert_eq!(
            one::<i64>("SELECT count(*) FROM memory.memories WHERE user_id = 'b'"),
            Some(1)
        );
    }

    #[pg_test]
    fn filters_reach_sql_as_parameters() {
        Spi::run(
            "SELECT memory.add('x', user_id => 'f', metadata => '{\"n\": 5, \"tag\": \"it''s\"}', infer => false)",
        )
        .unwrap();
        let r = json(
            "SELECT memory.get_all(filters => '{\"AND\": [{\"user_id\": \"f\"}, {\"metadata.tag\": \"it''s\"}, {\"metadata.n\": {\"gt\": 4.5}}]}')",
        );
        assert_eq!(r["results"].as_array().unwrap().len(), 1);
        let r = json(
            "SELECT memory.get_all(user_id => 'f', filters => '{\"metadata.n\": {\"lt\": 5}}')",
        );
        assert_eq!(r["results"].as_array().unwrap().len(), 0);
    }

    #[pg_test]
    fn inference_updates_instead_of_duplicating() {
        Spi::run("SELECT memory.add('I am single. I live in Rome.', user_id => 'i')").unwrap();
        let r = json("SELECT memory.add('I got married!', user_id => 'i')");
        assert_eq!(r["results"][0]["event"], "UPDATE");
        assert_eq!(r["results"][0]["previous_memory"], "Is single");
        let current = one::<i64>(
            "SELECT count(*) FROM memory.memories WHERE user_id = 'i' AND valid_to IS NULL",
        );
        assert_eq!(current, Some(2));
        let r = json("SELECT memory.add('I live in Rome.', user_id => 'i')");
        assert_eq!(r["results"].as_array().map(Vec::len), Some(0));
    }

    #[pg_test]
    fn graph_edges_follow_facts() {
        let r = json("SELECT memory.add('Adam is John''s father.', user_id => 'gr')");
        assert_eq!(
            r["relations"]["added_entities"][0]["relationship"],
            "father_of"
        );
        let from_john =
            one::<i64>("SELECT count(*) FROM memory.neighbors('john', user_id => 'gr')");
        assert_eq!(from_john, Some(1));
        Spi::run("SELECT memory.add('Alice lives in Paris.', user_id => 'gr')").unwrap();
        Spi::run("SELECT memory.add('Alice moved to Berlin.', user_id => 'gr')").unwrap();
        let lives = one::<String>(
            "SELECT string_agg(destination, ',') FROM memory.neighbors('Alice', user_id => 'gr')
             WHERE relation = 'lives_in'",
        );
        assert_eq!(lives.as_deref(), Some("Berlin"));
        let ended = one::<i64>(
            "SELECT count(*) FROM memory.relations WHERE user_id = 'gr' AND valid_to IS NOT NULL",
        );
        assert_eq!(ended, Some(1));
    }

    #[pg_test]
    fn cjk_terms_become_keywords() {
        assert_eq!(
            one::<String>("SELECT memory.cjk_terms('喝绿茶')").as_deref(),
            Some("'喝绿':1 '绿茶':2")
        );
        Spi::run("SELECT memory.add('我喜欢喝绿茶', user_id => 'zh', infer => false)").unwrap();
        let n = one::<i64>(
            "SELECT count(*) FROM memory.memories WHERE user_id = 'zh' AND fts @@ '绿茶'::tsquery",
        );
        assert_eq!(n, Some(1));
    }

    #[pg_test]
    fn search_finds_by_meaning_and_by_keyword() {
        Spi::run(
            "SELECT memory.add('[{\"role\":\"user\",\"content\":\"I am allergic to penicillin\"},
                                {\"role\":\"user\",\"content\":\"Invoice 99812 is overdue\"}]'::jsonb,
                              user_id => 's', infer => false)",
        )
        .unwrap();
        let r =
            json("SELECT memory.search('Which drug must be avoided?', user_id => 's', top_k => 1)");
        assert_eq!(r["results"][0]["memory"], "I am allergic to penicillin");
        let r = json("SELECT memory.search('99812', user_id => 's', top_k => 1, explain => true)");
        assert_eq!(r["results"][0]["memory"], "Invoice 99812 is overdue");
        assert_eq!(r["results"][0]["explain"]["keyword"]["rank"], 1);
    }

    /// Recall@10 of the index against exact search over `queries` random
    /// queries on table `t` (columns id, v).
    fn hnsw_recall(queries: i32) -> f64 {
        let mut hits = 0i64;
        for q in 0..queries {
            let qv = format!(
                "(SELECT array_agg(sin({q} * 1.7 + d * 0.3)::real)::memory.vector(8) FROM generate_series(1, 8) d)"
            );
            Spi::run("SET LOCAL enable_seqscan = off").unwrap();
            let got: Vec<i32> = one(&format!(
                "SELECT array_agg(id) FROM (SELECT id FROM t ORDER BY v OPERATOR(memory.<->) {qv} LIMIT 10) s"
            ))
            .unwrap();
            Spi::run("SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off").unwrap();
            let truth: Vec<i32> = one(&format!(
                "SELECT array_agg(id) FROM (SELECT id FROM t ORDER BY v OPERATOR(memory.<->) {qv} LIMIT 10) s"
            ))
            .unwrap();
            Spi::run("SET LOCAL enable_indexscan = on").unwrap();
            hits += got.iter().filter(|g| truth.contains(g)).count() as i64;
        }
        hits as f64 / (queries as f64 * 10.0)
    }

    #[pg_test]
    fn hnsw_build_insert_scan() {
        Spi::run(
            "CREATE TABLE t (id int, v memory.vector(8));
             INSERT INTO t SELECT i, (SELECT array_agg(sin(i * 0.61 + d * (1 + i % 5)) ::real)
                                      FROM generate_series(1, 8) d)::memory.vector(8)
             FROM generate_series(1, 1500) i;
             CREATE INDEX t_v ON t USING memory_hnsw (v memory.vector_l2_ops);
             SET LOCAL memory.hnsw_ef_search = 100",
        )
        .unwrap();
        let r = hnsw_recall(30);
        assert!(r >= 0.99, "recall after build {r}");
        // Inserts through aminsert.
        Spi::run(
            "INSERT INTO t SELECT i, (SELECT array_agg(cos(i * 0.37 + d * (1 + i % 3))::real)
                                      FROM generate_series(1, 8) d)::memory.vector(8)
             FROM generate_series(1501, 2500) i",
        )
        .unwrap();
        let r = hnsw_recall(30);
        assert!(r >= 0.99, "recall after inserts {r}");
        // VACUUM cannot run inside a test transaction: tests/sql/hnsw.sql.
        let pages: i64 = one("SELECT pg_relation_size('t_v') / 8192").unwrap();
        assert!(pages > 1, "index pages {pages}");
    }

    #[pg_test]
    fn hnsw_every_row_once() {
        Spi::run(
            "CREATE TABLE t (id int, v memory.vector(8));
             INSERT INTO t SELECT i, (SELECT array_agg(sin(i * 0.61 + d)::real)
                                      FROM generate_series(1, 8) d)::memory.vector(8)
             FROM generate_series(1, 700) i;
             CREATE INDEX t_v ON t USING memory_hnsw (v memory.vector_l2_ops) WITH (m = 4, ef_construction = 8);
             SET LOCAL enable_seqscan = off; SET LOCAL memory.hnsw_ef_search = 5",
        )
        .unwrap();
        let (n, d) = Spi::get_two::<i64, i64>(
            "SELECT count(*), count(DISTINCT id) FROM
               (SELECT id FROM t ORDER BY v OPERATOR(memory.<->) '[1,0,0,0,0,0,0,0]' OFFSET 0) s",
        )
        .unwrap();
        assert_eq!((n, d), (Some(700), Some(700)));
    }
}
