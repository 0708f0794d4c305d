//! The configured embedder (`memory.embedder`): the built-in models, loaded
//! once per backend from memory-mapped files, or an OpenAI-compatible
//! `/embeddings` endpoint.

use crate::error::{raise, report, OrRaise};
use crate::gucs;
use crate::http::Request;
use crate::timing::{self, Wait};
use crate::types::varvec::VectorOut;
use memory_core::embed::Builtin;
use memory_core::lru::Lru;
use memory_core::messages::Scope;
use memory_core::Error;
use pgrx::prelude::*;
use pgrx::{pg_sys, PgSqlErrorCode};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// What a cached query embedding is keyed by: embedder name, where it came
/// from (model directory or endpoint), and the text.
type QueryKey = (String, String, String);

thread_local! {
    static LOADED: RefCell<HashMap<String, Arc<Builtin>>> = RefCell::new(HashMap::new());
    static QUERIES: RefCell<Lru<QueryKey, Rc<Vec<f32>>>> = RefCell::new(Lru::new(0));
}

/// Embeddings of a batch, with the name of what made them.
pub struct Embedded {
    pub embedder: String,
    pub vectors: Vec<Vec<f32>>,
}

/// Name recorded with each memory: `minilm`, `wordllama` or `openai:<model>`.
pub fn current_name() -> String {
    let e = gucs::text(&gucs::EMBEDDER).unwrap_or_else(|| "minilm".into());
    match e.as_str() {
        "minilm" | "wordllama" => e,
        "openai" => format!(
            "openai:{}",
            gucs::text(&gucs::EMBEDDING_MODEL).unwrap_or_default()
        ),
        other => raise(
            Error::invalid_parameter(format!("unknown embedder \"{other}\""))
                .hint("Set memory.embedder to minilm, wordllama or openai."),
        ),
    }
}

fn model_dir() -> PathBuf {
    if let Some(d) = gucs::text(&gucs::MODEL_DIR) {
        return PathBuf::from(d);
    }
    let mut buf = [0 as std::ffi::c_char; pg_sys::MAXPGPATH as usize];
    // SAFETY: get_share_path writes a NUL-terminated path of at most
    // MAXPGPATH bytes into `buf`; my_exec_path is set at backend start.
    let share = unsafe {
        pg_sys::get_share_path(
            std::ptr::addr_of!(pg_sys::my_exec_path).cast(),
            buf.as_mut_ptr(),
        );
        std::ffi::CStr::from_ptr(buf.as_ptr())
    };
    PathBuf::from(share.to_string_lossy().into_owned()).join("extension/memory_ext/models")
}

fn builtin(name: &str) -> Arc<Builtin> {
    if let Some(m) = LOADED.with(|l| l.borrow().get(name).cloned()) {
        return m;
    }
    let loaded = Arc::new(Builtin::load(name, &model_dir()).or_raise());
    LOADED.with(|l| l.borrow_mut().insert(name.to_string(), loaded.clone()));
    loaded
}

/// Embed `texts` with the configured embedder (one batch, one call).
pub fn embed(texts: &[&str]) -> Embedded {
    let embedder = current_name();
    if texts.is_empty() {
        return Embedded {
            embedder,
            vectors: Vec::new(),
        };
    }
    let vectors = timing::measure(Wait::Embed, || {
        if let Some(model) = embedder.strip_prefix("openai:") {
            openai(model, texts)
        } else {
            let m = builtin(&embedder);
            if embedder == "minilm" && texts.len() >= 2 {
                if let Some(v) = embed_split(&m, texts) {
                    return v;
                }
            }
            m.embed(texts, &mut || {
                pgrx::check_for_interrupts!();
            })
            .or_raise()
        }
    });
    Embedded { embedder, vectors }
}

/// A batch of two or more texts embedded by two threads: the later texts
/// (about half the characters) on a helper thread, the first ones here.
/// None when the helper cannot be started.
fn embed_split(m: &Arc<Builtin>, texts: &[&str]) -> Option<Vec<Vec<f32>>> {
    let total: usize = texts.iter().map(|t| t.len()).sum();
    let mut cut = 1;
    let mut acc = texts[0].len();
    while cut < texts.len() - 1 && 2 * acc < total {
        acc += texts[cut].len();
        cut += 1;
    }
    let later: Vec<String> = texts[cut..].iter().map(|t| t.to_string()).collect();
    let model = Arc::clone(m);
    let helper = spawn_quiet(move || {
        let refs: Vec<&str> = later.iter().map(String::as_str).collect();
        model.embed(&refs, &mut || {})
    })?;
    let mut first = m
        .embed(&texts[..cut], &mut || {
            pgrx::check_for_interrupts!();
        })
        .or_raise();
    match helper.join() {
        Ok(rest) => first.extend(rest.or_raise()),
        Err(_) => pgrx::error!("an embedding thread stopped unexpectedly"),
    }
    Some(first)
}

