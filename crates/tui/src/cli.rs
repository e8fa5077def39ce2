//! What every subcommand shares: the global flags, the one-message failure, and the preflight
//! that checks input, credentials and reachability before anything else is asked of AWS.

use clap::Args;
use haven_aws::{AwsContext, AwsError, CallerIdentity, ConnectOptions};
use haven_model::accounts::{
    AccountSpec, ProfileInfo, SignIn, sso_login_command, validate_accounts,
};
use haven_model::findings::Policy;
use haven_model::regions;

use crate::config::{Config, read_policy};
pub use crate::fatal::{Fatal, usage};

/// Flags every subcommand takes.
#[derive(Debug, Clone, Default, Args)]
pub struct Global {
    /// Named profile from the shared AWS config files (else AWS_PROFILE).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Accounts to show side by side: profiles of the shared AWS config files, comma-separated,
    /// e.g. prod,dr (replaces `[[accounts]]` in config.toml).
    #[arg(
        long,
        global = true,
        value_delimiter = ',',
        conflicts_with = "profile",
        value_name = "PROFILES"
    )]
    pub profiles: Vec<String>,
    /// The Region, for a single-Region view (else AWS_REGION or the profile's Region).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Regions to show, comma-separated, e.g. ap-northeast-2,us-east-1.
    #[arg(long, global = true, value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Send every call to this endpoint (moto, LocalStack); also AWS_ENDPOINT_URL.
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// Never send a mutating call.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// What the stack is held to (TOML: objectives, primary and DR Regions, ports, accepted
    /// exceptions; docs/findings.md), for the dashboard and `haven check`. Default: policy.toml
    /// in the config directory, else the built-in defaults.
    #[arg(long, global = true, value_name = "FILE")]
    pub policy: Option<std::path::PathBuf>,
}

/// Asks a question on the terminal and returns the answer, trimmed. Without a terminal (a
/// script, CI) it refuses, telling the user to confirm with `--yes`: `doing` is what would
/// happen, e.g. "start 3 copies".
pub fn ask(doing: &str, question: &str) -> Result<String, Fatal> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(usage(format!(
            "this would {doing}: add --yes to confirm (no terminal to ask on). Nothing was sent."
        )));
    }
    eprint!("This will {doing}. {question} ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| usage(format!("cannot read the confirmation: {e}")))?;
    Ok(answer.trim().to_string())
}

/// The policy findings and the DR view are judged against: `--policy FILE`, else the config
/// directory's `policy.toml`, else the defaults.
pub fn policy(cli: &Global, config: &Config) -> Result<Policy, Fatal> {
    let invalid = |e| usage(format!("invalid policy: {e}"));
    match &cli.policy {
        Some(path) => read_policy(path).map_err(invalid)?.ok_or_else(|| {
            usage(format!(
                "cannot read the policy {}: no such file",
                path.display()
            ))
        }),
        None => Ok(read_policy(&config.paths.policy_file())
            .map_err(invalid)?
            .unwrap_or_default()),
    }
}

/// The accounts to show side by side: one per `--profiles` name (each must be a profile of the
/// shared files); none with `--profile` (that one account); else the `[[accounts]]` of
/// config.toml (the profiles they name must exist); else none (one account, from the default
/// credentials). Nothing is called.
pub fn accounts(
    cli: &Global,
    config: &Config,
    profiles: &[ProfileInfo],
) -> Result<Vec<AccountSpec>, Fatal> {
    if !cli.profiles.is_empty() {
        if cli.profile.is_some() {
            return Err(usage(
                "--profiles and --profile cannot be used together: --profiles a,b for several \
                 accounts side by side, --profile NAME for one"
                    .into(),
            ));
        }
        let mut accounts: Vec<AccountSpec> = Vec::new();
        for name in &cli.profiles {
            let name = name.trim();
            if name.is_empty() {
                return Err(usage(
                    "--profiles has an empty name; expected profile names separated by commas, \
                     e.g. --profiles prod,dr"
                        .into(),
                ));
            }
            check_profile(name, "--profiles", profiles)?;
            if !accounts.iter().any(|a| a.name == name) {
                accounts.push(AccountSpec::for_profile(name));
            }
        }
        return Ok(accounts);
    }
    if cli.profile.is_some() {
        // `--profile NAME` asks for that one account, whatever config.toml lists.
        return Ok(Vec::new());
    }
    let file = config.paths.config_file();
    for account in &config.accounts {
        if let Some(profile) = &account.profile {
            let place = format!("{}: account `{}`: profile", file.display(), account.name);
            check_profile(profile, &place, profiles)?;
        }
    }
    // Read from config.toml, where they were checked; checked again for accounts made in code.
    validate_accounts(&config.accounts).map_err(|e| usage(format!("{}: {e}", file.display())))?;
    Ok(config.accounts.clone())
}

