//! API 3.0 errors: `{"Response":{"Error":{"Code","Message"},"RequestId"}}`, always HTTP 200.

use onramp_core::validate::Invalid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcError {
    pub code: String,
    pub message: String,
}

impl TcError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
    pub fn missing(field: &str) -> Self {
        Self::new(
            "MissingParameter",
            format!("The parameter `{field}` is required."),
        )
    }
    pub fn unknown_param(field: &str) -> Self {
        Self::new(
            "UnknownParameter",
            format!("The parameter `{field}` is not recognized."),
        )
    }
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            "InvalidParameter",
            format!("The parameter `{field}` is invalid: {why}."),
        )
    }
    pub fn value(field: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            "InvalidParameterValue",
            format!("The value of `{field}` is invalid: {why}."),
        )
    }
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new("ResourceNotFound", format!("{what}({id}) Not Exist."))
    }
    pub fn conflict(a: &str, b: &str) -> Self {
        Self::new(
            "InvalidParameter.ConflictParameters",
            format!("The parameters `{a}` and `{b}` cannot be used together."),
        )
    }
    pub fn failed(code: &str, message: impl Into<String>) -> Self {
        Self::new(code, message)
    }
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new("InternalError", format!("Internal error: {message}"))
    }
}

impl From<Invalid> for TcError {
    fn from(e: Invalid) -> Self {
        TcError::value(&e.field, e.reason)
    }
}

pub type TcResult<T> = Result<T, TcError>;
