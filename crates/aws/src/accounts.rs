//! Accounts: the profiles of the AWS shared config files found where the AWS CLI finds them, the
//! state of a profile's SSO login, and an [`AwsContext`] per account (a profile, and a role to
//! assume on top of it).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_sdk_sts::config::SharedCredentialsProvider;
use chrono::{DateTime, Utc};
use haven_model::accounts::{AccountSpec, ProfileInfo, SsoToken, parse_shared_config};
use sha1::{Digest, Sha1};

pub use haven_model::accounts::sso_login_command;

use crate::context::{AwsContext, ConnectOptions, Timeouts, loader};
use crate::error::AwsError;

/// The session name haven's assumed roles carry (it shows in CloudTrail as who did what).
pub const ROLE_SESSION_NAME: &str = "haven";

/// The two shared files, where the AWS CLI looks for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedFiles {
    /// `AWS_CONFIG_FILE`, else `~/.aws/config`.
    pub config: PathBuf,
    /// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`.
    pub credentials: PathBuf,
}

impl SharedFiles {
    /// The files named by the environment, as the AWS CLI finds them; `None` when a file's
    /// place needs a home directory and there is none.
    pub fn from_env() -> Option<Self> {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// Like [`SharedFiles::from_env`], reading variables through `lookup` (for tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Option<Self> {
        let home = home_dir(&lookup);
        let place = |variable: &str, default: &str| match lookup(variable).filter(|v| !v.is_empty())
        {
            Some(path) => expand_home(&PathBuf::from(path), home.as_deref()),
            None => home.as_ref().map(|h| h.join(default)),
        };
        Some(Self {
            config: place("AWS_CONFIG_FILE", ".aws/config")?,
            credentials: place("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials")?,
        })
    }

    /// Both files in one directory (`config` and `credentials`), for tests and embedding tools.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            config: dir.join("config"),
            credentials: dir.join("credentials"),
        }
    }

    /// The profiles of both files, merged by name and sorted; a missing file has none.
    pub fn read_profiles(&self) -> Result<Vec<ProfileInfo>, AwsError> {
        let config = read_optional(&self.config)?.unwrap_or_default();
        let credentials = read_optional(&self.credentials)?.unwrap_or_default();
        Ok(parse_shared_config(&config, &credentials))
    }

    /// The SDK's form, so that it reads these files and no others.
    #[allow(deprecated)] // The non-deprecated path is aws-runtime, not a dependency of haven.
    fn sdk_files(&self) -> aws_config::profile::profile_file::ProfileFiles {
        use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};
        ProfileFiles::builder()
            .with_file(ProfileFileKind::Config, &self.config)
            .with_file(ProfileFileKind::Credentials, &self.credentials)
            .build()
    }
}

/// The profiles of the shared files the AWS CLI would read (none without a home directory).
pub fn shared_profiles() -> Result<Vec<ProfileInfo>, AwsError> {
    match SharedFiles::from_env() {
        Some(files) => files.read_profiles(),
        None => Ok(Vec::new()),
    }
}

/// Where the AWS CLI keeps the SSO token for a session name (or, for legacy profiles, a start
/// URL): `~/.aws/sso/cache/<SHA-1 of it, in hex>.json` (AWS SDKs and Tools reference guide,
/// "SSO token provider configuration").
pub fn sso_token_file(home: &Path, cache_key: &str) -> PathBuf {
    let digest = Sha1::digest(cache_key.as_bytes());
    home.join(".aws")
        .join("sso")
        .join("cache")
        .join(format!("{}.json", hex::encode(digest)))
}

/// Whether the profile is signed in to IAM Identity Center now. `Missing` for a profile that
/// does not sign in with SSO, and without a home directory. When it is not `Valid`, the way
/// back is [`sso_login_command`].
pub fn sso_login_state(profile: &ProfileInfo) -> SsoToken {
    match home_dir(&|name| std::env::var_os(name)) {
        Some(home) => sso_login_state_at(&home, profile, Utc::now()),
        None => SsoToken::Missing,
    }
}

/// Like [`sso_login_state`], with the home directory and the time given.
pub fn sso_login_state_at(home: &Path, profile: &ProfileInfo, now: DateTime<Utc>) -> SsoToken {
    let Some(key) = profile.sign_in.sso_cache_key() else {
        return SsoToken::Missing;
    };
    let text = std::fs::read_to_string(sso_token_file(home, key)).ok();
    SsoToken::from_cache(text.as_deref(), now)
}

