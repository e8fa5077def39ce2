//! IAM, account-wide: users (console access, MFA, access-key ages and last uses, groups), groups,
//! roles with the services they trust, instance profiles, customer managed policies with their
//! default version's statements, the password policy and root facts (MFA, virtual or not).

use aws_sdk_iam::Client;
use aws_sdk_iam::types as sdk;
use futures::{StreamExt, TryStreamExt, stream};
use haven_model as model;

use super::convert::{opt, time};
use super::{CONCURRENCY, Scope, keep};
use crate::error::AwsError;

type Result<T> = std::result::Result<T, AwsError>;

/// IAM as far as it could be read, and what could not.
pub(super) async fn discover(scope: &Scope<'_>) -> (model::Iam, Vec<AwsError>) {
    let client = scope.ctx.iam();
    let c = &client;
    let (users, groups, roles, profiles, policy, summary, customer, virtual_mfa, alias) = tokio::join!(
        users(c, scope),
        groups(c, scope),
        roles(c, scope),
        instance_profiles(c, scope),
        password_policy(c, scope),
        c.get_account_summary().send(),
        customer_policies(c, scope),
        root_virtual_mfa(c, scope),
        account_alias(c),
    );
    let mut errors = Vec::new();
    let (users, unread_key_uses) = keep(users, &mut errors);
    errors.extend(unread_key_uses);
    let root_virtual_mfa = virtual_mfa.map_err(|e| errors.push(e)).ok();
    let iam = model::Iam {
        users,
        groups: keep(groups, &mut errors),
        roles: keep(roles, &mut errors),
        instance_profiles: keep(profiles, &mut errors),
        password_policy: keep(policy, &mut errors),
        account: summary
            .map(|s| {
                let map = s.summary_map();
                let flag = |key: sdk::SummaryKeyType| map.and_then(|m| m.get(&key)).map(|v| *v > 0);
                model::AccountSummary {
                    root_mfa_enabled: flag(sdk::SummaryKeyType::AccountMfaEnabled),
                    root_access_keys_present: flag(sdk::SummaryKeyType::AccountAccessKeysPresent),
                    root_virtual_mfa,
                    alias,
                }
            })
            .map_err(|e| errors.push(scope.err("GetAccountSummary", e)))
            .unwrap_or_default(),
        customer_policies: customer.map_err(|e| errors.push(e)).ok(),
    };
    (iam, errors)
}

/// The account's alias, for people to recognise it by. Not worth an error when it cannot be read
/// (a role without `iam:ListAccountAliases` is common): the header then shows the id alone.
async fn account_alias(c: &Client) -> Option<String> {
    match c.list_account_aliases().send().await {
        Ok(output) => output.account_aliases().first().cloned(),
        Err(e) => {
            tracing::info!(error = %e, "cannot read the account alias");
            None
        }
    }
}

/// The users, and the first failure to read an access key's last use (those keys are then not
/// judged by IAM.8; the users are still read).
async fn users(c: &Client, s: &Scope<'_>) -> Result<(Vec<model::IamUser>, Option<AwsError>)> {
    let list: Vec<sdk::User> = c
        .list_users()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("ListUsers", e))?;
    let read: Vec<(model::IamUser, Option<AwsError>)> = stream::iter(list)
        .map(|u| user(c, s, u))
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut first_error = None;
    let users = read
        .into_iter()
        .map(|(user, error)| {
            if first_error.is_none() {
                first_error = error;
            }
            user
        })
        .collect();
    Ok((users, first_error))
}

/// Each ACTIVE key's last use (`GetAccessKeyLastUsed`, at most two keys per user). The
/// credential report would read every user at once, but it is generated asynchronously (poll
/// until ready), may be four hours old, and needs `GenerateCredentialReport`, a write.
async fn key_last_uses(
    c: &Client,
    s: &Scope<'_>,
    keys: &mut [model::AccessKey],
) -> Option<AwsError> {
    let mut error = None;
    for key in keys.iter_mut().filter(|k| k.status == "Active") {
        match c
            .get_access_key_last_used()
            .access_key_id(&key.id)
            .send()
            .await
        {
            Ok(out) => {
                key.last_used_read = true;
                key.last_used = time(out.access_key_last_used().and_then(|u| u.last_used_date()));
            }
            Err(e) => error = error.or(Some(s.err("GetAccessKeyLastUsed", e))),
        }
    }
    error
}