/// A profile name given by a person must be one of the shared files' profiles: otherwise one
/// message naming it and every valid one.
fn check_profile(name: &str, given_as: &str, profiles: &[ProfileInfo]) -> Result<(), Fatal> {
    if profiles.iter().any(|p| p.name == name) {
        return Ok(());
    }
    let valid = if profiles.is_empty() {
        "there are none (AWS_CONFIG_FILE or ~/.aws/config, AWS_SHARED_CREDENTIALS_FILE or \
         ~/.aws/credentials; `aws configure --profile NAME` makes one)"
            .to_string()
    } else {
        let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
        format!("the profiles are: {}", names.join(", "))
    };
    Err(usage(format!(
        "{given_as} `{name}`: no such profile in the AWS shared config files; {valid}"
    )))
}

/// Loads the configuration, checks credentials and reachability, and settles the Regions,
/// before anything else is asked.
pub async fn connect(
    cli: &Global,
    config: &Config,
) -> Result<(AwsContext, Vec<String>, CallerIdentity), Fatal> {
    if let Some(url) = &cli.endpoint_url {
        check_endpoint(url)?;
    }
    let cli = &single_account(cli, config)?;
    let mut requested = asked_regions(cli, config)?;
    let options = ConnectOptions {
        profile: cli.profile.clone(),
        region: cli.region.clone().or_else(|| requested.first().cloned()),
        endpoint_url: cli.endpoint_url.clone(),
    };
    let ctx = AwsContext::load(&options).await;
    if requested.is_empty()
        && let Some(region) = ctx.default_region()
    {
        check_region(
            "the default Region (AWS_REGION or the profile's region)",
            &region,
        )?;
        requested.push(region);
    }
    if requested.is_empty() {
        return Err(usage(AwsError::NoRegion.to_string()));
    }
    requested.dedup();
    if let Err(error) = ctx.check_credentials().await {
        return Err(sso_login_needed(cli).unwrap_or_else(|| error.into()));
    }
    let identity = ctx.caller_identity().await?;
    Ok((ctx, requested, identity))
}

/// When the credentials cannot be had and the profile used signs in with IAM Identity Center
/// with no valid session: the command that renews it, in place of the credential chain's words.
fn sso_login_needed(cli: &Global) -> Option<Fatal> {
    let name = (cli.profile.clone())
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "default".into());
    let profiles = haven_aws::shared_profiles().ok()?;
    let command = sso_renewal(profiles.iter().find(|p| p.name == name)?)?;
    Some(Fatal {
        message: format!(
            "profile `{name}` signs in with IAM Identity Center (SSO), and its session has \
             expired or was never started: run `{command}`, then run haven again"
        ),
        code: 1,
    })
}

/// The command that renews a profile's SSO session, when it signs in with SSO and its session
/// is not valid now.
pub fn sso_renewal(profile: &ProfileInfo) -> Option<String> {
    if !matches!(profile.sign_in, SignIn::Sso { .. }) {
        return None;
    }
    (!haven_aws::sso_login_state(profile).is_valid()).then(|| sso_login_command(&profile.name))
}

