//! Account-wide IAM access checks: customer managed policies granting everything (IAM.1), the
//! root user's MFA device (IAM.6), credentials nobody uses (IAM.8) and administrators who sign
//! in with a password alone (`SEC-ADMIN-MFA`). Data that could not be read is not judged.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::{Finding, ResourceKind, ResourceRef, finding};
use crate::topology::{Iam, IamUser};

/// IAM.8's `maxCredentialUsageAge`.
const IAM8_MAX_UNUSED_DAYS: i64 = 90;

/// AWS's managed AdministratorAccess policy, in any partition.
fn is_administrator_access(arn: &str) -> bool {
    arn.ends_with(":iam::aws:policy/AdministratorAccess")
}

pub(crate) fn check(iam: &Iam, now: DateTime<Utc>, out: &mut Vec<Finding>) {
    full_admin_policies(iam, out);
    root_hardware_mfa(iam, out);
    let admin_policies: HashSet<&str> = iam
        .customer_policies
        .iter()
        .flatten()
        .filter(|p| p.is_full_admin())
        .map(|p| p.arn.as_str())
        .collect();
    let groups: HashMap<&str, &[String]> = iam
        .groups
        .iter()
        .map(|g| (g.name.as_str(), g.attached_policy_arns.as_slice()))
        .collect();
    for user in &iam.users {
        unused_credentials(user, now, out);
        admin_without_mfa(user, &groups, &admin_policies, out);
    }
}

fn full_admin_policies(iam: &Iam, out: &mut Vec<Finding>) {
    // Security Hub sets excludePermissionBoundaryPolicy: a policy used as a permissions
    // boundary only limits, it grants nothing.
    for policy in iam.customer_policies.iter().flatten() {
        if policy.boundary_count > 0 || !policy.is_full_admin() {
            continue;
        }
        out.push(finding(
            "IAM.1",
            None,
            ResourceRef::new(ResourceKind::IamPolicy, &policy.name).with_arn(Some(&policy.arn)),
            format!(
                "default version allows Action \"*\" on Resource \"*\"; attached {} time(s)",
                policy.attachment_count
            ),
        ));
    }
}

fn root_hardware_mfa(iam: &Iam, out: &mut Vec<Finding>) {
    let evidence = match (iam.account.root_mfa_enabled, iam.account.root_virtual_mfa) {
        (Some(false), _) => "root_mfa_enabled=false",
        (Some(true), Some(true)) => "root MFA is a virtual device (root-account-mfa-device)",
        _ => return,
    };
    out.push(finding(
        "IAM.6",
        None,
        ResourceRef::new(ResourceKind::Account, "root"),
        evidence.to_string(),
    ));
}

fn unused_credentials(user: &IamUser, now: DateTime<Utc>, out: &mut Vec<Finding>) {
    let limit = Duration::days(IAM8_MAX_UNUSED_DAYS);
    let stale = |used: Option<DateTime<Utc>>| used.or(user.created_at).map(|at| now - at > limit);
    let day = |at: Option<DateTime<Utc>>| {
        at.map_or("never".to_string(), |t| t.format("%Y-%m-%d").to_string())
    };
    let mut unused = Vec::new();
    if user.console_access && stale(user.password_last_used) == Some(true) {
        unused.push(format!(
            "password last used {}",
            day(user.password_last_used)
        ));
    }
    for key in &user.access_keys {
        if key.status == "Active" && key.last_used_read && stale(key.last_used) == Some(true) {
            unused.push(format!(
                "access key {} last used {}",
                key.id,
                day(key.last_used)
            ));
        }
    }
    if !unused.is_empty() {
        out.push(finding(
            "IAM.8",
            None,
            ResourceRef::new(ResourceKind::IamUser, &user.name).with_arn(Some(&user.arn)),
            format!(
                "{} (more than {IAM8_MAX_UNUSED_DAYS} days)",
                unused.join(", ")
            ),
        ));
    }
}

fn admin_without_mfa(
    user: &IamUser,
    groups: &HashMap<&str, &[String]>,
    admin_policies: &HashSet<&str>,
    out: &mut Vec<Finding>,
) {
    if !user.console_access || !user.mfa_devices.is_empty() {
        return;
    }
    let admin =
        |arn: &String| is_administrator_access(arn) || admin_policies.contains(arn.as_str());
    let direct = user.attached_policy_arns.iter().find(|a| admin(a));
    let via_group = user.groups.iter().find_map(|g| {
        groups
            .get(g.as_str())
            .and_then(|arns| arns.iter().find(|a| admin(a)).map(|a| (g, a)))
    });
    let evidence = match (direct, via_group) {
        (Some(arn), _) => format!("console_access=true, no MFA device, {arn} attached"),
        (None, Some((group, arn))) => {
            format!("console_access=true, no MFA device, {arn} through group {group}")
        }
        (None, None) => return,
    };
    out.push(finding(
        "SEC-ADMIN-MFA",
        None,
        ResourceRef::new(ResourceKind::IamUser, &user.name).with_arn(Some(&user.arn)),
        evidence,
    ));
}
