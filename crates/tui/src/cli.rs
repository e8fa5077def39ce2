//! What every subcommand shares: the global flags, the one-message failure, and the preflight
//! that checks input, credentials and reachability before anything else is asked of AWS.

use clap::Args;
use haven_aws::{AwsContext, AwsError, CallerIdentity, ConnectOptions};
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

/// Loads the configuration, checks credentials and reachability, and settles the Regions,
/// before anything else is asked.
pub async fn connect(
    cli: &Global,
    config: &Config,
) -> Result<(AwsContext, Vec<String>, CallerIdentity), Fatal> {
    if let Some(url) = &cli.endpoint_url {
        check_endpoint(url)?;
    }
    let mut requested: Vec<String> = cli.regions.clone();
    if requested.is_empty() {
        requested.extend(cli.region.clone());
    }
    // Regions from config.toml were checked, and warned about, when it was read.
    if requested.is_empty() {
        requested.extend(config.regions.iter().cloned());
    }
    let given = (cli.regions.iter().map(|r| ("--regions", r)))
        .chain(cli.region.iter().map(|r| ("--region", r)));
    for (flag, region) in given {
        check_region_syntax(region)?;
        check_region(flag, region)?;
    }
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
    ctx.check_credentials().await?;
    let identity = ctx.caller_identity().await?;
    Ok((ctx, requested, identity))
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
