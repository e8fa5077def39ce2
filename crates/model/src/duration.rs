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

/// Reads a duration as people write it, in the units [`seconds`] prints (`90s`, `5m`, `1h30m`,
/// `2d`, `500ms`); a bare number is seconds. The error names what was wrong and what is valid.
pub fn parse(text: &str) -> Result<std::time::Duration, String> {
    let invalid = || format!("{text:?} is not a duration; expected e.g. 30s, 5m, 1h30m or 500ms");
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    let mut total = std::time::Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let number: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let millis = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(invalid()),
        };
        total += std::time::Duration::from_millis(number.saturating_mul(millis));
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_back_as_they_print() {
        use std::time::Duration;
        for secs in [0, 45, 90, 120, 3600, 5400, 26 * 3600, 4 * 86400] {
            assert_eq!(parse(&seconds(secs)), Ok(Duration::from_secs(secs)));
        }
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("30"), Ok(Duration::from_secs(30)));
        for bad in ["", "5 minutes", "m5", "1.5h", "-3s"] {
            let error = parse(bad).expect_err(bad);
            assert!(error.contains("expected e.g. 30s"), "{error}");
        }
    }

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
