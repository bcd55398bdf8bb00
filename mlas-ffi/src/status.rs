//! Status codes: the `int32_t` every exported function returns.
//!
//! The values are explicit and never reused. A retired code stays here as a
//! comment so that nobody hands its number to something else.
//!
//! - `0` is success.
//! - `1..=99` are the core's error kinds, one each ([`status_of`] is the one
//!   mapping).
//! - `100..=199` are errors of the C boundary itself.

use mlas_core::ErrorKind;

/// The type of every status code returned by libmlas.
#[allow(non_camel_case_types)]
pub type mlas_status = i32;

/// Success. Out-parameters were written.
pub const MLAS_OK: mlas_status = 0;
/// The input was malformed or broke a rule (a bad decimal, an unknown
/// currency, a JSON document that does not match the documented schema, an
/// id with a space, ...). Nothing was changed.
pub const MLAS_ERR_VALIDATION: mlas_status = 1;
/// The object does not exist in this tenant (another tenant's object answers
/// the same).
pub const MLAS_ERR_NOT_FOUND: mlas_status = 2;
/// The request disagrees with what is already stored under the same id or
/// idempotency key.
pub const MLAS_ERR_CONFLICT: mlas_status = 3;
/// The object's current status does not allow the requested transition.
pub const MLAS_ERR_ILLEGAL_TRANSITION: mlas_status = 4;
/// The storage backend failed.
pub const MLAS_ERR_STORAGE: mlas_status = 5;
/// The payout provider failed.
pub const MLAS_ERR_PROVIDER: mlas_status = 6;
/// Stored data failed an integrity check (for example a broken audit chain).
pub const MLAS_ERR_INTEGRITY: mlas_status = 7;
/// A required pointer argument was NULL.
pub const MLAS_ERR_NULL_POINTER: mlas_status = 100;
/// A string argument was not valid UTF-8.
pub const MLAS_ERR_INVALID_UTF8: mlas_status = 101;
/// A JSON argument was not syntactically valid JSON. (A well-formed document
/// with a wrong shape is `MLAS_ERR_VALIDATION`.)
pub const MLAS_ERR_INVALID_JSON: mlas_status = 102;
/// A panic was caught at the boundary, or an internal invariant failed. This
/// is a bug in libmlas; the engine is still usable.
pub const MLAS_ERR_INTERNAL: mlas_status = 103;
/// An integer argument was out of range (an enum value that does not exist, a
/// length above `PTRDIFF_MAX`, a time outside the representable range).
pub const MLAS_ERR_INVALID_ARGUMENT: mlas_status = 104;
/// The operation is not available for this handle or in this process: a
/// backup of an in-memory engine, a log callback when another `tracing`
/// subscriber already owns the process. Nothing was changed.
pub const MLAS_ERR_UNSUPPORTED: mlas_status = 105;

/// Every status, with its name. The Rust tests and `mlas_status_name` use it.
pub(crate) const ALL: [(mlas_status, &str); 14] = [
    (MLAS_OK, "MLAS_OK"),
    (MLAS_ERR_VALIDATION, "MLAS_ERR_VALIDATION"),
    (MLAS_ERR_NOT_FOUND, "MLAS_ERR_NOT_FOUND"),
    (MLAS_ERR_CONFLICT, "MLAS_ERR_CONFLICT"),
    (MLAS_ERR_ILLEGAL_TRANSITION, "MLAS_ERR_ILLEGAL_TRANSITION"),
    (MLAS_ERR_STORAGE, "MLAS_ERR_STORAGE"),
    (MLAS_ERR_PROVIDER, "MLAS_ERR_PROVIDER"),
    (MLAS_ERR_INTEGRITY, "MLAS_ERR_INTEGRITY"),
    (MLAS_ERR_NULL_POINTER, "MLAS_ERR_NULL_POINTER"),
    (MLAS_ERR_INVALID_UTF8, "MLAS_ERR_INVALID_UTF8"),
    (MLAS_ERR_INVALID_JSON, "MLAS_ERR_INVALID_JSON"),
    (MLAS_ERR_INTERNAL, "MLAS_ERR_INTERNAL"),
    (MLAS_ERR_INVALID_ARGUMENT, "MLAS_ERR_INVALID_ARGUMENT"),
    (MLAS_ERR_UNSUPPORTED, "MLAS_ERR_UNSUPPORTED"),
];

