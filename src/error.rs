//! Turning errors into PostgreSQL error reports with a SQLSTATE, a detail and a
//! hint. Nothing in the extension panics on bad input; everything ends here.

use memory_core::{Error, Kind};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};

fn code(kind: Kind) -> PgSqlErrorCode {
    match kind {
        Kind::InvalidText => PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
        Kind::InvalidParameter => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        Kind::DataException => PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
        Kind::OutOfRange => PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
        Kind::LimitExceeded => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
    }
}

/// Raise `e` as an ERROR; never returns.
#[track_caller]
pub fn raise(e: Error) -> ! {
    report(code(e.kind), e.message, e.detail, e.hint)
}

/// Raise an ERROR with an explicit SQLSTATE.
#[track_caller]
pub fn report(
    code: PgSqlErrorCode,
    message: impl Into<String>,
    detail: Option<String>,
    hint: Option<String>,
) -> ! {
    let mut r = ErrorReport::new(code, message.into(), "memory_ext");
    if let Some(d) = detail {
        r = r.set_detail(d);
    }
    if let Some(h) = hint {
        r = r.set_hint(h);
    }
    r.report(PgLogLevel::ERROR);
    unreachable!("ERROR reports do not return")
}

/// Unwrap a core result or raise its error.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for memory_core::Result<T> {
    #[track_caller]
    fn or_raise(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => raise(e),
        }
    }
}

impl<T> OrRaise<T> for Result<T, pgrx::spi::SpiError> {
    #[track_caller]
    fn or_raise(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => report(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                format!("memory_ext: SPI failed: {e}"),
                None,
                None,
            ),
        }
    }
}
