//! Every setting of memory_ext, registered once when the library loads.
//! Endpoint URLs and API keys are superuser-only (`Suset`) and hidden from
//! other roles, so no tenant can point the server at another host or read a
//! key.

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::ffi::CString;

/// The user whose rows row-level security shows (see `memory.enable_tenant_isolation`).
pub static CURRENT_USER_ID: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

/// Which provider extracts facts and decides conflicts: builtin or openai.
pub static LLM: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"builtin"));

/// Which embedder computes vectors: minilm, wordllama or openai.
pub static EMBEDDER: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"minilm"));
pub static QUERY_CACHE_SIZE: GucSetting<i32> = GucSetting::<i32>::new(64);
pub static EMBEDDING_URL: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static EMBEDDING_MODEL: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"text-embedding-3-small"));
pub static EMBEDDING_API_KEY: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(None);
pub static LLM_API_KEY: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
/// Base URL of the OpenAI-compatible chat endpoint (superuser only).
pub static LLM_URL: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static LLM_MODEL: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"gpt-4o-mini"));
/// Ask for `response_format: json_object` (servers without a JSON mode may refuse it).
pub static LLM_JSON_MODE: GucSetting<bool> = GucSetting::<bool>::new(true);
/// Categories facts are tagged with; empty means the default set.
pub static CUSTOM_CATEGORIES: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(None);
pub static LLM_TIMEOUT_MS: GucSetting<i32> = GucSetting::<i32>::new(30_000);
/// Directory of the built-in models; empty means `<sharedir>/extension/memory_ext/models`.
pub static MODEL_DIR: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

/// Text search configuration of the keyword channel.
pub static TEXT_SEARCH_CONFIG: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"english"));
/// Fusion weights of the search channels, chosen on benches/retrieval (MiniLM:
/// MRR 0.897 at 0.7/0.3 against 0.874 for the vector channel alone).
pub static VECTOR_WEIGHT: GucSetting<f64> = GucSetting::<f64>::new(0.5);
pub static KEYWORD_WEIGHT: GucSetting<f64> = GucSetting::<f64>::new(0.5);
pub static GRAPH_WEIGHT: GucSetting<f64> = GucSetting::<f64>::new(0.2);
/// `score` (calibrated: standard scores per channel), `max` (max-scaled) or `rrf`.
pub static FUSION: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"score"));

/// Seconds within which a memory written to the same scope continues the
/// conversation of the one before it (0: only within one add call or run).
pub static CONVERSATION_WINDOW_S: GucSetting<i32> = GucSetting::<i32>::new(1800);
/// Seconds within which a search does not bump the access statistics of a
/// memory again (0: every search that returns it).
pub static ACCESS_INTERVAL_S: GucSetting<i32> = GucSetting::<i32>::new(60);
/// Search with each memory's conversation context (the message before it).
pub static SEARCH_CONTEXT: GucSetting<bool> = GucSetting::<bool>::new(true);
/// Share of its best conversation neighbour's score a search hit gains.
pub static SEARCH_NEIGHBORS: GucSetting<f64> = GucSetting::<f64>::new(0.4);
/// Match date expressions of the query against the memories' time.
pub static SEARCH_TIME: GucSetting<bool> = GucSetting::<bool>::new(true);
pub static SEARCH_SPEAKER: GucSetting<bool> = GucSetting::<bool>::new(true);

/// Half-life of search-score decay, an interval such as '30 days'; empty: off.
pub static DECAY_HALF_LIFE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
/// Part of a memory's relevance that never decays.
pub static DECAY_FLOOR: GucSetting<f64> = GucSetting::<f64>::new(0.5);
/// Memories not used for this long move to the cold tier (memory.maintain).
pub static COLD_AFTER: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"30 days"));
/// Cosine similarity from which a hot hit counts as an answer; a search
/// reaches into the cold tier while fewer than top_k hot hits do.
pub static COLD_SEARCH_SIMILARITY: GucSetting<f64> = GucSetting::<f64>::new(0.3);
/// Rows one maintenance transaction touches.
pub static MAINTENANCE_BATCH: GucSetting<i32> = GucSetting::<i32>::new(1000);

/// Databases that get a background worker (needs shared_preload_libraries).
pub static WORKER_DATABASES: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
/// How often the worker looks for queued adds.
pub static WORKER_NAPTIME_MS: GucSetting<i32> = GucSetting::<i32>::new(200);
/// Seconds between maintenance runs of the worker; 0 turns them off.
pub static MAINTENANCE_INTERVAL_S: GucSetting<i32> = GucSetting::<i32>::new(3600);
/// Attempts of a queued add before it is marked FAILED.
pub static JOB_MAX_ATTEMPTS: GucSetting<i32> = GucSetting::<i32>::new(5);

/// Candidate list size of memory_hnsw index scans (recall against speed).
pub static HNSW_EF_SEARCH: GucSetting<i32> = GucSetting::<i32>::new(40);
/// Upper bound on elements one memory_hnsw scan examines; 0 means no bound.
pub static HNSW_MAX_SCAN_TUPLES: GucSetting<i32> = GucSetting::<i32>::new(0);

