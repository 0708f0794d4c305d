//! The memory browser (`/ui/`): a static page, its script and its style,
//! compiled into the binary. The page talks only to the REST endpoints,
//! with the key the user types in (kept in the tab's session storage); the
//! service serves the files and nothing else, so no key or memory text
//! ever passes through here.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::ApiError;

const INDEX: &str = include_str!("../ui/index.html");
const SCRIPT: &str = include_str!("../ui/app.js");
const STYLE: &str = include_str!("../ui/style.css");

/// Scripts and styles only from this origin (no inline script, so text
/// that reaches the page as HTML could not run), requests only to this
/// origin, no framing, no referrer.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

fn file(body: &'static str, content_type: &'static str) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

pub async fn redirect() -> Redirect {
    Redirect::permanent("/ui/")
}

pub async fn index() -> Response {
    file(INDEX, "text/html; charset=utf-8")
}

pub async fn asset(Path(name): Path<String>) -> Response {
    match name.as_str() {
        "app.js" => file(SCRIPT, "text/javascript; charset=utf-8"),
        "style.css" => file(STYLE, "text/css; charset=utf-8"),
        "index.html" => file(INDEX, "text/html; charset=utf-8"),
        _ => ApiError::not_found("Not found.").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_loads_only_its_own_files() {
        // The page names its script and style by relative path, and has no
        // inline script or handler (the CSP would block them).
        assert!(INDEX.contains("src=\"app.js\""));
        assert!(INDEX.contains("href=\"style.css\""));
        assert!(!INDEX.contains("<script>"));
        assert!(!INDEX.contains(" onclick="));
        // The script never builds markup from strings.
        assert!(!SCRIPT.contains("innerHTML"));
        assert!(!SCRIPT.contains("insertAdjacentHTML"));
        assert!(!SCRIPT.contains("document.write"));
        // The key lives in session storage only.
        assert!(!SCRIPT.contains("localStorage"));
    }
}
