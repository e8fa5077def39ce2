//! Durations as people read them, in one format everywhere (lists, the DR view, findings, the
//! AZ-loss view): the larger unit, and the next one while the larger is under ten — `45s`,
//! `1m30s`, `12m`, `1h30m`, `26h`, `4d`. Ninety minutes reads `1h30m` wherever it is shown.

use chrono::{DateTime, Utc};

/// `seconds` as people read them.
pub fn seconds(seconds: u64) -> String {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    let two = |big: u64, unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big}{unit}")
        } else {
            format!("{big}{unit}{small}{small_unit}")
        }
    };
    match seconds {
        s if s < MINUTE => format!("{s}s"),
        s if s < 10 * MINUTE => two(s / MINUTE, "m", s % MINUTE, "s"),
        s if s < HOUR => format!("{}m", s / MINUTE),
        s if s < 10 * HOUR => two(s / HOUR, "h", s % HOUR / MINUTE, "m"),
        s if s < 2 * DAY => format!("{}h", s / HOUR),
        s => format!("{}d", s / DAY),
    }
}

/// Minutes as people read them (a negative count reads as none).
pub fn minutes(minutes: i64) -> String {
    seconds(u64::try_from(minutes).unwrap_or(0).saturating_mul(60))
}

/// The time from `then` to `now` (none when `then` is later).
pub fn between(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    seconds(u64::try_from((now - then).num_seconds()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ninety_minutes_reads_the_same_whichever_unit_it_comes_in() {
        assert_eq!(seconds(90 * 60), "1h30m");
        assert_eq!(minutes(90), "1h30m");
        let now = Utc::now();
        assert_eq!(between(now - chrono::Duration::minutes(90), now), "1h30m");
    }

    #[test]
    fn each_range_has_its_units() {
        for (s, text) in [
            (0, "0s"),
            (45, "45s"),
            (90, "1m30s"),
            (120, "2m"),
            (12 * 60 + 5, "12m"),
            (3600, "1h"),
            (5 * 3600, "5h"),
            (26 * 3600 + 59, "26h"),
            (4 * 86_400 + 3600, "4d"),
        ] {
            assert_eq!(seconds(s), text, "{s} s");
        }
        assert_eq!(minutes(-5), "0s");
        let now = Utc::now();
        assert_eq!(between(now + chrono::Duration::hours(1), now), "0s");
    }
}
