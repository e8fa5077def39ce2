//! The accounts a person asks haven to show side by side (`--profiles a,b`, or `[[accounts]]` in
//! `config.toml`), checked before any call is made.

use std::fmt;

use crate::arn::Arn;
use crate::regions::{self, RegionCode};

/// One account to show: how to sign in to it and which Regions to show of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountSpec {
    /// The name shown for it (unique, not empty).
    pub name: String,
    /// The shared-config profile to sign in with; `None`: the default credential chain.
    pub profile: Option<String>,
    /// A role to assume on top of the profile's credentials (another account's, usually).
    pub role_arn: Option<String>,
    /// The external id the role's trust policy asks for, if any.
    pub external_id: Option<String>,
    /// Its Regions; empty: the Regions given for every account.
    pub regions: Vec<String>,
}

impl AccountSpec {
    /// The account a profile signs in to, named after it (`--profiles a,b`).
    pub fn for_profile(profile: &str) -> Self {
        Self {
            name: profile.to_string(),
            profile: Some(profile.to_string()),
            ..Self::default()
        }
    }
}

/// The part of an account a mistake is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountField {
    /// `name`.
    Name,
    /// `profile`.
    Profile,
    /// `role_arn`.
    RoleArn,
    /// `external_id`.
    ExternalId,
    /// `regions`, the entry at this index.
    Region(usize),
}

impl fmt::Display for AccountField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountField::Name => write!(f, "name"),
            AccountField::Profile => write!(f, "profile"),
            AccountField::RoleArn => write!(f, "role_arn"),
            AccountField::ExternalId => write!(f, "external_id"),
            AccountField::Region(_) => write!(f, "regions"),
        }
    }
}

/// What is wrong with one account, and what would be valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("account {}: {message}", if name.is_empty() { format!("#{}", index + 1) } else { format!("`{name}`") })]
pub struct AccountError {
    /// Its position in the list (0-based).
    pub index: usize,
    /// Its name (may be the empty one that is wrong).
    pub name: String,
    /// The field that is wrong.
    pub field: AccountField,
    /// What is wrong, naming the field and what would be valid.
    pub message: String,
}

/// Checks every account: names not empty and unique, role ARNs that are IAM role ARNs, an
/// external id only with a role, Region codes. The first mistake is returned.
pub fn validate_accounts(accounts: &[AccountSpec]) -> Result<(), AccountError> {
    for (index, account) in accounts.iter().enumerate() {
        let error = |field, message| AccountError {
            index,
            name: account.name.clone(),
            field,
            message,
        };
        if account.name.trim().is_empty() {
            return Err(error(
                AccountField::Name,
                "name is empty; give each account a name, e.g. name = \"prod\"".into(),
            ));
        }
        if let Some(first) = accounts[..index]
            .iter()
            .position(|a| a.name == account.name)
        {
            return Err(error(
                AccountField::Name,
                format!(
                    "name `{}` is already the name of account #{}; each account needs its own name",
                    account.name,
                    first + 1
                ),
            ));
        }
        if account
            .profile
            .as_deref()
            .is_some_and(|p| p.trim().is_empty())
        {
            return Err(error(
                AccountField::Profile,
                "profile is empty; name a profile of the AWS config files, or leave it out for \
                 the default credentials"
                    .into(),
            ));
        }
        if let Some(arn) = &account.role_arn
            && let Err(why) = check_role_arn(arn)
        {
            return Err(error(
                AccountField::RoleArn,
                format!(
                    "role_arn `{arn}` is not an IAM role ARN ({why}); expected \
                     arn:aws:iam::123456789012:role/NAME"
                ),
            ));
        }
        if let Some(id) = &account.external_id {
            if account.role_arn.is_none() {
                return Err(error(
                    AccountField::ExternalId,
                    "external_id is only used to assume a role: add role_arn, or remove it".into(),
                ));
            }
            if let Err(why) = check_external_id(id) {
                return Err(error(
                    AccountField::ExternalId,
                    format!("external_id {why}"),
                ));
            }
        }
        for (position, region) in account.regions.iter().enumerate() {
            if let RegionCode::Invalid { closest } = regions::classify(region) {
                let hint = closest
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                return Err(error(
                    AccountField::Region(position),
                    format!("regions: unknown Region `{region}`{hint}; expected e.g. us-east-1"),
                ));
            }
        }
    }
    Ok(())
}

