//! The profiles of the AWS shared config file (`~/.aws/config`) and credentials file
//! (`~/.aws/credentials`), read the way the AWS SDKs read them (AWS SDKs and Tools reference
//! guide, "Shared config and credentials files"; the Rust SDK's `env_config` parser):
//!
//! - a line whose first character is `#` or `;` is a comment; in a property line a `#` or `;`
//!   preceded by whitespace starts a comment; in a section line any `#` or `;` does;
//! - property names are case-insensitive (`Region` is `region`), profile names are not;
//! - in the config file a profile is `[default]` or `[profile NAME]` (`[profile default]` replaces
//!   `[default]`); `[sso-session NAME]`, `[services NAME]` and a bare `[NAME]` are not profiles;
//! - in the credentials file a profile is `[NAME]`; `[profile NAME]` there is ignored;
//! - a profile in both files is one profile; where both set a property, the credentials file's
//!   value is used;
//! - an indented line continues the property above (sub-properties); none of those is read here.
//!
//! Secrets (`aws_secret_access_key`, `aws_session_token`) are never kept.

use std::collections::BTreeMap;
use std::fmt;

/// One named profile, as the AWS CLI's `--profile NAME` would use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileInfo {
    /// The profile's name (`default` for `[default]`).
    pub name: String,
    /// Its `region`, if set.
    pub region: Option<String>,
    /// How it signs in.
    pub sign_in: SignIn,
    /// Its `endpoint_url` (every service), if set: an emulator such as moto or LocalStack.
    pub endpoint_url: Option<String>,
    /// `sso_account_id`, the account an SSO profile signs in to.
    pub sso_account_id: Option<String>,
    /// `sso_role_name`, the permission set an SSO profile uses.
    pub sso_role_name: Option<String>,
}

/// How a profile gets its credentials, in the order the AWS SDKs look: a role to assume first,
/// then IAM Identity Center (SSO), then an external process, then keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// Access keys in the file (`aws_access_key_id`; the secret is not kept).
    Static,
    /// IAM Identity Center: through an `[sso-session]` (`sso_session`) or, the legacy form, an
    /// `sso_start_url` in the profile itself.
    Sso {
        /// The `sso_session` it names, if any.
        session: Option<String>,
        /// The portal URL: the profile's own, or its session's.
        start_url: Option<String>,
    },
    /// Assumes `role_arn` with credentials from somewhere else.
    AssumeRole {
        /// The role assumed.
        role_arn: String,
        /// Where the credentials that assume it come from.
        source: RoleSource,
    },
    /// Runs `credential_process` (the command is not kept: it may carry secrets).
    Process,
    /// None of the above: the profile only sets other things (a Region, an endpoint).
    Unknown,
}

/// Where the credentials that assume a profile's role come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleSource {
    /// `source_profile = NAME`.
    Profile(String),
    /// `credential_source = Environment | Ec2InstanceMetadata | EcsContainer`.
    CredentialSource(String),
    /// `web_identity_token_file`.
    WebIdentityToken,
    /// Neither: the SDK refuses such a profile.
    Missing,
}

impl SignIn {
    /// The key of the profile's SSO token in the token cache: the session name, else (legacy
    /// profiles) the start URL. `None` for profiles that do not sign in with SSO.
    pub fn sso_cache_key(&self) -> Option<&str> {
        match self {
            SignIn::Sso {
                session: Some(session),
                ..
            } => Some(session),
            SignIn::Sso {
                session: None,
                start_url,
            } => start_url.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for SignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignIn::Static => write!(f, "access keys"),
            SignIn::Sso {
                session: Some(session),
                ..
            } => write!(f, "SSO (session {session})"),
            SignIn::Sso {
                start_url: Some(url),
                ..
            } => write!(f, "SSO ({url})"),
            SignIn::Sso { .. } => write!(f, "SSO (no start URL)"),
            SignIn::AssumeRole { role_arn, source } => {
                write!(f, "assumes {role_arn}")?;
                match source {
                    RoleSource::Profile(p) => write!(f, " from profile {p}"),
                    RoleSource::CredentialSource(s) => write!(f, " from {s}"),
                    RoleSource::WebIdentityToken => write!(f, " with a web identity token"),
                    RoleSource::Missing => write!(f, " (no source_profile or credential_source)"),
                }
            }
            SignIn::Process => write!(f, "credential_process"),
            SignIn::Unknown => write!(f, "no credentials of its own"),
        }
    }
}

