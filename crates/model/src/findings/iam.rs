//! Account-wide IAM checks: root user, users, access keys and the password policy.

use chrono::{DateTime, Utc};

use super::{Finding, Policy, ResourceKind, ResourceRef, finding};
use crate::topology::Iam;

/// IAM.7's minimum length.
const IAM7_MIN_LENGTH: i32 = 8;
/// IAM.15's minimum length.
const IAM15_MIN_LENGTH: i32 = 14;
/// IAM.16's remembered passwords.
const IAM16_REUSE: i32 = 24;
/// IAM.17's maximum age in days.
const IAM17_MAX_AGE_DAYS: i32 = 90;

pub(crate) fn check(iam: &Iam, policy: &Policy, now: DateTime<Utc>, out: &mut Vec<Finding>) {
    let account = || ResourceRef::new(ResourceKind::Account, "root");
    if iam.account.root_access_keys_present == Some(true) {
        out.push(finding(
            "IAM.4",
            None,
            account(),
            "root_access_keys_present=true".to_string(),
        ));
    }
    if iam.account.root_mfa_enabled == Some(false) {
        out.push(finding(
            "IAM.9",
            None,
            account(),
            "root_mfa_enabled=false".to_string(),
        ));
    }
    for user in &iam.users {
        let resource =
            || ResourceRef::new(ResourceKind::IamUser, &user.name).with_arn(Some(&user.arn));
        if user.console_access && user.mfa_devices.is_empty() {
            out.push(finding(
                "IAM.5",
                None,
                resource(),
                "console_access=true, no MFA device".to_string(),
            ));
        }
        for key in user.access_keys.iter().filter(|k| k.status == "Active") {
            if let Some(created) = key.created_at {
                let age = (now - created).num_days();
                if age > policy.max_access_key_age_days {
                    out.push(finding(
                        "IAM.3",
                        None,
                        resource(),
                        format!(
                            "access key {} active, {age} days old (max {})",
                            key.id, policy.max_access_key_age_days
                        ),
                    ));
                }
            }
        }
    }
    let password_policy = || ResourceRef::new(ResourceKind::Account, "password-policy");
    let Some(pp) = &iam.password_policy else {
        for id in [
            "IAM.7", "IAM.11", "IAM.12", "IAM.13", "IAM.14", "IAM.15", "IAM.16", "IAM.17",
        ] {
            out.push(finding(
                id,
                None,
                password_policy(),
                "no account password policy".to_string(),
            ));
        }
        return;
    };
    let length = pp.minimum_length.unwrap_or(0);
    let mut weak = Vec::new();
    if length < IAM7_MIN_LENGTH {
        weak.push(format!("minimum_length={length}"));
    }
    for (required, name) in [
        (pp.require_uppercase, "require_uppercase"),
        (pp.require_lowercase, "require_lowercase"),
        (pp.require_symbols, "require_symbols"),
        (pp.require_numbers, "require_numbers"),
    ] {
        if !required {
            weak.push(format!("{name}=false"));
        }
    }
    if !weak.is_empty() {
        out.push(finding("IAM.7", None, password_policy(), weak.join(", ")));
    }
    let mut single = |id: &str, failed: bool, evidence: String| {
        if failed {
            out.push(finding(id, None, password_policy(), evidence));
        }
    };
    single(
        "IAM.11",
        !pp.require_uppercase,
        "require_uppercase=false".into(),
    );
    single(
        "IAM.12",
        !pp.require_lowercase,
        "require_lowercase=false".into(),
    );
    single(
        "IAM.13",
        !pp.require_symbols,
        "require_symbols=false".into(),
    );
    single(
        "IAM.14",
        !pp.require_numbers,
        "require_numbers=false".into(),
    );
    single(
        "IAM.15",
        length < IAM15_MIN_LENGTH,
        format!("minimum_length={length}"),
    );
    let reuse = pp.reuse_prevention.unwrap_or(0);
    single(
        "IAM.16",
        reuse < IAM16_REUSE,
        format!("reuse_prevention={reuse}"),
    );
    single(
        "IAM.17",
        pp.max_age_days
            .is_none_or(|d| d <= 0 || d > IAM17_MAX_AGE_DAYS),
        format!(
            "max_age_days={}",
            pp.max_age_days
                .map_or("none".to_string(), |d| d.to_string())
        ),
    );
}