async fn user(
    c: &Client,
    s: &Scope<'_>,
    u: sdk::User,
) -> Result<(model::IamUser, Option<AwsError>)> {
    let name = u.user_name().to_string();
    let (groups, mfa, keys, login, policies) = tokio::join!(
        c.list_groups_for_user()
            .user_name(&name)
            .into_paginator()
            .items()
            .send()
            .try_collect(),
        c.list_mfa_devices()
            .user_name(&name)
            .into_paginator()
            .items()
            .send()
            .try_collect(),
        c.list_access_keys()
            .user_name(&name)
            .into_paginator()
            .items()
            .send()
            .try_collect(),
        c.get_login_profile().user_name(&name).send(),
        c.list_attached_user_policies()
            .user_name(&name)
            .into_paginator()
            .items()
            .send()
            .try_collect(),
    );
    let console_access = match login {
        Ok(_) => true,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            false
        }
        Err(e) => return Err(s.err("GetLoginProfile", e)),
    };
    let mut access_keys: Vec<model::AccessKey> = keys
        .map_err(|e| s.err("ListAccessKeys", e))?
        .iter()
        .map(|k| model::AccessKey {
            id: opt(k.access_key_id()),
            status: k
                .status()
                .map(|x| x.as_str().to_string())
                .unwrap_or_default(),
            created_at: time(k.create_date()),
            last_used_read: false,
            last_used: None,
        })
        .collect();
    let key_error = key_last_uses(c, s, &mut access_keys).await;
    let user = model::IamUser {
        arn: u.arn().to_string(),
        created_at: time(Some(u.create_date())),
        console_access,
        password_last_used: time(u.password_last_used()),
        mfa_devices: mfa
            .map_err(|e| s.err("ListMFADevices", e))?
            .iter()
            .map(|d| d.serial_number().to_string())
            .collect(),
        access_keys,
        groups: groups
            .map_err(|e| s.err("ListGroupsForUser", e))?
            .iter()
            .map(|g| g.group_name().to_string())
            .collect(),
        attached_policy_arns: policy_arns(
            policies.map_err(|e| s.err("ListAttachedUserPolicies", e))?,
        ),
        tags: model::Tags::new(),
        name,
    };
    Ok((user, key_error))
}

fn policy_arns(list: Vec<sdk::AttachedPolicy>) -> Vec<String> {
    list.iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect()
}

