//! The header's word on live signals: unavailable (and why, in a few words) everywhere or in
//! some Regions, and how many alarms are firing.

use haven_model::signals::{Signals, Unavailable};

use super::style::Tone;

/// What the header says when the signals could not be read, in a few words: `AccessDenied on
/// GetMetricData` of `cloudwatch GetMetricData: AccessDenied: User … is not authorized …`; a
/// reason of another shape, cut to 60 characters.
pub fn short_reason(reason: &str) -> String {
    if let Some((call, rest)) = reason.split_once(": ")
        && let Some(operation) = call.split_whitespace().last()
        && let Some(code) = rest.split(": ").next()
        && !code.is_empty()
        && !code.contains(char::is_whitespace)
        && operation.chars().next().is_some_and(char::is_uppercase)
    {
        return format!("{code} on {operation}");
    }
    if reason.chars().count() > 60 {
        let cut: String = reason.chars().take(59).collect();
        format!("{cut}…")
    } else {
        reason.to_string()
    }
}

/// The header's notice about the signals of `regions` (the Regions in view): unavailable
/// everywhere with the reason, or `n/a` in the Regions that could not be read; `None` when every
/// Region was read (or nothing was tried yet).
pub fn signals_notice(signals: &Signals, regions: &[String]) -> Option<(String, Tone)> {
    if signals.unavailable.is_empty() {
        return None;
    }
    let missing: Vec<(&String, &Unavailable)> = regions
        .iter()
        .filter_map(|r| signals.unavailable_in(r).map(|u| (r, u)))
        .collect();
    let everywhere =
        signals.all_unavailable() || (!regions.is_empty() && missing.len() == regions.len());
    if everywhere {
        let reason = signals
            .unavailable
            .iter()
            .find(|u| u.region.is_none())
            .or_else(|| signals.unavailable.first())
            .map(|u| short_reason(&u.reason))
            .unwrap_or_default();
        return Some((format!("signals unavailable: {reason}"), Tone::Warn));
    }
    match missing.as_slice() {
        [] => None,
        [(region, why)] => Some((
            format!("signals: n/a in {region} ({})", short_reason(&why.reason)),
            Tone::Warn,
        )),
        more => {
            let names: Vec<&str> = more.iter().map(|(r, _)| r.as_str()).collect();
            Some((format!("signals: n/a in {}", names.join(", ")), Tone::Warn))
        }
    }
}

/// `⚠ 2 alarms (:alarms)` when any alarm is in ALARM.
pub fn alarms_notice(firing: usize) -> Option<String> {
    (firing > 0).then(|| {
        format!(
            "⚠ {firing} alarm{} (:alarms)",
            if firing == 1 { "" } else { "s" }
        )
    })
}

#[cfg(test)]
mod tests {
    use haven_model::signals::Unavailable;

    use super::*;

    fn unavailable(region: Option<&str>, reason: &str) -> Unavailable {
        Unavailable {
            region: region.map(str::to_string),
            reason: reason.into(),
        }
    }

    const DENIED: &str = "cloudwatch GetMetricData: AccessDenied: User: arn:aws:iam::123456789012:user/ops is not authorized to perform: cloudwatch:GetMetricData";

    #[test]
    fn a_denial_reads_as_its_code_and_operation() {
        assert_eq!(short_reason(DENIED), "AccessDenied on GetMetricData");
        assert_eq!(
            short_reason("cloudwatch GetMetricData timed out"),
            "cloudwatch GetMetricData timed out"
        );
        let long = "cannot reach http://localhost:4566 for cloudwatch GetMetricData: connection refused (os error 111) while connecting";
        assert!(short_reason(long).ends_with('…'));
        assert_eq!(short_reason(long).chars().count(), 60);
    }

    #[test]
    fn unavailable_everywhere_says_why_some_regions_say_where() {
        let regions = vec!["ap-northeast-2".to_string(), "us-east-1".to_string()];
        let mut signals = Signals::default();
        assert_eq!(signals_notice(&signals, &regions), None);

        signals.unavailable = vec![
            unavailable(Some("ap-northeast-2"), DENIED),
            unavailable(Some("us-east-1"), DENIED),
            unavailable(None, DENIED),
        ];
        assert_eq!(
            signals_notice(&signals, &regions),
            Some((
                "signals unavailable: AccessDenied on GetMetricData".to_string(),
                Tone::Warn
            ))
        );

        signals.unavailable = vec![unavailable(Some("us-east-1"), DENIED)];
        assert_eq!(
            signals_notice(&signals, &regions),
            Some((
                "signals: n/a in us-east-1 (AccessDenied on GetMetricData)".to_string(),
                Tone::Warn
            ))
        );
    }

    #[test]
    fn the_alarm_count_shows_only_when_one_fires() {
        assert_eq!(alarms_notice(0), None);
        assert_eq!(alarms_notice(1).as_deref(), Some("⚠ 1 alarm (:alarms)"));
        assert_eq!(alarms_notice(2).as_deref(), Some("⚠ 2 alarms (:alarms)"));
    }
}
