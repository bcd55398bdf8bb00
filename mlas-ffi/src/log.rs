//! The log callback: forwards the `tracing` events of libmlas to a C function
//! that the host installs with `mlas_log_set_callback`.
//!
//! The library itself never installs a subscriber. The first call to
//! `mlas_log_set_callback` with a callback makes [`Forwarder`] the process's
//! global `tracing` subscriber (once per process; `tracing` allows no more);
//! later calls only swap the callback and its level, and a NULL callback turns
//! forwarding off while the subscriber stays in place, idle.

use std::cell::Cell;
use std::ffi::{c_char, c_void};
use std::fmt::{self, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{OnceLock, PoisonError, RwLock};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber, span};

use crate::boundary::{Failure, call};
use crate::status::{MLAS_ERR_UNSUPPORTED, mlas_status};

/// Log level: an operation failed in a way an operator must see.
pub const MLAS_LOG_ERROR: i32 = 1;
/// Log level: something unusual that libmlas handled (a payout whose outcome
/// is unknown, a failed payout).
pub const MLAS_LOG_WARN: i32 = 2;
/// Log level: the milestones of an operation (a batch scheduled, a payout paid).
pub const MLAS_LOG_INFO: i32 = 3;
/// Log level: details for developers (a sale recorded, a busy database retried).
pub const MLAS_LOG_DEBUG: i32 = 4;
/// Log level: everything, including details that may be sensitive.
pub const MLAS_LOG_TRACE: i32 = 5;

const _: () = {
    assert!(MLAS_LOG_ERROR == 1);
    assert!(MLAS_LOG_WARN == 2);
    assert!(MLAS_LOG_INFO == 3);
    assert!(MLAS_LOG_DEBUG == 4);
    assert!(MLAS_LOG_TRACE == 5);
};

/// Receives one log event of libmlas.
///
/// `level` is one of `MLAS_LOG_ERROR` .. `MLAS_LOG_TRACE`. `target` (the Rust
/// module that emitted the event, such as `mlas_core::engine::payouts`) and
/// `message` (the message followed by its fields as ` key=value`) are UTF-8,
/// given as pointer + length, not NUL-terminated (print them with `%.*s`),
/// and valid only during the call: copy what you keep.
///
/// The callback may be called from any thread that calls into libmlas, from
/// several threads at once, while that call runs: it must be thread-safe. It
/// must return normally (no `longjmp`, no C++ exception) and should be quick:
/// the call that logs waits for it, and may hold an engine's write lock
/// meanwhile. So the callback must not call libmlas functions that take an
/// engine (that could deadlock); `mlas_status_name` and `mlas_version` are
/// fine. Events emitted on a thread while it runs the callback are dropped
/// rather than forwarded again.
#[allow(non_camel_case_types)]
pub type mlas_log_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        level: i32,
        target: *const c_char,
        target_len: usize,
        message: *const c_char,
        message_len: usize,
    ),
>;

/// The installed callback, its user data and the most verbose level it gets.
#[derive(Clone, Copy)]
struct Sink {
    callback: unsafe extern "C" fn(*mut c_void, i32, *const c_char, usize, *const c_char, usize),
    user_data: *mut c_void,
    max_level: Level,
}

// SAFETY: the sink is only a function pointer and the host's opaque pointer,
// which libmlas never dereferences; `mlas_log_set_callback` documents that
// the callback (and so its use of `user_data`) must be thread-safe.
unsafe impl Send for Sink {}
// SAFETY: as above.
unsafe impl Sync for Sink {}

/// The current sink; `None` when forwarding is off.
static SINK: RwLock<Option<Sink>> = RwLock::new(None);

/// Whether [`Forwarder`] is the process's global subscriber: decided once.
static INSTALLED: OnceLock<bool> = OnceLock::new();