/// The embedding of a search query, being computed: taken from this
/// session's cache of recent queries (`memory.query_cache_size`) when the
/// same embedder saw the same text, computed on a helper thread for MiniLM
/// (so the caller can run its keyword statements meanwhile), else computed
/// here. `finish` waits for it and keeps it in the cache.
pub struct PendingQuery {
    key: QueryKey,
    state: Pending,
}

enum Pending {
    /// Taken from the cache (which `get` already marked as recently used).
    Cached(Rc<Vec<f32>>),
    /// Computed here, to be kept.
    Ready(Rc<Vec<f32>>),
    Running(std::thread::JoinHandle<memory_core::Result<Vec<f32>>>),
}

pub fn start_query(text: &str) -> PendingQuery {
    let embedder = current_name();
    let source = if embedder.starts_with("openai:") {
        gucs::text(&gucs::EMBEDDING_URL).unwrap_or_default()
    } else {
        model_dir().to_string_lossy().into_owned()
    };
    let key = (embedder, source, text.to_string());
    let size = gucs::QUERY_CACHE_SIZE.get().max(0) as usize;
    let hit = QUERIES.with(|c| {
        let mut c = c.borrow_mut();
        c.resize(size);
        c.get(&key)
    });
    if let Some(v) = hit {
        return PendingQuery {
            key,
            state: Pending::Cached(v),
        };
    }
    if key.0 == "minilm" {
        let model = builtin(&key.0);
        let owned = text.to_string();
        if let Some(handle) = spawn_quiet(move || {
            let mut v = model.embed(&[owned.as_str()], &mut || {})?;
            Ok(v.pop().unwrap_or_default())
        }) {
            return PendingQuery {
                key,
                state: Pending::Running(handle),
            };
        }
    }
    let mut e = embed(&[text]);
    PendingQuery {
        key,
        state: Pending::Ready(Rc::new(e.vectors.pop().unwrap_or_default())),
    }
}

impl PendingQuery {
    /// The embedder's name (known before the embedding is).
    pub fn embedder(&self) -> &str {
        &self.key.0
    }

    /// The query's embedding when it is already known (cached, or computed
    /// without a thread).
    pub fn ready(&self) -> Option<Rc<Vec<f32>>> {
        match &self.state {
            Pending::Cached(v) | Pending::Ready(v) => Some(v.clone()),
            Pending::Running(_) => None,
        }
    }

    /// The embedder's name and the query's embedding.
    pub fn finish(self) -> (String, Rc<Vec<f32>>) {
        let v = match self.state {
            Pending::Cached(v) => return (self.key.0, v),
            Pending::Ready(v) => v,
            Pending::Running(handle) => match handle.join() {
                Ok(out) => Rc::new(out.or_raise()),
                Err(_) => pgrx::error!("the query embedding thread stopped unexpectedly"),
            },
        };
        QUERIES.with(|c| c.borrow_mut().put(self.key.clone(), v.clone()));
        (self.key.0, v)
    }
}

/// Run pure-Rust work on a new thread that never receives a signal (the
/// backend's signal handlers must run on its own thread): every signal is
/// blocked while the thread is created, so it starts with all of them
/// blocked, and the backend's mask is restored right after. None when the
/// thread cannot be created (the caller does the work itself).
fn spawn_quiet<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<std::thread::JoinHandle<T>> {
    // SAFETY: sigfillset and pthread_sigmask only write the sigset_t values
    // passed to them, both owned by this frame; the old mask is restored
    // before returning, on the backend's own thread.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        if libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old) != 0 {
            return None;
        }
        let handle = std::thread::Builder::new()
            .name("memory_ext embed".into())
            .spawn(f)
            .ok();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        handle
    }
}