async fn groups(c: &Client, s: &Scope<'_>) -> Result<Vec<model::IamGroup>> {
    let list: Vec<sdk::Group> = c
        .list_groups()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("ListGroups", e))?;
    stream::iter(list)
        .map(|g| async move {
            let policies = c
                .list_attached_group_policies()
                .group_name(g.group_name())
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| s.err("ListAttachedGroupPolicies", e))?;
            Ok(model::IamGroup {
                name: g.group_name().to_string(),
                arn: g.arn().to_string(),
                attached_policy_arns: policy_arns(policies),
            })
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

async fn roles(c: &Client, s: &Scope<'_>) -> Result<Vec<model::IamRole>> {
    let list: Vec<sdk::Role> = c
        .list_roles()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("ListRoles", e))?;
    stream::iter(list)
        .map(|r| async move {
            let policies = c
                .list_attached_role_policies()
                .role_name(r.role_name())
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| s.err("ListAttachedRolePolicies", e))?;
            Ok(model::IamRole {
                name: r.role_name().to_string(),
                arn: r.arn().to_string(),
                path: r.path().to_string(),
                trusted_services: r
                    .assume_role_policy_document()
                    .map(trusted_services)
                    .unwrap_or_default(),
                attached_policy_arns: policy_arns(policies),
                tags: model::Tags::new(),
            })
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

async fn instance_profiles(c: &Client, s: &Scope<'_>) -> Result<Vec<model::InstanceProfile>> {
    let list: Vec<sdk::InstanceProfile> = c
        .list_instance_profiles()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("ListInstanceProfiles", e))?;
    Ok(list
        .iter()
        .map(|p| model::InstanceProfile {
            name: p.instance_profile_name().to_string(),
            arn: p.arn().to_string(),
            role_names: p
                .roles()
                .iter()
                .map(|r| r.role_name().to_string())
                .collect(),
            tags: model::Tags::new(),
        })
        .collect())
}

/// Customer managed policies, attached or not, with the Allow statements of their default
/// version: one paginated `GetAccountAuthorizationDetails` (filter `LocalManagedPolicy`) instead
/// of `ListPolicies` and a `GetPolicyVersion` per policy.
async fn customer_policies(c: &Client, s: &Scope<'_>) -> Result<Vec<model::ManagedPolicy>> {
    let pages: Vec<_> = c
        .get_account_authorization_details()
        .filter(sdk::EntityType::LocalManagedPolicy)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("GetAccountAuthorizationDetails", e))?;
    Ok(pages
        .iter()
        .flat_map(|page| page.policies())
        .map(|p| model::ManagedPolicy {
            name: opt(p.policy_name()),
            arn: opt(p.arn()),
            attachment_count: p.attachment_count().unwrap_or(0),
            boundary_count: p.permissions_boundary_usage_count().unwrap_or(0),
            allows: p
                .policy_version_list()
                .iter()
                .find(|v| v.is_default_version())
                .and_then(|v| v.document())
                .and_then(model::allow_statements)
                .unwrap_or_default(),
        })
        .collect())
}

/// Whether the root user's MFA device is a virtual one: an assigned virtual device whose user
/// is the root user (serial `arn:aws:iam::<account>:mfa/root-account-mfa-device`).
async fn root_virtual_mfa(c: &Client, s: &Scope<'_>) -> Result<bool> {
    let devices: Vec<sdk::VirtualMfaDevice> = c
        .list_virtual_mfa_devices()
        .assignment_status(sdk::AssignmentStatusType::Assigned)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("ListVirtualMFADevices", e))?;
    Ok(devices.iter().any(|d| {
        d.serial_number().ends_with(":mfa/root-account-mfa-device")
            || d.user().is_some_and(|u| u.arn().ends_with(":root"))
    }))
}

async fn password_policy(c: &Client, s: &Scope<'_>) -> Result<Option<model::PasswordPolicy>> {
    match c.get_account_password_policy().send().await {
        Ok(out) => Ok(out.password_policy().map(|p| model::PasswordPolicy {
            minimum_length: p.minimum_password_length(),
            require_symbols: p.require_symbols(),
            require_numbers: p.require_numbers(),
            require_uppercase: p.require_uppercase_characters(),
            require_lowercase: p.require_lowercase_characters(),
            allow_users_to_change: p.allow_users_to_change_password(),
            max_age_days: p.max_password_age(),
            reuse_prevention: p.password_reuse_prevention(),
            hard_expiry: p.hard_expiry().unwrap_or(false),
        })),
        // No policy set is a fact about the account, not a failure.
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(s.err("GetAccountPasswordPolicy", e)),
    }
}

/// The services a trust policy lets assume the role. AWS returns the document URL-encoded.
fn trusted_services(document: &str) -> Vec<String> {
    let decoded = haven_model::topology::percent_decode(document);
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&decoded) else {
        return Vec::new();
    };
    let statements = match &json["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        single => vec![single.clone()],
    };
    let mut services: Vec<String> = statements
        .iter()
        .flat_map(|st| match &st["Principal"]["Service"] {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(list) => list
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    services.sort();
    services.dedup();
    services
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_services_from_an_encoded_trust_policy() {
        let doc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ec2.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
        assert_eq!(trusted_services(doc), vec!["ec2.amazonaws.com"]);
        let plain =
            r#"{"Statement":{"Principal":{"Service":["b.amazonaws.com","a.amazonaws.com"]}}}"#;
        assert_eq!(
            trusted_services(plain),
            vec!["a.amazonaws.com", "b.amazonaws.com"]
        );
    }
}