// Compile-time checks that the published values are exactly these numbers:
// changing one is an ABI break, so it must fail the build, not slip through.
const _: () = {
    assert!(MLAS_OK == 0);
    assert!(MLAS_ERR_VALIDATION == 1);
    assert!(MLAS_ERR_NOT_FOUND == 2);
    assert!(MLAS_ERR_CONFLICT == 3);
    assert!(MLAS_ERR_ILLEGAL_TRANSITION == 4);
    assert!(MLAS_ERR_STORAGE == 5);
    assert!(MLAS_ERR_PROVIDER == 6);
    assert!(MLAS_ERR_INTEGRITY == 7);
    assert!(MLAS_ERR_NULL_POINTER == 100);
    assert!(MLAS_ERR_INVALID_UTF8 == 101);
    assert!(MLAS_ERR_INVALID_JSON == 102);
    assert!(MLAS_ERR_INTERNAL == 103);
    assert!(MLAS_ERR_INVALID_ARGUMENT == 104);
    assert!(MLAS_ERR_UNSUPPORTED == 105);
    // No two statuses share a value.
    let mut i = 0;
    while i < ALL.len() {
        let mut j = i + 1;
        while j < ALL.len() {
            assert!(ALL[i].0 != ALL[j].0);
            j += 1;
        }
        i += 1;
    }
};

/// The status for a core error kind: the one place where kinds are mapped.
///
/// The match has no catch-all arm on purpose: `ErrorKind` is
/// `#[non_exhaustive]` for other crates, so a new kind lands in the
/// `MLAS_ERR_INTERNAL` arm below until it gets its own code, and the test
/// `every_kind_maps_to_a_distinct_status` fails until then.
pub(crate) fn status_of(kind: ErrorKind) -> mlas_status {
    match kind {
        ErrorKind::Validation => MLAS_ERR_VALIDATION,
        ErrorKind::NotFound => MLAS_ERR_NOT_FOUND,
        ErrorKind::Conflict => MLAS_ERR_CONFLICT,
        ErrorKind::IllegalTransition => MLAS_ERR_ILLEGAL_TRANSITION,
        ErrorKind::Storage => MLAS_ERR_STORAGE,
        ErrorKind::Provider => MLAS_ERR_PROVIDER,
        ErrorKind::Integrity => MLAS_ERR_INTEGRITY,
        // TODO(#7): a kind added to mlas-core needs its own status here.
        _ => MLAS_ERR_INTERNAL,
    }
}

/// The name of a status (`"MLAS_ERR_NOT_FOUND"`), or `None` for an unknown value.
pub(crate) fn name_of(status: mlas_status) -> Option<&'static str> {
    ALL.iter().find(|(s, _)| *s == status).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_to_a_distinct_status() {
        let mut seen = Vec::new();
        for kind in ErrorKind::ALL {
            let status = status_of(kind);
            assert_ne!(status, MLAS_OK, "{kind} maps to success");
            assert_ne!(status, MLAS_ERR_INTERNAL, "{kind} has no status of its own");
            assert!((1..100).contains(&status), "{kind} is outside 1..=99");
            assert!(!seen.contains(&status), "{kind} shares status {status}");
            seen.push(status);
        }
    }

    #[test]
    fn every_status_has_a_distinct_name() {
        let mut names: Vec<_> = ALL.iter().map(|(_, n)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert_eq!(name_of(MLAS_ERR_CONFLICT), Some("MLAS_ERR_CONFLICT"));
        assert_eq!(name_of(-1), None);
    }
}
