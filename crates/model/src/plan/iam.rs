//! The IAM tier of a plan (global): the EC2 instance role and profile, the operators group and
//! its users, the account password policy (as `apply/iam.rs` builds them). An entity found by
//! name that is not the stack's (see [`owns_iam`]) becomes a [`Conflict`]: its step says what
//! `--adopt` would do, the adoption first (a tag; a move to the stack's path for a group, which
//! IAM does not let carry tags).

use super::{
    Builder, Conflict, ResourceKind, ResourceKind::*, STACK_TAG, compare, drift, iam_owned,
    iam_path, owns_iam, r,
};
use crate::blueprint::{Blueprint, OperatorsSpec, PasswordPolicySpec};
use crate::topology::{self, Iam};

/// The IAM steps, and the conflicts of same-named entities that are not the stack's.
pub(super) fn plan_iam(b: &mut Builder<'_>, blueprint: &Blueprint, iam: Option<&Iam>) {
    instance_role(b, blueprint, iam);
    instance_profile(b, blueprint, iam);
    if let Some(operators) = &blueprint.iam.operators {
        operators_group(b, blueprint.name(), operators, iam);
    }
    // The account's password policy is changed only when the blueprint has one, and every
    // difference is shown as it is → as it will be.
    if let Some(policy) = &blueprint.iam.password_policy {
        password_policy(b, policy, iam.and_then(|i| i.password_policy.as_ref()));
    }
}

/// Records `kind`/`name` as someone else's, with what adopting it changes (the adoption first,
/// inserted into `changes`).
fn conflict(
    b: &mut Builder<'_>,
    stack: &str,
    kind: ResourceKind,
    name: &str,
    arn: &str,
    changes: &mut Vec<String>,
) {
    let adoption = if kind == IamGroup {
        format!(
            "adopt: move it to path {} (IAM groups take no tags)",
            iam_path(stack)
        )
    } else {
        format!("adopt: tag it {STACK_TAG}={stack}")
    };
    changes.insert(0, adoption);
    b.conflicts.push(Conflict {
        resource: r(kind, name),
        arn: arn.to_string(),
        changes: changes.clone(),
    });
}

fn instance_role(b: &mut Builder<'_>, blueprint: &Blueprint, iam: Option<&Iam>) {
    let spec = &blueprint.iam;
    let stack = blueprint.name();
    let role = iam.and_then(|i| i.roles.iter().find(|r| r.name == spec.instance_role));
    let mut changes = Vec::new();
    if let Some(role) = role {
        if !role
            .trusted_services
            .iter()
            .any(|s| s == "ec2.amazonaws.com")
        {
            changes.push(
                "replace its trust policy with EC2-only trust (whoever else may assume it \
                 loses that)"
                    .to_string(),
            );
        }
        for arn in &spec.instance_policy_arns {
            if !role.attached_policy_arns.contains(arn) {
                changes.push(format!("attach {arn}"));
            }
        }
        if !owns_iam(&role.arn, &role.tags, stack) {
            conflict(
                b,
                stack,
                IamRole,
                &spec.instance_role,
                &role.arn,
                &mut changes,
            );
        }
    }
    b.step(
        IamRole,
        &spec.instance_role,
        &spec.instance_role,
        role.map(|r| r.arn.clone()),
        vec![],
        changes,
        format!(
            "trusted by EC2, path {}, with {}",
            iam_path(stack),
            spec.instance_policy_arns.join(", ")
        ),
        true,
    );
}

fn instance_profile(b: &mut Builder<'_>, blueprint: &Blueprint, iam: Option<&Iam>) {
    let spec = &blueprint.iam;
    let stack = blueprint.name();
    let profile = iam.and_then(|i| {
        i.instance_profiles
            .iter()
            .find(|p| p.name == spec.instance_profile)
    });
    let mut changes = Vec::new();
    if let Some(profile) = profile {
        match profile.role_names.first() {
            Some(other) if *other != spec.instance_role => changes.push(format!(
                "it holds role {other}, and a profile holds one role: haven will not swap it \
                 (instances using it would change identity); remove {other} from it or name \
                 another instance_profile"
            )),
            Some(_) => {}
            None => changes.push(format!("add role {}", spec.instance_role)),
        }
        if !owns_iam(&profile.arn, &profile.tags, stack) {
            let name = &spec.instance_profile;
            conflict(b, stack, InstanceProfile, name, &profile.arn, &mut changes);
        }
    }
    b.step(
        InstanceProfile,
        &spec.instance_profile,
        &spec.instance_profile,
        profile.map(|p| p.arn.clone()),
        vec![r(IamRole, &spec.instance_role)],
        changes,
        format!("holding {}", spec.instance_role),
        true,
    );
}

