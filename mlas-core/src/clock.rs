//! Time: an injectable clock, and the one precision MLAS keeps (microseconds, UTC).

use std::sync::Mutex;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

/// A source of the current time. The engine reads time only through this, so a
/// host (or a test) can fix it.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until moved; for tests and examples.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<DateTime<Utc>>,
}

impl FixedClock {
    /// A clock showing `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        FixedClock {
            now: Mutex::new(micros(now)),
        }
    }

    /// Sets the time.
    pub fn set(&self, now: DateTime<Utc>) {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = micros(now);
    }

    /// Moves the time forward by `by`.
    pub fn advance(&self, by: TimeDelta) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Truncates to whole microseconds, the precision every backend stores.
pub fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// RFC 3339 in UTC with exactly six fractional digits and a `Z`, the form used in
/// audit payloads and exports: `2026-02-06T00:00:00.000000Z`.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(27);
    push_rfc3339(&mut out, t);
    out
}

/// Appends [`rfc3339`]'s form of `t` to `out`, without going through
/// `strftime`-style formatting (written once per audit record and hashed).
pub fn push_rfc3339(out: &mut String, t: DateTime<Utc>) {
    use chrono::{Datelike, Timelike};
    let year = t.year();
    if !(0..=9999).contains(&year) {
        // Outside four digits chrono's `%Y` adds a sign; keep its exact form.
        use std::fmt::Write as _;
        let _ = write!(out, "{}", t.format("%Y-%m-%dT%H:%M:%S%.6fZ"));
        return;
    }
    // `%.6f` truncates the nanoseconds (a leap second shows as 60.xxxxxx in
    // chrono's `%S` only through `nanosecond() >= 1e9`; keep that too).
    let nanos = t.nanosecond();
    let (second, nanos) = if nanos >= 1_000_000_000 {
        (t.second() + 1, nanos - 1_000_000_000)
    } else {
        (t.second(), nanos)
    };
    let mut buf = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year as u32);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, second);
    put(20, 6, nanos / 1_000);
    // Only ASCII digits and punctuation were written.
    out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
}

/// Microseconds since the Unix epoch.
pub fn to_micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// The time `us` microseconds after the Unix epoch, if representable.
pub fn from_micros(us: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;

    fn reference(t: DateTime<Utc>) -> String {
        t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    }

    #[test]
    fn rfc3339_matches_chrono_formatting() {
        let mut times = vec![
            Utc.with_ymd_and_hms(2026, 2, 6, 9, 30, 0).unwrap(),
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()
                + TimeDelta::nanoseconds(999_999_999),
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 6, 1, 0, 0, 0).unwrap(),
            // A leap second.
            NaiveDate::from_ymd_opt(2016, 12, 31)
                .unwrap()
                .and_hms_nano_opt(23, 59, 59, 1_250_000_999)
                .unwrap()
                .and_utc(),
        ];
        let mut t = Utc.with_ymd_and_hms(1999, 12, 31, 23, 0, 0).unwrap();
        for i in 0..2_000_i64 {
            t += TimeDelta::nanoseconds(i * 7_777_777_777_777 + 123_457);
            times.push(t);
        }
        for t in times {
            assert_eq!(rfc3339(t), reference(t), "{t:?}");
        }
    }
}