/// A section's properties (names lowercased), before they are merged.
type Properties = BTreeMap<String, String>;

/// The profiles of the two files, merged by name and sorted by it.
pub fn parse_shared_config(config_text: &str, credentials_text: &str) -> Vec<ProfileInfo> {
    let mut profiles: BTreeMap<String, Properties> = BTreeMap::new();
    let mut sso_sessions: BTreeMap<String, Properties> = BTreeMap::new();
    let config = sections(config_text);
    // `[profile default]` fully replaces `[default]`.
    let prefixed_default = config
        .iter()
        .any(|(header, _)| section_name(header) == (Some("profile"), "default"));
    for (header, properties) in config {
        let target = match section_name(&header) {
            (Some("profile"), name) if valid_identifier(name) => profiles.entry(name.to_string()),
            (None, "default") if !prefixed_default => profiles.entry("default".to_string()),
            (Some("sso-session"), name) if valid_identifier(name) => {
                sso_sessions.entry(name.to_string())
            }
            _ => continue,
        };
        target.or_default().extend(properties);
    }
    for (header, properties) in sections(credentials_text) {
        if let (None, name) = section_name(&header)
            && valid_identifier(name)
        {
            profiles
                .entry(name.to_string())
                .or_default()
                .extend(properties);
        }
    }
    profiles
        .into_iter()
        .map(|(name, properties)| profile(name, &properties, &sso_sessions))
        .collect()
}

fn profile(
    name: String,
    properties: &Properties,
    sso_sessions: &BTreeMap<String, Properties>,
) -> ProfileInfo {
    let get = |key: &str| properties.get(key).filter(|v| !v.is_empty()).cloned();
    ProfileInfo {
        region: get("region"),
        sign_in: sign_in(properties, sso_sessions),
        endpoint_url: get("endpoint_url"),
        sso_account_id: get("sso_account_id"),
        sso_role_name: get("sso_role_name"),
        name,
    }
}

/// The Rust SDK's order (`profile::credentials::repr`): `role_arn` (unless it is for a web
/// identity token), web identity, SSO, `credential_process`, access keys.
fn sign_in(properties: &Properties, sso_sessions: &BTreeMap<String, Properties>) -> SignIn {
    let get = |key: &str| properties.get(key).filter(|v| !v.is_empty()).cloned();
    if let Some(role_arn) = get("role_arn") {
        let source = if get("web_identity_token_file").is_some() {
            RoleSource::WebIdentityToken
        } else if let Some(profile) = get("source_profile") {
            RoleSource::Profile(profile)
        } else if let Some(source) = get("credential_source") {
            RoleSource::CredentialSource(source)
        } else {
            RoleSource::Missing
        };
        return SignIn::AssumeRole { role_arn, source };
    }
    let sso_keys = [
        "sso_session",
        "sso_start_url",
        "sso_account_id",
        "sso_role_name",
        "sso_region",
    ];
    if sso_keys.iter().any(|k| get(k).is_some()) {
        let session = get("sso_session");
        let start_url = match &session {
            Some(session) => sso_sessions
                .get(session)
                .and_then(|s| s.get("sso_start_url"))
                .filter(|v| !v.is_empty())
                .cloned(),
            None => get("sso_start_url"),
        };
        return SignIn::Sso { session, start_url };
    }
    if get("credential_process").is_some() {
        return SignIn::Process;
    }
    if get("aws_access_key_id").is_some() {
        return SignIn::Static;
    }
    SignIn::Unknown
}

const WHITESPACE: &[char] = &[' ', '\t'];
const COMMENT: &[char] = &['#', ';'];
/// Properties whose values are secrets: never kept, not even while parsing.
const SECRETS: &[&str] = &["aws_secret_access_key", "aws_session_token"];

