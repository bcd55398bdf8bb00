//! The one error type of MLAS and its stable kinds.

use std::fmt;

/// What went wrong, in a form that bindings map to their own error types.
///
/// The set of kinds is stable: a binding maps each kind in exactly one place,
/// and a new kind is a new variant here, never a catch-all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input was malformed or broke a rule; nothing was changed.
    Validation,
    /// The object does not exist in this tenant.
    NotFound,
    /// The request disagrees with what is already stored under the same key.
    Conflict,
    /// The object's current status does not allow the requested transition.
    IllegalTransition,
    /// The storage backend failed.
    Storage,
    /// The payout provider failed.
    Provider,
    /// Stored data failed an integrity check (for example a broken audit chain).
    Integrity,
}

impl ErrorKind {
    /// Every kind, for bindings that must prove each one maps somewhere.
    pub const ALL: [ErrorKind; 7] = [
        ErrorKind::Validation,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::IllegalTransition,
        ErrorKind::Storage,
        ErrorKind::Provider,
        ErrorKind::Integrity,
    ];

    /// A short lower-case name, stable across versions (`"not_found"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Validation => "validation",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::IllegalTransition => "illegal_transition",
            ErrorKind::Storage => "storage",
            ErrorKind::Provider => "provider",
            ErrorKind::Integrity => "integrity",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An MLAS error. Messages are lower-case, name the offending value, and never
/// contain a secret such as a full account number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input field was invalid.
    #[error("invalid {field}: {message}")]
    Validation {
        /// The input field, in the domain's words (`"email"`, `"amount"`).
        field: String,
        /// What was wrong with it, naming the value where that is not a secret.
        message: String,
    },

    /// No object of this type and id exists in the tenant.
    #[error("{resource} not found: {id}")]
    NotFound {
        /// The resource type (`"affiliate"`, `"commission"`, ...).
        resource: &'static str,
        /// The id that was asked for.
        id: String,
    },

    /// The request conflicts with stored state under the same key.
    #[error("conflict on {resource} {id}: {message}")]
    Conflict {
        /// The resource type.
        resource: &'static str,
        /// Its id or idempotency key.
        id: String,
        /// How the request differs from what is stored.
        message: String,
    },

    /// A status transition that the lifecycle does not allow.
    #[error("illegal transition of {resource} {id}: cannot {action} when {from}")]
    IllegalTransition {
        /// The resource type.
        resource: &'static str,
        /// Its id.
        id: String,
        /// Its current status.
        from: String,
        /// What was asked (`"approve"`, `"dispute"`, ...).
        action: &'static str,
    },

    /// The storage backend failed. `retryable` says whether the same call may
    /// succeed if made again (a busy database, a serialization failure).
    #[error("storage error: {message}")]
    Storage {
        /// The backend's description, with no secrets.
        message: String,
        /// Whether trying again can help.
        retryable: bool,
    },

    /// The payout provider failed.
    #[error("provider error: {message}")]
    Provider {
        /// The provider's description.
        message: String,
    },

    /// Stored data failed an integrity check.
    #[error("integrity error: {message}")]
    Integrity {
        /// What was found broken, and where.
        message: String,
    },
}

impl Error {
    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Validation { .. } => ErrorKind::Validation,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Conflict { .. } => ErrorKind::Conflict,
            Error::IllegalTransition { .. } => ErrorKind::IllegalTransition,
            Error::Storage { .. } => ErrorKind::Storage,
            Error::Provider { .. } => ErrorKind::Provider,
            Error::Integrity { .. } => ErrorKind::Integrity,
        }
    }

    /// A validation error on `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A not-found error for `resource` with `id`.
    pub fn not_found(resource: &'static str, id: impl fmt::Display) -> Self {
        Error::NotFound {
            resource,
            id: id.to_string(),
        }
    }

    /// A conflict on `resource` `id`.
    pub fn conflict(
        resource: &'static str,
        id: impl fmt::Display,
        message: impl Into<String>,
    ) -> Self {
        Error::Conflict {
            resource,
            id: id.to_string(),
            message: message.into(),
        }
    }

    /// A storage error that retrying will not fix.
    pub fn storage(message: impl Into<String>) -> Self {
        Error::Storage {
            message: message.into(),
            retryable: false,
        }
    }

    /// An integrity error.
    pub fn integrity(message: impl Into<String>) -> Self {
        Error::Integrity {
            message: message.into(),
        }
    }

    /// Whether the backend says the same call may succeed if made again.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Storage {
                retryable: true,
                ..
            }
        )
    }
}

/// The result type of MLAS.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_distinct_names() {
        let mut names: Vec<_> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorKind::ALL.len());
    }
}