impl AwsContext {
    /// The context of one account: its profile's configuration (Region, endpoint URL, and its
    /// own credentials, not the environment's keys, as `aws --profile` does), with an
    /// assume-role provider on top when `role_arn` is set (session name `haven`, the external
    /// id when given). `base` is what the command line gave for every account: its Region and
    /// endpoint URL win over the profile's, and its profile is used when the account names
    /// none. haven's timeouts and retries apply. Nothing is called until credentials are
    /// needed.
    pub async fn for_account(spec: &AccountSpec, base: &ConnectOptions) -> Self {
        Self::for_account_with(spec, base, SharedFiles::from_env().as_ref()).await
    }

    /// Like [`AwsContext::for_account`], reading the profiles from `files` only.
    pub async fn for_account_in(
        spec: &AccountSpec,
        base: &ConnectOptions,
        files: &SharedFiles,
    ) -> Self {
        Self::for_account_with(spec, base, Some(files)).await
    }

    async fn for_account_with(
        spec: &AccountSpec,
        base: &ConnectOptions,
        files: Option<&SharedFiles>,
    ) -> Self {
        let profile = spec.profile.clone().or_else(|| base.profile.clone());
        let options = ConnectOptions {
            profile: profile.clone(),
            region: base
                .region
                .clone()
                .or_else(|| spec.regions.first().cloned()),
            endpoint_url: base.endpoint_url.clone(),
        };
        let mut loader = loader(&options, &Timeouts::STANDARD);
        if let Some(files) = files {
            loader = loader.profile_files(files.sdk_files());
        }
        let mut sdk = loader.load().await;
        if let Some(profile) = &profile {
            let provider = profile_credentials(&sdk, profile, files);
            sdk = sdk
                .into_builder()
                .credentials_provider(SharedCredentialsProvider::new(provider))
                .build();
        }
        if let Some(role_arn) = &spec.role_arn {
            let provider = assume_role(&sdk, role_arn, spec.external_id.as_deref()).await;
            sdk = sdk
                .into_builder()
                .credentials_provider(SharedCredentialsProvider::new(provider))
                .build();
        }
        Self::with_profile(sdk, profile)
    }
}

/// The named profile's own credentials (keys, SSO, a role chain, a process), with the same
/// Region, timeouts and retries as the rest.
fn profile_credentials(
    sdk: &SdkConfig,
    profile: &str,
    files: Option<&SharedFiles>,
) -> ProfileFileCredentialsProvider {
    let mut provider_config = ProviderConfig::default().with_region(sdk.region().cloned());
    if let Some(timeouts) = sdk.timeout_config() {
        provider_config = provider_config.with_timeout_config(timeouts.clone());
    }
    if let Some(retries) = sdk.retry_config() {
        provider_config = provider_config.with_retry_config(retries.clone());
    }
    let mut builder = ProfileFileCredentialsProvider::builder()
        .configure(&provider_config)
        .profile_name(profile);
    if let Some(files) = files {
        builder = builder.profile_files(files.sdk_files());
    }
    builder.build()
}

/// Assumes `role_arn` with the credentials `sdk` has, through its endpoint (STS of the same
/// emulator, when there is one). STS needs a Region: the account's, else `us-east-1`.
async fn assume_role(
    sdk: &SdkConfig,
    role_arn: &str,
    external_id: Option<&str>,
) -> AssumeRoleProvider {
    let mut builder = AssumeRoleProvider::builder(role_arn)
        .session_name(ROLE_SESSION_NAME)
        .configure(sdk);
    if sdk.region().is_none() {
        builder = builder.region(Region::new("us-east-1"));
    }
    if let Some(id) = external_id {
        builder = builder.external_id(id);
    }
    builder.build().await
}

/// `HOME` (or, on Windows, `USERPROFILE`), as the AWS CLI resolves `~`.
fn home_dir(lookup: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    ["HOME", "USERPROFILE"]
        .iter()
        .find_map(|name| lookup(name).filter(|v| !v.is_empty()))
        .map(PathBuf::from)
}