/// The sections of a file, in order, as (header between the brackets, properties).
fn sections(text: &str) -> Vec<(String, Properties)> {
    let mut sections: Vec<(String, Properties)> = Vec::new();
    // Properties of a malformed section header are dropped with it.
    let mut in_valid_section = false;
    for line in text.lines() {
        if line.trim_matches(WHITESPACE).is_empty() || line.starts_with(COMMENT) {
            continue;
        }
        if line.starts_with(WHITESPACE) {
            // A continuation or sub-property line: nothing read here lives in one.
            continue;
        }
        if line.starts_with('[') {
            let header = strip_comment(line, false)
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'));
            in_valid_section = header.is_some();
            if let Some(header) = header {
                sections.push((header.to_string(), Properties::new()));
            }
            continue;
        }
        let Some((key, value)) = strip_comment(line, true).split_once('=') else {
            continue;
        };
        let key = key.trim_matches(WHITESPACE).to_ascii_lowercase();
        if key.is_empty() || !in_valid_section || SECRETS.contains(&key.as_str()) {
            continue;
        }
        if let Some((_, properties)) = sections.last_mut() {
            properties.insert(key, value.trim_matches(WHITESPACE).to_string());
        }
    }
    sections
}

/// Trims the line and cuts a trailing comment: in a property line only a `#` or `;` after
/// whitespace starts one (`https://x/#frag` is a value), in a section line any does.
fn strip_comment(line: &str, comments_need_whitespace: bool) -> &str {
    let line = line.trim_matches(WHITESPACE);
    let mut previous_whitespace = false;
    for (index, c) in line.char_indices() {
        if COMMENT.contains(&c) && (previous_whitespace || !comments_need_whitespace) {
            return line[..index].trim_matches(WHITESPACE);
        }
        previous_whitespace = c.is_whitespace();
    }
    line
}

/// `profile name` → (`Some("profile")`, `name`); `default` → (`None`, `default`).
fn section_name(header: &str) -> (Option<&str>, &str) {
    let header = header.trim_matches(WHITESPACE);
    match header.split_once(WHITESPACE) {
        Some((prefix, name)) => (Some(prefix.trim()), name.trim_matches(WHITESPACE)),
        None => (None, header),
    }
}

/// Profile and session names the SDKs accept: `[A-Za-z0-9_\-/.%@:+]+`.
fn valid_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
# a comment line
; another one
[default]
region = us-east-1

[profile prod]   # section comment
Region = ap-northeast-2 ; inline comment
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnly

[profile legacy-sso]
sso_start_url = https://d-123.awsapps.com/start#/
sso_account_id = 222222222222
sso_role_name = Admin
sso_region = us-east-1

[profile dr]
role_arn = arn:aws:iam::333333333333:role/haven-reader
source_profile = default
external_id = abc
region = us-west-2

[profile ci]
role_arn = arn:aws:iam::444444444444:role/ci
credential_source = Ec2InstanceMetadata

[profile tool]
credential_process = /usr/bin/get-creds --secret s3cr3t

[profile lab]
endpoint_url = http://127.0.0.1:5000
s3 =
  addressing_style = path

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1

[services local]
ec2 =
  endpoint_url = http://localhost:4566

[not-a-profile]
region = eu-west-3
";

    const CREDENTIALS: &str = "\
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = very-secret

[lab]
aws_access_key_id = test
aws_secret_access_key = test
aws_session_token = also-secret

