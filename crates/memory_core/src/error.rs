//! Errors of the pure modules. Each carries the class a user needs (mapped to a
//! SQLSTATE by the Postgres glue), a message, and optionally a detail and a hint.

use std::fmt;

/// What went wrong, in the terms of the SQL contract (design §5a "SQLSTATEs").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 22P02: malformed text (vector literal, JSON, uuid).
    InvalidText,
    /// 22023: an argument or option that is not allowed.
    InvalidParameter,
    /// 22000: vector dimension mismatch, NaN or infinity.
    DataException,
    /// 22003: a number outside the range of its type.
    OutOfRange,
    /// 54000: input over a documented limit.
    LimitExceeded,
}

impl Kind {
    /// The five-character SQLSTATE of this kind.
    pub fn sqlstate(self) -> &'static str {
        match self {
            Kind::InvalidText => "22P02",
            Kind::InvalidParameter => "22023",
            Kind::DataException => "22000",
            Kind::OutOfRange => "22003",
            Kind::LimitExceeded => "54000",
        }
    }
}

/// An error with everything a good PostgreSQL error report has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            detail: None,
            hint: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Error::new(Kind::InvalidParameter, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