/// The operators group and its users (their conflicts come before any of their steps).
fn operators_group(b: &mut Builder<'_>, stack: &str, operators: &OperatorsSpec, iam: Option<&Iam>) {
    let group = iam.and_then(|i| i.groups.iter().find(|g| g.name == operators.group));
    let mut group_changes = Vec::new();
    if let Some(group) = group {
        if !group.attached_policy_arns.contains(&operators.policy_arn) {
            group_changes.push(format!("attach {}", operators.policy_arn));
        }
        if !iam_owned(&group.arn, stack) {
            let name = &operators.group;
            conflict(b, stack, IamGroup, name, &group.arn, &mut group_changes);
        }
    }
    let users: Vec<(&String, Option<&topology::IamUser>, Vec<String>)> = operators
        .users
        .iter()
        .map(|user_name| {
            let user = iam.and_then(|i| i.users.iter().find(|u| u.name == *user_name));
            let mut changes = Vec::new();
            if let Some(user) = user {
                if !user.groups.contains(&operators.group) {
                    changes.push(format!(
                        "add to {} (with {})",
                        operators.group, operators.policy_arn
                    ));
                }
                if !owns_iam(&user.arn, &user.tags, stack) {
                    conflict(b, stack, IamUser, user_name, &user.arn, &mut changes);
                }
            }
            (user_name, user, changes)
        })
        .collect();
    b.step(
        IamGroup,
        &operators.group,
        &operators.group,
        group.map(|g| g.arn.clone()),
        vec![],
        group_changes,
        format!("with {}", operators.policy_arn),
        true,
    );
    for (user_name, user, changes) in users {
        b.step(
            IamUser,
            user_name,
            user_name,
            user.map(|u| u.arn.clone()),
            vec![r(IamGroup, &operators.group)],
            changes,
            format!("in {} (no password or key is created)", operators.group),
            true,
        );
    }
}

fn password_policy(
    b: &mut Builder<'_>,
    policy: &PasswordPolicySpec,
    actual: Option<&topology::PasswordPolicy>,
) {
    let changes = actual
        .map(|actual| password_policy_drift(policy, actual))
        .unwrap_or_default();
    // The policy always exists in some form; "create" means none is set.
    b.step(
        PasswordPolicy,
        "account",
        "account password policy",
        actual.map(|_| "account".to_string()),
        vec![],
        changes,
        format!(
            "none set → minimum length {}, symbols {}, numbers {}, uppercase {}, lowercase \
             {}, users may change {}, max age {}, reuse prevention {}",
            policy.minimum_length,
            policy.require_symbols,
            policy.require_numbers,
            policy.require_uppercase,
            policy.require_lowercase,
            policy.allow_users_to_change,
            policy
                .max_age_days
                .map_or("never".to_string(), |d| format!("{d} days")),
            policy
                .reuse_prevention
                .map_or("off".to_string(), |n| n.to_string())
        ),
        true,
    );
}

fn password_policy_drift(
    policy: &PasswordPolicySpec,
    actual: &topology::PasswordPolicy,
) -> Vec<String> {
    let mut changes = Vec::new();
    compare(
        &mut changes,
        "minimum length",
        actual.minimum_length,
        i32::from(policy.minimum_length),
    );
    let flags = [
        (
            "require symbols",
            actual.require_symbols,
            policy.require_symbols,
        ),
        (
            "require numbers",
            actual.require_numbers,
            policy.require_numbers,
        ),
        (
            "require uppercase",
            actual.require_uppercase,
            policy.require_uppercase,
        ),
        (
            "require lowercase",
            actual.require_lowercase,
            policy.require_lowercase,
        ),
        (
            "users may change their password",
            actual.allow_users_to_change,
            policy.allow_users_to_change,
        ),
    ];
    for (what, have, want) in flags {
        if have != want {
            changes.push(drift(what, have, want));
        }
    }
    let days = |d: Option<i32>| d.map_or("never".to_string(), |d| format!("{d} days"));
    if actual.max_age_days != policy.max_age_days.map(i32::from) {
        changes.push(format!(
            "max age {} → {}",
            days(actual.max_age_days),
            days(policy.max_age_days.map(i32::from))
        ));
    }
    if actual.reuse_prevention != policy.reuse_prevention.map(i32::from) {
        let count = |n: Option<i32>| n.map_or("off".to_string(), |n| n.to_string());
        changes.push(format!(
            "reuse prevention {} → {}",
            count(actual.reuse_prevention),
            count(policy.reuse_prevention.map(i32::from))
        ));
    }
    changes
}