/// The Regions asked for, checked before any call: `--regions`, else `--region`, else
/// config.toml's (checked, and warned about, when it was read); empty when none was named.
pub fn asked_regions(cli: &Global, config: &Config) -> Result<Vec<String>, Fatal> {
    let given = (cli.regions.iter().map(|r| ("--regions", r)))
        .chain(cli.region.iter().map(|r| ("--region", r)));
    for (flag, region) in given {
        check_region_syntax(region)?;
        check_region(flag, region)?;
    }
    let mut requested: Vec<String> = cli.regions.clone();
    if requested.is_empty() {
        requested.extend(cli.region.clone());
    }
    if requested.is_empty() {
        requested.extend(config.regions.iter().cloned());
    }
    Ok(requested)
}

/// `--profiles` is checked before any call: an unknown profile is named with the valid ones.
/// One profile is that account (as `--profile`); several side by side are for the dashboard
/// (`crate::open`): a command that reads or changes one account refuses them rather than pick
/// one.
fn single_account(cli: &Global, config: &Config) -> Result<Global, Fatal> {
    if cli.profiles.is_empty() {
        return Ok(cli.clone());
    }
    let profiles = haven_aws::shared_profiles()?;
    let accounts = accounts(cli, config, &profiles)?;
    match accounts.as_slice() {
        [one] => Ok(Global {
            profile: one.profile.clone(),
            profiles: Vec::new(),
            ..cli.clone()
        }),
        _ => Err(usage(format!(
            "--profiles {0}: this command works on one account (--profile NAME); the \
             dashboard shows several side by side (haven --profiles {0})",
            cli.profiles.join(",")
        ))),
    }
}

fn check_endpoint(url: &str) -> Result<(), Fatal> {
    let valid = (url.starts_with("http://") || url.starts_with("https://"))
        && url.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
    if valid {
        Ok(())
    } else {
        Err(usage(format!(
            "--endpoint-url {url:?} is not a URL; expected e.g. http://127.0.0.1:5000 or \
             https://ec2.us-east-1.amazonaws.com"
        )))
    }
}

/// A warning on standard error (the dashboard has not taken the terminal yet) and in the log.
fn warn(text: &str) {
    eprintln!("haven: warning: {text}");
    tracing::warn!("{text}");
}

/// A Region given with `flag` (`--to`): a known Region, or one shaped like a Region code that
/// AWS may have launched after this build (used with a warning). A misspelling of a known
/// Region is bad input, with the Region it most likely means.
pub fn check_region(flag: &str, region: &str) -> Result<(), Fatal> {
    match regions::classify(region) {
        regions::RegionCode::Known => Ok(()),
        regions::RegionCode::Unlisted { closest } => {
            warn(&regions::unlisted_warning(region, closest));
            Ok(())
        }
        regions::RegionCode::Invalid { closest } => {
            let hint = closest
                .map(|r| format!(" Did you mean {r}?"))
                .unwrap_or_default();
            Err(usage(format!(
                "{flag} {region}: not a Region code; expected e.g. us-east-1.{hint}"
            )))
        }
    }
}