fn openai(model: &str, texts: &[&str]) -> Vec<Vec<f32>> {
    let url = gucs::text(&gucs::EMBEDDING_URL).unwrap_or_default();
    let key = gucs::text(&gucs::EMBEDDING_API_KEY).or_else(|| gucs::text(&gucs::LLM_API_KEY));
    let n = texts.len();
    let reply = Request {
        setting: "memory.embedding_url",
        base_url: &url,
        path: "/embeddings",
        api_key: key.as_deref(),
        body: json!({"model": model, "input": texts}),
        timeout: Duration::from_millis(gucs::LLM_TIMEOUT_MS.get().max(1) as u64),
    }
    .send(|v| parse_embeddings(v, n).map(|_| ()));
    parse_embeddings(&reply, n).unwrap_or_default()
}

/// OpenAI's `{"data": [{"index": i, "embedding": [...]}, ...]}`, in input order,
/// every vector finite and of one length.
fn parse_embeddings(v: &Value, n: usize) -> Result<Vec<Vec<f32>>, String> {
    let data = v["data"].as_array().ok_or("no \"data\" list")?;
    if data.len() != n {
        return Err(format!("{} embeddings for {n} inputs", data.len()));
    }
    let mut out = vec![Vec::new(); n];
    for (pos, item) in data.iter().enumerate() {
        let idx = item["index"].as_u64().map(|i| i as usize).unwrap_or(pos);
        let emb = item["embedding"]
            .as_array()
            .ok_or("an item has no \"embedding\" list")?;
        let vec: Vec<f32> = emb
            .iter()
            .map(|x| x.as_f64().map(|f| f as f32).filter(|f| f.is_finite()))
            .collect::<Option<Vec<f32>>>()
            .ok_or("an embedding holds a value that is not a finite number")?;
        if idx >= n || !out[idx].is_empty() {
            return Err(format!("bad or repeated index {idx}"));
        }
        out[idx] = vec;
    }
    let dims = out[0].len();
    if dims == 0 || dims > memory_core::vector::MAX_DIM || out.iter().any(|v| v.len() != dims) {
        return Err("embeddings are empty, too long, or of different lengths".into());
    }
    Ok(out)
}

/// A statement whose one value is (as jsonb) the embedder of a memory of
/// `clause` (over `m`) with a vector from another embedder than `$n`, or
/// NULL: two probes, each a range of the (user_id, embedder) index that is
/// empty in the usual case, rather than one scan of the scope's entries past
/// a filter; each is ordered along the index, so the planner walks it even
/// when its statistics overrate the range. `extra` narrows the rows (say, to
/// current memories).
pub fn other_embedder_sql(clause: &str, extra: &str, n: usize) -> String {
    let probe = |op: &str, order: &str| {
        format!(
            "(SELECT m.embedder FROM memory.memories m
              WHERE {extra} {clause} AND m.embedding IS NOT NULL AND m.embedder {op} ${n}::text
              ORDER BY m.embedder {order} LIMIT 1)"
        )
    };
    format!(
        "SELECT to_jsonb(coalesce({}, {}))",
        probe("<", "DESC"),
        probe(">", "ASC")
    )
}

/// Refuse to mix embedders in one scope: vectors of different models cannot
/// be compared.
pub fn check_scope_embedder(scope: &Scope, embedder: &str) {
    let mut args = Vec::new();
    let clause = crate::api::scope_sql("m", scope, &mut args);
    args.push(embedder.to_string().into());
    let other =
        crate::plans::one::<pgrx::JsonB>(&other_embedder_sql(&clause, "", args.len()), &args);
    if let Some(pgrx::JsonB(serde_json::Value::String(o))) = other {
        mixed(&o, embedder);
    }
}

pub fn mixed(existing: &str, current: &str) -> ! {
    report(
        PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
        format!("memories in this scope were embedded with \"{existing}\", but memory.embedder is \"{current}\""),
        Some("Vectors of different embedders cannot be compared.".into()),
        Some("Set memory.embedder back, or re-embed the scope with memory.reembed(user_id => ...).".into()),
    )
}

/// The configured embedder's vector for `text`.
#[pg_extern(name = "embed")]
fn embed_sql(text: Option<&str>) -> Option<VectorOut> {
    let text = text?;
    if text.trim().is_empty() {
        report(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "cannot embed empty text",
            None,
            None,
        );
    }
    let mut e = embed(&[text]);
    Some(
        memory_core::vector::check_finite(&e.vectors[0], "vector")
            .map(|_| crate::types::varvec::VecOut(e.vectors.remove(0)))
            .or_raise(),
    )
}

/// The name of the configured embedder, as recorded with each memory.
#[pg_extern]
fn embedder() -> String {
    current_name()
}
