//! Facts about RDS database engines that the findings and `haven up` share: the logs each engine
//! publishes for Security Hub RDS.9, the engines IAM database authentication applies to (RDS.10),
//! default ports (RDS.23) and administrator names (RDS.24/RDS.25), and when each major version
//! leaves RDS standard support (Extended Support is billed after that).

use chrono::NaiveDate;

/// Where the log types of [`required_log_exports`] come from.
pub const LOGS_SOURCE: &str =
    "https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-9";

/// Where the dates of [`standard_support_end`] come from.
pub const SUPPORT_SOURCE: &str = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/MySQL.Concepts.VersionMgmt.html#MySQL.Concepts.VersionMgmt.ReleaseCalendar; https://docs.aws.amazon.com/AmazonRDS/latest/PostgreSQLReleaseNotes/postgresql-release-calendar.html; https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.VersionPolicy.MajorVersionLifecycle.html";

/// The log types Security Hub RDS.9 requires an instance of this engine to publish to CloudWatch
/// Logs; `None` for an engine the control does not list (Db2, Neptune, DocumentDB…).
pub fn required_log_exports(engine: &str) -> Option<&'static [&'static str]> {
    const MYSQL: &[&str] = &["audit", "error", "general", "slowquery"];
    Some(match engine {
        "mysql" | "mariadb" | "aurora" | "aurora-mysql" => MYSQL,
        "postgres" => &["postgresql", "upgrade"],
        "aurora-postgresql" => &["postgresql"],
        e if e.starts_with("oracle") || e.starts_with("custom-oracle") => {
            &["alert", "audit", "trace", "listener"]
        }
        e if e.starts_with("sqlserver") || e.starts_with("custom-sqlserver") => &["error", "agent"],
        _ => return None,
    })
}

/// The engines Security Hub RDS.10 evaluates for IAM database authentication.
pub fn iam_authentication_applies(engine: &str) -> bool {
    matches!(
        engine,
        "mysql" | "postgres" | "aurora" | "aurora-mysql" | "aurora-postgresql" | "mariadb"
    )
}

/// The engine's default port (RDS.23); `None` for an engine haven does not know.
pub fn default_port(engine: &str) -> Option<i32> {
    Some(match engine {
        "mysql" | "mariadb" | "aurora" | "aurora-mysql" => 3306,
        "postgres" | "aurora-postgresql" => 5432,
        e if e.starts_with("oracle") || e.starts_with("custom-oracle") => 1521,
        e if e.starts_with("sqlserver") || e.starts_with("custom-sqlserver") => 1433,
        e if e.starts_with("db2") => 50000,
        _ => return None,
    })
}

/// The administrator names AWS Config's `rds-instance-default-admin-check` and
/// `rds-cluster-default-admin-check` call default (RDS.25, RDS.24).
pub const DEFAULT_ADMIN_USERNAMES: [&str; 2] = ["admin", "postgres"];

/// Engines RDS.24/RDS.25 leave out.
pub fn admin_check_applies(engine: &str) -> bool {
    !matches!(engine, "neptune" | "docdb")
}

/// The major version of an engine version as RDS counts it: `8.0.40` → `8.0`,
/// `16.4` → `16`, `8.0.mysql_aurora.3.05.2` → `8.0`.
pub fn major_version(engine: &str, version: &str) -> String {
    let mut parts = version.split('.');
    let first = parts.next().unwrap_or_default();
    let mysql_like = matches!(engine, "mysql" | "mariadb" | "aurora" | "aurora-mysql");
    // PostgreSQL counts majors by the first number from 10 on (9.6 was a major of its own).
    let postgres_two_part = first.parse::<u32>().is_ok_and(|n| n < 10);
    if mysql_like || postgres_two_part {
        match parts.next() {
            Some(second) => format!("{first}.{second}"),
            None => first.to_string(),
        }
    } else {
        first.to_string()
    }
}

/// The last day of RDS standard support for the engine's major version, from AWS's release
/// calendars ([`SUPPORT_SOURCE`]); `None` for an engine or version the table does not hold
/// (MariaDB, the commercial engines: no RDS Extended Support).
pub fn standard_support_end(engine: &str, version: &str) -> Option<NaiveDate> {
    let major = major_version(engine, version);
    let (y, m, d) = match (engine, major.as_str()) {
        ("mysql", "5.7") => (2024, 2, 29),
        ("mysql", "8.0") => (2026, 7, 31),
        ("mysql", "8.4") => (2029, 7, 31),
        ("aurora" | "aurora-mysql", "5.7") => (2024, 10, 31),
        ("aurora" | "aurora-mysql", "8.0") => (2028, 4, 30),
        ("postgres" | "aurora-postgresql", "11") => (2024, 2, 29),
        ("postgres" | "aurora-postgresql", "12") => (2025, 2, 28),
        ("postgres" | "aurora-postgresql", "13") => (2026, 2, 28),
        ("postgres" | "aurora-postgresql", "14") => (2027, 2, 28),
        ("postgres" | "aurora-postgresql", "15") => (2028, 2, 29),
        ("postgres" | "aurora-postgresql", "16") => (2029, 2, 28),
        ("postgres" | "aurora-postgresql", "17") => (2030, 2, 28),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majors_are_counted_as_rds_counts_them() {
        assert_eq!(major_version("mysql", "8.0.40"), "8.0");
        assert_eq!(major_version("mysql", "8.4"), "8.4");
        assert_eq!(major_version("postgres", "16.4"), "16");
        assert_eq!(major_version("postgres", "9.6.24"), "9.6");
        assert_eq!(
            major_version("aurora-mysql", "8.0.mysql_aurora.3.05.2"),
            "8.0"
        );
    }

    #[test]
    fn mysql_8_0_left_standard_support_in_july_2026_and_8_4_did_not() {
        let end = standard_support_end("mysql", "8.0.40").expect("8.0 is in the table");
        assert_eq!(end.to_string(), "2026-07-31");
        let lab = standard_support_end("mysql", "8.4").expect("8.4 is in the table");
        assert!(lab > NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"));
        assert_eq!(standard_support_end("mariadb", "10.6"), None);
    }

    #[test]
    fn mysql_publishes_four_logs_and_db2_is_not_judged() {
        assert_eq!(required_log_exports("mysql").map(<[_]>::len), Some(4));
        assert_eq!(
            required_log_exports("postgres"),
            Some(&["postgresql", "upgrade"][..])
        );
        assert_eq!(required_log_exports("db2-se"), None);
    }
}