/// Seconds of an interval: the one given, else the interval text of
/// `setting`; None when neither is set. Range checks are the caller's.
pub fn interval_seconds(
    given: Option<pgrx::datum::Interval>,
    setting: &GucSetting<Option<CString>>,
) -> Option<f64> {
    use crate::error::OrRaise;
    match given {
        Some(i) => Some(i.as_micros() as f64 / 1e6),
        None => text(setting).map(|t| {
            pgrx::Spi::get_one_with_args::<f64>(
                "SELECT extract(epoch FROM $1::interval)::float8",
                &[t.into()],
            )
            .or_raise()
            .unwrap_or(0.0)
        }),
    }
}

pub fn text(setting: &GucSetting<Option<CString>>) -> Option<String> {
    setting
        .get()
        .and_then(|c| c.into_string().ok())
        .filter(|s| !s.trim().is_empty())
}

pub fn init() {
    GucRegistry::define_int_guc(
        c"memory.query_cache_size",
        c"Query embeddings each session keeps for repeated searches; 0 turns the cache off.",
        c"Keyed by embedder, endpoint and text; a hit skips the model or the embedding call.",
        &QUERY_CACHE_SIZE,
        0,
        4096,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"memory.conversation_window",
        c"Seconds within which a memory added to the same scope continues the conversation of the previous one.",
        c"A continuing message is searched with the one before it (context) and lends its neighbours part of its score; 0 links only messages of one add call or one run_id.",
        &CONVERSATION_WINDOW_S,
        0,
        i32::MAX,
        GucContext::Userset,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"memory.access_interval",
        c"A search bumps a memory's access_count and last_accessed_at at most once per this interval.",
        c"Bumps within it would only rewrite the row (a new version of a wide row, new index entries); 0 bumps on every search that returns the memory. Cold memories move back to the hot tier whenever returned.",
        &ACCESS_INTERVAL_S,
        0,
        i32::MAX,
        GucContext::Userset,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_bool_guc(
        c"memory.search_context",
        c"Search each memory together with the message said before it in its conversation.",
        c"",
        &SEARCH_CONTEXT,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_float_guc(
        c"memory.search_neighbors",
        c"Share of the way up to the best score of its conversation neighbours that a search hit is pulled; 0 turns neighbour expansion off.",
        c"",
        &SEARCH_NEIGHBORS,
        0.0,
        1.0,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"memory.search_time",
        c"Match date expressions in search queries (\"in May 2023\", \"last week\") against the memories' time.",
        c"",
        &SEARCH_TIME,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"memory.search_speaker",
        c"Lift search hits said by someone the query names (the memory's actor_id, or the \"Name:\" label of a transcript line).",
        c"",
        &SEARCH_SPEAKER,
        GucContext::Userset,
        GucFlags::default(),
    );
    let secret = GucFlags::NO_SHOW_ALL | GucFlags::SUPERUSER_ONLY;
    GucRegistry::define_string_guc(
        c"memory.current_user_id",
        c"User whose memories row-level security makes visible.",
        c"Set per request by the application when memory.enable_tenant_isolation() is on; unset means no rows.",
        &CURRENT_USER_ID,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"memory.llm",
        c"Provider of fact extraction and conflict decisions: builtin or openai.",
        c"builtin is rule-based, offline and deterministic.",
        &LLM,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"memory.llm_url",
        c"Base URL of an OpenAI-compatible chat endpoint (superuser only).",
        c"Like OpenAI's base_url, e.g. http://127.0.0.1:8000/v1; /chat/completions is appended.",
        &LLM_URL,
        GucContext::Suset,
        GucFlags::SUPERUSER_ONLY,
    );
    GucRegistry::define_string_guc(
        c"memory.llm_model",
        c"Model name sent to the chat endpoint.",
        c"",
        &LLM_MODEL,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"memory.llm_json_mode",
        c"Ask the chat endpoint for JSON output (response_format json_object).",
        c"Turn off for servers that reject response_format; answers wrapped in Markdown fences are accepted either way.",
        &LLM_JSON_MODE,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"memory.custom_categories",
        c"Categories inferred memories are tagged with: names separated by commas, each optionally 'name: description'.",
        c"Empty means the default set (personal_details, family, professional_details, ..., misc). A call can pass its own list as metadata key custom_categories.",
        &CUSTOM_CATEGORIES,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"memory.embedder",
        c"Embedder for memories and queries: minilm, wordllama or openai.",
        c"minilm (all-MiniLM-L6-v2, 384 dims) and wordllama (WordLlama-256) run in the backend; openai calls memory.embedding_url.",
        &EMBEDDER,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"memory.embedding_url",
        c"Base URL of an OpenAI-compatible embeddings endpoint (superuser only).",
        c"Like OpenAI's base_url, e.g. http://127.0.0.1:8000/v1; /embeddings is appended.",
        &EMBEDDING_URL,
        GucContext::Suset,
        GucFlags::SUPERUSER_ONLY,
    );
    GucRegistry::define_string_guc(
        c"memory.embedding_model",
        c"Model name sent to the embeddings endpoint.",
        c"",
        &EMBEDDING_MODEL,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"memory.embedding_api_key",
        c"API key for the embeddings endpoint (superuser only; falls back to memory.llm_api_key).",
        c"",
        &EMBEDDING_API_KEY,
        GucContext::Suset,
        secret,
    );
    GucRegistry::define_string_guc(
        c"memory.llm_api_key",
        c"API key for the OpenAI-compatible endpoints (superuser only).",
        c"",
        &LLM_API_KEY,
        GucContext::Suset,
        secret,
    );
    GucRegistry::define_int_guc(
        c"memory.hnsw_ef_search",
        c"Size of the candidate list of memory_hnsw index scans.",
        c"Higher finds the true nearest neighbours more often, at the cost of speed.",
        &HNSW_EF_SEARCH,
        1,
        1000,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"memory.hnsw_max_scan_tuples",
        c"Most index elements one memory_hnsw scan examines before it stops; 0 = no limit.",
        c"Scans continue past ef_search while the query asks for more rows (filters); a limit trades completeness for bounded latency.",
        &HNSW_MAX_SCAN_TUPLES,
        0,
        i32::MAX,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"memory.llm_timeout_ms",
        c"Time budget of one call to an LLM or embedding endpoint, retry included.",
        c"",
        &LLM_TIMEOUT_MS,
        100,
        600_000,
        GucContext::Userset,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_string_guc(
        c"memory.model_dir",
        c"Directory of the built-in embedders' weights (superuser only).",
        c"Empty means <sharedir>/extension/memory_ext/models.",
        &MODEL_DIR,
        GucContext::Suset,
        GucFlags::SUPERUSER_ONLY,
    );
    GucRegistry::define_string_guc(
        c"memory.text_search_config",
        c"Text search configuration of the keyword channel (stemming, stop words).",
        c"Memories keep the lexemes computed when they were written.",
        &TEXT_SEARCH_CONFIG,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_float_guc(
        c"memory.vector_weight",
        c"Weight of the vector channel in search fusion.",
        c"",
        &VECTOR_WEIGHT,
        0.0,
        1.0,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_float_guc(
        c"memory.keyword_weight",
        c"Weight of the keyword (BM25) channel in search fusion.",
        c"",
        &KEYWORD_WEIGHT,
        0.0,
        1.0,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_float_guc(
        c"memory.graph_weight",
        c"Weight of the graph channel (memories linked to entities the query names) in search fusion.",
        c"",
        &GRAPH_WEIGHT,
        0.0,
        1.0,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"memory.fusion",
        c"How search channels are fused: score (standard scores per channel), max (max-scaled) or rrf.",
        c"",
        &FUSION,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"memory.decay_half_life",
        c"Half-life of the recency decay of search scores, e.g. '30 days'; empty turns decay off.",
        c"score = relevance * (floor + (1 - floor) * 2^(-age / (half_life * (1 + ln(1 + access_count))))).",
        &DECAY_HALF_LIFE,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_float_guc(
        c"memory.decay_floor",
        c"Part of a memory's relevance that never decays (0 to 1).",
        c"",
        &DECAY_FLOOR,
        0.0,
        1.0,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"memory.cold_after",
        c"Memories neither written nor returned for this long move to the cold tier, e.g. '30 days'.",
        c"Applied by memory.maintain(); empty disables tiering.",
        &COLD_AFTER,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"memory.maintenance_batch",
        c"Rows memory.maintain() changes per transaction.",
        c"",
        &MAINTENANCE_BATCH,
        1,
        100_000,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_float_guc(
        c"memory.cold_search_similarity",
        c"Cosine similarity from which a hot-tier hit counts as an answer to a search.",
        c"A search reads the cold tier while fewer than top_k hot hits share a term with the query, are linked by the graph, or reach this similarity.",
        &COLD_SEARCH_SIMILARITY,
        -1.0,
        1.0,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"memory.worker_databases",
        c"Comma-separated databases in which a memory_ext background worker runs queued adds and maintenance.",
        c"Needs memory_ext in shared_preload_libraries; read at server start (a reload does not add or remove workers).",
        &WORKER_DATABASES,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"memory.worker_naptime_ms",
        c"How often the background worker looks for queued adds, in milliseconds.",
        c"",
        &WORKER_NAPTIME_MS,
        10,
        60_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"memory.maintenance_interval",
        c"Seconds between the background worker's maintenance runs (expiry, tiering); 0 turns them off.",
        c"",
        &MAINTENANCE_INTERVAL_S,
        0,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"memory.job_max_attempts",
        c"Attempts of a queued add (memory.add_async) before it is marked FAILED.",
        c"Transient failures (endpoint down, timeout) are retried with exponential backoff.",
        &JOB_MAX_ATTEMPTS,
        1,
        100,
        GucContext::Userset,
        GucFlags::default(),
    );
}