/// `~/x` → `HOME/x`; `None` when there is a `~` to expand and no home.
fn expand_home(path: &Path, home: Option<&Path>) -> Option<PathBuf> {
    match path.strip_prefix("~") {
        Ok(rest) => home.map(|h| h.join(rest)),
        Err(_) => Some(path.to_path_buf()),
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, AwsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AwsError::SharedConfig {
            path: path.display().to_string(),
            detail: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            vars.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn the_files_are_found_where_the_aws_cli_finds_them() {
        let files = SharedFiles::from_lookup(lookup(&[("HOME", "/home/ana")])).expect("home");
        assert_eq!(files.config, PathBuf::from("/home/ana/.aws/config"));
        assert_eq!(
            files.credentials,
            PathBuf::from("/home/ana/.aws/credentials")
        );
        let files = SharedFiles::from_lookup(lookup(&[
            ("HOME", "/home/ana"),
            ("AWS_CONFIG_FILE", "/etc/aws/config"),
            ("AWS_SHARED_CREDENTIALS_FILE", "~/secrets/creds"),
        ]))
        .expect("home");
        assert_eq!(files.config, PathBuf::from("/etc/aws/config"));
        assert_eq!(files.credentials, PathBuf::from("/home/ana/secrets/creds"));
        assert_eq!(SharedFiles::from_lookup(lookup(&[])), None);
        let files = SharedFiles::from_lookup(lookup(&[
            ("AWS_CONFIG_FILE", "/c"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/k"),
        ]));
        assert!(files.is_some(), "no home is needed when both are named");
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("haven-accounts-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        dir
    }

    #[test]
    fn missing_files_are_no_profiles_and_present_ones_are_read() {
        let dir = temp_dir("read");
        let files = SharedFiles::in_dir(&dir);
        assert_eq!(files.read_profiles().expect("no files"), Vec::new());
        std::fs::write(&files.credentials, "[lab]\naws_access_key_id = x\n").expect("write");
        let profiles = files.read_profiles().expect("credentials only");
        assert_eq!(profiles.len(), 1);
        assert_eq!(profiles[0].name, "lab");
        // A directory where the file should be cannot be read: said, with its path.
        std::fs::create_dir_all(&files.config).expect("mkdir");
        let err = files.read_profiles().expect_err("a directory");
        assert!(
            err.to_string()
                .contains(&files.config.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn the_sso_token_is_looked_up_by_the_sha1_of_the_session_or_start_url() {
        // botocore's `SSOTokenLoader._generate_cache_key`: the SHA-1 of the session name
        // (figures from Python's hashlib).
        let home = temp_dir("sso");
        let file = sso_token_file(&home, "my-sso");
        assert_eq!(
            file.file_name().and_then(|f| f.to_str()),
            Some("0ad374308c5a4e22f723adf10145eafad7c4031c.json")
        );
        assert_eq!(
            sso_token_file(&home, "https://d-123.awsapps.com/start").file_name(),
            Some(std::ffi::OsStr::new(
                "2b829a45f04c9828cb45b7d092d8e4aa30818393.json"
            )),
            "a legacy profile's start URL"
        );
        assert!(file.starts_with(home.join(".aws/sso/cache")));

        let profiles = parse_shared_config(
            "[profile prod]\nsso_session = my-sso\nsso_account_id = 111111111111\n\
             [sso-session my-sso]\nsso_start_url = https://x.awsapps.com/start\n\
             [profile keys]\nregion = us-east-1\n",
            "[keys]\naws_access_key_id = x\n",
        );
        let (keys, prod) = (&profiles[0], &profiles[1]);
        let now = Utc::now();
        assert_eq!(sso_login_state_at(&home, prod, now), SsoToken::Missing);
        std::fs::create_dir_all(file.parent().expect("dir")).expect("mkdir");
        std::fs::write(&file, r#"{"expiresAt": "2020-01-01T00:00:00Z"}"#).expect("write");
        assert!(matches!(
            sso_login_state_at(&home, prod, now),
            SsoToken::Expired { .. }
        ));
        std::fs::write(&file, r#"{"expiresAt": "2999-01-01T00:00:00Z"}"#).expect("write");
        assert!(sso_login_state_at(&home, prod, now).is_valid());
        assert_eq!(sso_login_state_at(&home, keys, now), SsoToken::Missing);
        assert_eq!(
            sso_login_command(&prod.name),
            "aws sso login --profile prod"
        );
    }
}