/// A Region code is lowercase letters, digits and dashes; unknown but well-formed codes are
/// reported per Region by discovery, so that the others still come back.
fn check_region_syntax(region: &str) -> Result<(), Fatal> {
    let well_formed = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if well_formed {
        return Ok(());
    }
    let hint = regions::closest(&region.to_ascii_lowercase())
        .map(|r| format!(" Did you mean {r}?"))
        .unwrap_or_default();
    Err(usage(format!(
        "{region:?} is not a Region code; expected e.g. ap-northeast-2 or us-east-1.{hint}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Paths;
    use clap::Parser;
    use haven_model::accounts::parse_shared_config;

    #[derive(Debug, Parser)]
    struct TestCli {
        #[command(flatten)]
        global: Global,
    }

    fn parse(args: &[&str]) -> Result<Global, clap::Error> {
        TestCli::try_parse_from(std::iter::once("haven").chain(args.iter().copied()))
            .map(|cli| cli.global)
    }

    fn config() -> Config {
        Config::defaults(Paths {
            config_dir: "/home/ana/.config/haven".into(),
            cache_dir: "/tmp/cache".into(),
            data_dir: "/tmp/data".into(),
        })
    }

    fn profiles() -> Vec<ProfileInfo> {
        parse_shared_config(
            "[profile prod]\nregion = ap-northeast-2\n[profile dr]\nregion = us-east-1\n",
            "[default]\naws_access_key_id = x\n",
        )
    }

    #[test]
    fn profiles_gives_one_account_per_profile_in_the_order_given() {
        let cli = parse(&["--profiles", "prod,dr,prod"]).expect("valid flags");
        assert_eq!(cli.profiles, ["prod", "dr", "prod"]);
        let given = accounts(&cli, &config(), &profiles()).expect("known profiles");
        assert_eq!(
            given,
            vec![
                AccountSpec::for_profile("prod"),
                AccountSpec::for_profile("dr")
            ],
            "a repeated name is one account"
        );
        let none = accounts(&parse(&[]).expect("no flags"), &config(), &profiles());
        assert_eq!(none.expect("nothing asked"), Vec::new());
    }

    #[test]
    fn an_unknown_profile_is_named_with_the_valid_ones() {
        let cli = parse(&["--profiles", "prod,staging"]).expect("valid flags");
        let fatal = accounts(&cli, &config(), &profiles()).expect_err("staging is unknown");
        assert_eq!(fatal.code, 2);
        assert_eq!(
            fatal.message,
            "--profiles `staging`: no such profile in the AWS shared config files; the profiles \
             are: default, dr, prod"
        );
        let fatal = accounts(&cli, &config(), &[]).expect_err("no profiles at all");
        assert!(
            fatal.message.contains("there are none"),
            "{}",
            fatal.message
        );
        assert!(fatal.message.contains("~/.aws/config"), "{}", fatal.message);
        let fatal = accounts(
            &parse(&["--profiles", "prod,,dr"]).expect("flags"),
            &config(),
            &profiles(),
        )
        .expect_err("an empty name");
        assert!(
            fatal.message.contains("e.g. --profiles prod,dr"),
            "{}",
            fatal.message
        );
    }

    #[test]
    fn profiles_and_profile_cannot_be_used_together() {
        let error = parse(&["--profile", "prod", "--profiles", "prod,dr"]).expect_err("both");
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
        let both = Global {
            profile: Some("prod".into()),
            profiles: vec!["dr".into()],
            ..Global::default()
        };
        let fatal = accounts(&both, &config(), &profiles()).expect_err("both, built in code");
        assert!(
            fatal.message.contains("cannot be used together"),
            "{}",
            fatal.message
        );
    }

    #[test]
    fn the_accounts_of_config_toml_must_name_known_profiles() {
        let mut config = config();
        config.accounts = vec![
            AccountSpec::for_profile("prod"),
            AccountSpec {
                name: "dr".into(),
                profile: Some("dr-old".into()),
                role_arn: Some("arn:aws:iam::210987654321:role/haven".into()),
                ..AccountSpec::default()
            },
        ];
        let fatal = accounts(&parse(&[]).expect("flags"), &config, &profiles())
            .expect_err("dr-old is not a profile");
        assert_eq!(
            fatal.message,
            "/home/ana/.config/haven/config.toml: account `dr`: profile `dr-old`: no such \
             profile in the AWS shared config files; the profiles are: default, dr, prod"
        );
        config.accounts[1].profile = None;
        let listed = accounts(&parse(&[]).expect("flags"), &config, &profiles())
            .expect("the default credentials assume the role");
        assert_eq!(listed.len(), 2);
        let flag = parse(&["--profiles", "dr"]).expect("flags");
        assert_eq!(
            accounts(&flag, &config, &profiles()).expect("the flag wins"),
            vec![AccountSpec::for_profile("dr")]
        );
        let one = parse(&["--profile", "prod"]).expect("flags");
        assert_eq!(
            accounts(&one, &config, &profiles()).expect("--profile is one account"),
            Vec::new()
        );
    }

    #[test]
    fn d_to_accepts_a_region_newer_than_the_build_and_refuses_a_typo() {
        assert!(check_region("--to", "us-east-1").is_ok());
        assert!(check_region("--to", "eu-central-3").is_ok());
        let fatal = check_region("--to", "us-esat-1").expect_err("a typo");
        assert_eq!(fatal.code, 2);
        assert!(
            fatal.message.contains("Did you mean us-east-1?"),
            "{}",
            fatal.message
        );
    }
}