[profile ignored]
aws_access_key_id = AKIAIGNORED
";

    fn by_name<'a>(profiles: &'a [ProfileInfo], name: &str) -> &'a ProfileInfo {
        profiles
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("profile {name} in {profiles:?}"))
    }

    #[test]
    fn the_profiles_of_both_files_are_listed_once_each_sorted_by_name() {
        let profiles = parse_shared_config(CONFIG, CREDENTIALS);
        let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["ci", "default", "dr", "lab", "legacy-sso", "prod", "tool"],
            "sso-session, services, a bare [name] in the config file and [profile x] in the \
             credentials file are not profiles"
        );
    }

    #[test]
    fn each_profile_says_how_it_signs_in() {
        let profiles = parse_shared_config(CONFIG, CREDENTIALS);
        assert_eq!(by_name(&profiles, "default").sign_in, SignIn::Static);
        assert_eq!(
            by_name(&profiles, "prod").sign_in,
            SignIn::Sso {
                session: Some("corp".into()),
                start_url: Some("https://corp.awsapps.com/start".into()),
            },
            "the session's start URL"
        );
        assert_eq!(
            by_name(&profiles, "legacy-sso").sign_in,
            SignIn::Sso {
                session: None,
                start_url: Some("https://d-123.awsapps.com/start#/".into()),
            },
            "a # inside a value is not a comment"
        );
        assert_eq!(
            by_name(&profiles, "dr").sign_in,
            SignIn::AssumeRole {
                role_arn: "arn:aws:iam::333333333333:role/haven-reader".into(),
                source: RoleSource::Profile("default".into()),
            }
        );
        assert_eq!(
            by_name(&profiles, "ci").sign_in,
            SignIn::AssumeRole {
                role_arn: "arn:aws:iam::444444444444:role/ci".into(),
                source: RoleSource::CredentialSource("Ec2InstanceMetadata".into()),
            }
        );
        assert_eq!(by_name(&profiles, "tool").sign_in, SignIn::Process);
        assert_eq!(
            by_name(&profiles, "lab").sign_in,
            SignIn::Static,
            "keys from the credentials file, the endpoint from the config file"
        );
    }

    #[test]
    fn regions_endpoints_and_sso_account_are_read_with_comments_and_key_case_as_aws_does() {
        let profiles = parse_shared_config(CONFIG, CREDENTIALS);
        let prod = by_name(&profiles, "prod");
        assert_eq!(prod.region.as_deref(), Some("ap-northeast-2"));
        assert_eq!(prod.sso_account_id.as_deref(), Some("111111111111"));
        assert_eq!(prod.sso_role_name.as_deref(), Some("ReadOnly"));
        assert_eq!(prod.endpoint_url, None);
        let lab = by_name(&profiles, "lab");
        assert_eq!(lab.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(
            lab.region, None,
            "the sub-properties of `s3` are not its own"
        );
        assert_eq!(
            by_name(&profiles, "default").region.as_deref(),
            Some("us-east-1")
        );
    }

    #[test]
    fn no_secret_is_kept() {
        let profiles = parse_shared_config(CONFIG, CREDENTIALS);
        let text = format!("{profiles:?}");
        for secret in ["very-secret", "also-secret", "s3cr3t", "AKIADEFAULT"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }

    #[test]
    fn the_credentials_file_wins_where_both_set_a_property_and_profile_default_replaces_default() {
        let config = "[default]\nregion = eu-west-1\n[profile default]\nregion = us-east-2\n\
                      [profile a]\nregion = eu-west-1\n";
        let credentials = "[a]\nregion = eu-north-1\naws_access_key_id = x\n";
        let profiles = parse_shared_config(config, credentials);
        assert_eq!(
            by_name(&profiles, "default").region.as_deref(),
            Some("us-east-2")
        );
        let a = by_name(&profiles, "a");
        assert_eq!(a.region.as_deref(), Some("eu-north-1"));
        assert_eq!(a.sign_in, SignIn::Static);
    }

    #[test]
    fn missing_or_empty_files_have_no_profiles_and_broken_lines_are_skipped() {
        assert_eq!(parse_shared_config("", ""), Vec::new());
        let profiles = parse_shared_config(
            "region = orphan\n[profile ok]\nno equals sign\nregion=us-east-1\n[profile broken\n\
             region = eu-west-1\n[profile bad name!]\nregion = x\n",
            "\n\n",
        );
        assert_eq!(profiles.len(), 1, "{profiles:?}");
        assert_eq!(profiles[0].name, "ok");
        assert_eq!(profiles[0].region.as_deref(), Some("us-east-1"));
        assert_eq!(profiles[0].sign_in, SignIn::Unknown);
    }

    #[test]
    fn the_sso_cache_key_is_the_session_else_the_start_url() {
        let profiles = parse_shared_config(CONFIG, CREDENTIALS);
        assert_eq!(
            by_name(&profiles, "prod").sign_in.sso_cache_key(),
            Some("corp")
        );
        assert_eq!(
            by_name(&profiles, "legacy-sso").sign_in.sso_cache_key(),
            Some("https://d-123.awsapps.com/start#/")
        );
        assert_eq!(by_name(&profiles, "default").sign_in.sso_cache_key(), None);
        assert_eq!(
            by_name(&profiles, "dr").sign_in.to_string(),
            "assumes arn:aws:iam::333333333333:role/haven-reader from profile default"
        );
    }
}