thread_local! {
    /// Set while this thread runs the callback, so that events emitted from
    /// inside it are dropped instead of recursing.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

fn current_sink() -> Option<Sink> {
    *SINK.read().unwrap_or_else(PoisonError::into_inner)
}

fn level_of(value: i32) -> Option<Level> {
    match value {
        MLAS_LOG_ERROR => Some(Level::ERROR),
        MLAS_LOG_WARN => Some(Level::WARN),
        MLAS_LOG_INFO => Some(Level::INFO),
        MLAS_LOG_DEBUG => Some(Level::DEBUG),
        MLAS_LOG_TRACE => Some(Level::TRACE),
        _ => None,
    }
}

fn value_of(level: Level) -> i32 {
    match level {
        Level::ERROR => MLAS_LOG_ERROR,
        Level::WARN => MLAS_LOG_WARN,
        Level::INFO => MLAS_LOG_INFO,
        Level::DEBUG => MLAS_LOG_DEBUG,
        Level::TRACE => MLAS_LOG_TRACE,
    }
}

/// The `tracing` subscriber that forwards events to the sink. Spans are
/// not forwarded (libmlas opens none); events are, as one line each.
struct Forwarder;

impl Subscriber for Forwarder {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.is_span() {
            Interest::never()
        } else {
            // The sink changes at run time: ask `enabled` every time.
            Interest::sometimes()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event()
            && current_sink().is_some_and(|sink| *metadata.level() <= sink.max_level)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        // Cached by `tracing`; `mlas_log_set_callback` rebuilds the cache.
        Some(current_sink().map_or(LevelFilter::OFF, |sink| {
            LevelFilter::from_level(sink.max_level)
        }))
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        // Logging must never fail the operation that logs, nor unwind into C
        // (a field's `Display` could panic): a panic here drops the event.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| forward(event))) {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
        }
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

/// Formats an event and hands it to the sink, unless forwarding is off, the
/// level is too verbose, or this thread is already inside the callback.
fn forward(event: &Event<'_>) {
    let Some(sink) = current_sink() else {
        return;
    };
    let metadata = event.metadata();
    if *metadata.level() > sink.max_level || IN_CALLBACK.with(Cell::get) {
        return;
    }

    let mut line = Line::default();
    event.record(&mut line);
    let message = line.finish();
    let target = metadata.target();

    IN_CALLBACK.with(|flag| flag.set(true));
    // SAFETY: the host installed this function for this signature; both
    // strings are valid for their lengths during the call, as documented.
    unsafe {
        (sink.callback)(
            sink.user_data,
            value_of(*metadata.level()),
            target.as_ptr().cast(),
            target.len(),
            message.as_ptr().cast(),
            message.len(),
        );
    }
    IN_CALLBACK.with(|flag| flag.set(false));
}

/// Collects an event's message and fields into one line:
/// `payout paid payout=pay_01... amount=10.00 USD`.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Line {
    fn finish(self) -> String {
        let mut line = self.message;
        if line.is_empty() {
            line = self.fields.trim_start().to_owned();
        } else {
            line.push_str(&self.fields);
        }
        line
    }
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

/// Installs [`Forwarder`] as the global subscriber, once per process.
/// `false` when something else installed a global subscriber first.
fn install() -> bool {
    *INSTALLED.get_or_init(|| tracing::subscriber::set_global_default(Forwarder).is_ok())
}

/// Forwards libmlas's log events to `callback` (see `mlas_log_fn` for what it
/// receives and must do), or turns forwarding off when `callback` is NULL.
///
/// libmlas logs nothing anywhere until a host calls this: it never prints,
/// never reads environment variables, and installs no logger of its own.
/// Events at `max_level` and more severe ones are forwarded:
/// `MLAS_LOG_ERROR` (1), `MLAS_LOG_WARN` (2), `MLAS_LOG_INFO` (3),
/// `MLAS_LOG_DEBUG` (4) or `MLAS_LOG_TRACE` (5). Nothing above
/// `MLAS_LOG_TRACE` holds a secret (full account numbers never appear), but
/// events carry ids, amounts, and failure reasons as your payout provider
/// gave them.
///
/// The first call with a callback installs libmlas's forwarder as the
/// process's global `tracing` subscriber, once per process; later calls
/// replace the callback, its `user_data` and its level, and may come from any
/// thread. `user_data` is passed to the callback unchanged and never
/// dereferenced by libmlas. After a call that replaces or removes a callback,
/// events already being forwarded on other threads may still reach the old
/// one: keep its `user_data` valid until the calls into libmlas running at
/// that time have returned.
///
/// Fails with `MLAS_ERR_INVALID_ARGUMENT` for a `max_level` outside 1..=5
/// (ignored when `callback` is NULL), and with `MLAS_ERR_UNSUPPORTED` when
/// another `tracing` subscriber already owns the process (a Rust host that
/// installed its own); nothing changes then.
///
/// # Safety
/// `callback` is NULL or a function of the `mlas_log_fn` signature that
/// stays callable while it is installed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_log_set_callback(
    callback: mlas_log_fn,
    user_data: *mut c_void,
    max_level: i32,
) -> mlas_status {
    call(|| {
        let sink = match callback {
            None => None,
            Some(callback) => {
                let max_level = level_of(max_level).ok_or_else(|| {
                    Failure::argument(format!(
                        "max_level {max_level} is not an MLAS_LOG_* value (1 to 5)"
                    ))
                })?;
                if !install() {
                    return Err(Failure::new(
                        MLAS_ERR_UNSUPPORTED,
                        "another tracing subscriber already owns this process; \
                         libmlas cannot forward its events",
                    ));
                }
                Some(Sink {
                    callback,
                    user_data,
                    max_level,
                })
            }
        };
        *SINK.write().unwrap_or_else(PoisonError::into_inner) = sink;
        // `tracing` caches the most verbose level any subscriber wants.
        tracing::callsite::rebuild_interest_cache();
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Mutex;

    use super::*;
    use crate::status::{MLAS_ERR_INVALID_ARGUMENT, MLAS_OK};

    /// The sink is per process: the tests that install one take turns.
    pub(crate) static LOG_TESTS: Mutex<()> = Mutex::new(());

    /// What the test callback received: level, target, message.
    static RECEIVED: Mutex<Vec<(i32, String, String)>> = Mutex::new(Vec::new());

    unsafe extern "C" fn collect(
        user_data: *mut c_void,
        level: i32,
        target: *const c_char,
        target_len: usize,
        message: *const c_char,
        message_len: usize,
    ) {
        assert_eq!(user_data as usize, 42, "user_data passed unchanged");
        // SAFETY: libmlas passes UTF-8 strings of these lengths.
        let (target, message) = unsafe {
            (
                std::slice::from_raw_parts(target.cast::<u8>(), target_len),
                std::slice::from_raw_parts(message.cast::<u8>(), message_len),
            )
        };
        RECEIVED.lock().unwrap().push((
            level,
            String::from_utf8(target.to_vec()).unwrap(),
            String::from_utf8(message.to_vec()).unwrap(),
        ));
    }

    fn set(level: i32) -> mlas_status {
        // SAFETY: `collect` has the right signature; 42 is never dereferenced.
        unsafe { mlas_log_set_callback(Some(collect), 42 as *mut c_void, level) }
    }

    fn off() {
        // SAFETY: NULL turns forwarding off.
        assert_eq!(
            unsafe { mlas_log_set_callback(None, std::ptr::null_mut(), 0) },
            MLAS_OK
        );
    }

    /// The messages received from the test's own target.
    fn received(tag: &str) -> Vec<(i32, String)> {
        RECEIVED
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, target, message)| target == "mlas_ffi_test" && message.contains(tag))
            .map(|(level, _, message)| (*level, message.clone()))
            .collect()
    }

    #[test]
    fn events_reach_the_callback_at_and_above_its_level_until_it_is_removed() {
        let _turn = LOG_TESTS.lock().unwrap_or_else(PoisonError::into_inner);

        assert_eq!(set(MLAS_LOG_INFO), MLAS_OK);
        tracing::error!(target: "mlas_ffi_test", run = "a", "one");
        tracing::info!(target: "mlas_ffi_test", run = "a", amount = %"10.00 USD", "two");
        tracing::debug!(target: "mlas_ffi_test", run = "a", "three");
        assert_eq!(
            received("run=a"),
            vec![
                (MLAS_LOG_ERROR, "one run=a".to_owned()),
                (MLAS_LOG_INFO, "two run=a amount=10.00 USD".to_owned()),
            ]
        );

        assert_eq!(set(MLAS_LOG_TRACE), MLAS_OK);
        tracing::trace!(target: "mlas_ffi_test", run = "b", "four");
        assert_eq!(
            received("run=b"),
            vec![(MLAS_LOG_TRACE, "four run=b".to_owned())]
        );

        off();
        tracing::error!(target: "mlas_ffi_test", run = "c", "five");
        assert!(received("run=c").is_empty());
    }

    #[test]
    fn the_core_s_events_are_forwarded_with_their_target() {
        let _turn = LOG_TESTS.lock().unwrap_or_else(PoisonError::into_inner);
        let engine = mlas_core::Engine::in_memory();
        let scope = mlas_core::Scope::new("org-log", "rust-tests").unwrap();

        assert_eq!(set(MLAS_LOG_DEBUG), MLAS_OK);
        let mut new = mlas_core::NewAffiliate::new("Ann", "ann@example.com", 10.into());
        new.id = Some(mlas_core::AffiliateId::new("aff-log-1").unwrap());
        engine.create_affiliate(&scope, new).unwrap();
        off();

        let got = RECEIVED.lock().unwrap().clone();
        assert!(
            got.iter()
                .any(|(level, target, message)| *level == MLAS_LOG_DEBUG
                    && target.starts_with("mlas_core")
                    && message.contains("affiliate created")
                    && message.contains("aff-log-1")),
            "{got:?}"
        );
    }

    #[test]
    fn a_panic_while_formatting_an_event_is_contained() {
        struct Explodes;
        impl fmt::Display for Explodes {
            fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                panic!("a field that cannot be shown");
            }
        }

        let _turn = LOG_TESTS.lock().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(set(MLAS_LOG_TRACE), MLAS_OK);
        // Returns normally: the event is dropped, nothing unwinds.
        tracing::error!(target: "mlas_ffi_test", run = "d", value = %Explodes, "six");
        tracing::error!(target: "mlas_ffi_test", run = "e", "seven");
        off();
        assert!(received("run=d").is_empty());
        assert_eq!(received("run=e").len(), 1, "forwarding goes on");
    }

    #[test]
    fn an_unknown_level_is_refused_and_changes_nothing() {
        let _turn = LOG_TESTS.lock().unwrap_or_else(PoisonError::into_inner);
        for level in [0, 6, -1, i32::MAX] {
            assert_eq!(set(level), MLAS_ERR_INVALID_ARGUMENT);
        }
        tracing::error!(target: "mlas_ffi_test", run = "f", "eight");
        assert!(received("run=f").is_empty());
        // NULL ignores the level.
        // SAFETY: NULL turns forwarding off.
        assert_eq!(
            unsafe { mlas_log_set_callback(None, std::ptr::null_mut(), 99) },
            MLAS_OK
        );
    }
}