/// `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME` (IAM User Guide, "IAM identifiers";
/// role names: 1–64 of `[A-Za-z0-9+=,.@_-]`).
fn check_role_arn(text: &str) -> Result<(), &'static str> {
    let arn = Arn::parse(text).ok_or("not an ARN")?;
    if !arn.partition.starts_with("aws") {
        return Err("the partition must be aws, aws-cn or aws-us-gov");
    }
    if arn.service != "iam" {
        return Err("not an IAM ARN");
    }
    if !arn.region.is_empty() {
        return Err("IAM ARNs have no Region");
    }
    if arn.account.len() != 12 || !arn.account.chars().all(|c| c.is_ascii_digit()) {
        return Err("the account id must be 12 digits");
    }
    let path_and_name = arn.resource.strip_prefix("role/").ok_or("not a role")?;
    let name = path_and_name.rsplit('/').next().unwrap_or_default();
    let name_ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if name_ok {
        Ok(())
    } else {
        Err("the role name must be 1 to 64 letters, digits or +=,.@_-")
    }
}

/// STS `AssumeRole`'s `ExternalId`: 2 to 1224 of `[\w+=,.@:/-]`.
fn check_external_id(id: &str) -> Result<(), String> {
    let chars_ok = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
    if (2..=1224).contains(&id.len()) && chars_ok {
        Ok(())
    } else {
        Err(format!(
            "`{id}` is not valid; expected 2 to 1224 letters, digits or _+=,.@:/-"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(name: &str) -> AccountSpec {
        AccountSpec {
            name: name.into(),
            ..AccountSpec::default()
        }
    }

    #[test]
    fn valid_accounts_pass() {
        let accounts = [
            AccountSpec::for_profile("prod"),
            AccountSpec {
                name: "dr".into(),
                profile: Some("prod".into()),
                role_arn: Some("arn:aws:iam::210987654321:role/ops/haven-reader".into()),
                external_id: Some("haven-2026".into()),
                regions: vec!["us-east-1".into(), "ap-southeast-8".into()],
            },
            AccountSpec {
                name: "cn".into(),
                role_arn: Some("arn:aws-cn:iam::123456789012:role/r".into()),
                ..AccountSpec::default()
            },
        ];
        assert_eq!(validate_accounts(&accounts), Ok(()));
    }

    #[test]
    fn a_missing_or_repeated_name_is_refused_naming_the_account() {
        let err = validate_accounts(&[account("a"), account(" ")]).expect_err("empty");
        assert_eq!((err.index, err.field), (1, AccountField::Name));
        assert!(err.to_string().contains("name is empty"), "{err}");
        let err = validate_accounts(&[account("a"), account("b"), account("a")]).expect_err("dup");
        assert_eq!((err.index, err.field), (2, AccountField::Name));
        assert_eq!(
            err.to_string(),
            "account `a`: name `a` is already the name of account #1; each account needs its \
             own name"
        );
    }

    #[test]
    fn a_role_arn_must_be_an_iam_role_arn_and_the_message_shows_one() {
        for (arn, why) in [
            ("haven-reader", "not an ARN"),
            ("arn:aws:iam::123456789012:user/alice", "not a role"),
            ("arn:aws:sts::123456789012:role/r", "not an IAM ARN"),
            ("arn:aws:iam::12345:role/r", "12 digits"),
            ("arn:aws:iam:us-east-1:123456789012:role/r", "no Region"),
            ("arn:aws:iam::123456789012:role/", "role name"),
            ("arn:aws:iam::123456789012:role/bad name", "role name"),
        ] {
            let spec = AccountSpec {
                role_arn: Some(arn.into()),
                ..account("x")
            };
            let err = validate_accounts(&[spec]).expect_err(arn);
            assert_eq!(err.field, AccountField::RoleArn);
            let text = err.to_string();
            assert!(text.contains(&format!("role_arn `{arn}`")), "{text}");
            assert!(text.contains(why), "{arn}: {text}");
            assert!(
                text.contains("expected arn:aws:iam::123456789012:role/NAME"),
                "{text}"
            );
        }
    }

    #[test]
    fn an_external_id_needs_a_role_and_a_valid_value() {
        let spec = AccountSpec {
            external_id: Some("abc".into()),
            ..account("x")
        };
        let err = validate_accounts(&[spec]).expect_err("no role");
        assert_eq!(err.field, AccountField::ExternalId);
        assert!(err.to_string().contains("add role_arn"), "{err}");
        let spec = AccountSpec {
            role_arn: Some("arn:aws:iam::123456789012:role/r".into()),
            external_id: Some("a b".into()),
            ..account("x")
        };
        let err = validate_accounts(&[spec]).expect_err("space");
        assert!(err.to_string().contains("2 to 1224"), "{err}");
    }

    #[test]
    fn a_misspelt_region_is_refused_with_the_region_it_means() {
        let spec = AccountSpec {
            regions: vec!["us-east-1".into(), "eu-wset-1".into()],
            ..account("x")
        };
        let err = validate_accounts(&[spec]).expect_err("typo");
        assert_eq!(err.field, AccountField::Region(1));
        assert!(
            err.to_string().contains("did you mean `eu-west-1`"),
            "{err}"
        );
    }
}
