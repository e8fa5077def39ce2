//! One `SdkConfig` built the standard way (credential chain, profiles, SSO, Region, endpoint URL),
//! and per-Region clients derived from it.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::ProvideCredentials;
use haven_model::Service;

use crate::error::{AwsError, Endpoint};

/// How to reach AWS, as given on the command line (anything unset comes from the environment and
/// the shared config files, as with the AWS CLI).
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Named profile (`--profile`); else `AWS_PROFILE`, else `default`.
    pub profile: Option<String>,
    /// Region for global calls and the default Region (`--region`); else `AWS_REGION` / profile.
    pub region: Option<String>,
    /// Endpoint URL for every service (`--endpoint-url`); else `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
}

/// Who the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// Account id.
    pub account: String,
    /// Caller ARN.
    pub arn: String,
}

/// Attempts per call (the first and its retries) unless AWS_MAX_ATTEMPTS says otherwise.
pub const MAX_ATTEMPTS: u32 = 6;

/// How long a call may take: connecting, one attempt, and the whole call with its retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the connection.
    pub connect: Duration,
    /// One attempt (one HTTP request and its response).
    pub attempt: Duration,
    /// The whole call, every retry and backoff included.
    pub operation: Duration,
}

impl Timeouts {
    /// haven's timeouts for every call. A describe or create answers in seconds at most (AWS's
    /// own long work, such as an RDS create, goes on after the call returns and is polled), so
    /// 60 s for one attempt only ever ends a hung connection (and leaves room for a slow
    /// emulator under load). Without a bound on the whole operation, a call that hangs on each
    /// of its 6 attempts would take about 6 minutes before it failed (audit D); the SDK's
    /// operation timeout covers "the time to complete an operation, including all retries"
    /// (AWS SDK for Rust developer guide, "Timeouts";
    /// `aws_config::timeout::TimeoutConfigBuilder::operation_timeout`), so a hung call now fails
    /// within 2 minutes: two hung attempts at most, or many throttled ones with their backoff.
    pub const STANDARD: Self = Self {
        connect: Duration::from_secs(3),
        attempt: Duration::from_secs(60),
        operation: Duration::from_secs(120),
    };

    /// The SDK's form.
    pub fn config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }
}

/// The shared SDK configuration from which every client is made.
#[derive(Debug, Clone)]
pub struct AwsContext {
    sdk: SdkConfig,
    /// The shared-config profile whose credentials it signs with, when one was named for an
    /// account: credential errors name it (several accounts, several profiles).
    profile: Option<String>,
}

impl AwsContext {
    /// Loads the configuration the way the AWS CLI does, with haven's timeouts.
    pub async fn load(options: &ConnectOptions) -> Self {
        Self::from_sdk_config(loader(options, &Timeouts::STANDARD).load().await)
    }

    /// Wraps a configuration built elsewhere (tests, embedding tools).
    pub fn from_sdk_config(sdk: SdkConfig) -> Self {
        Self { sdk, profile: None }
    }

    /// The same, signing with the credentials of `profile` (named in credential errors).
    pub(crate) fn with_profile(sdk: SdkConfig, profile: Option<String>) -> Self {
        Self { sdk, profile }
    }

    /// The configured default Region, if any.
    pub fn default_region(&self) -> Option<String> {
        self.sdk.region().map(|r| r.to_string())
    }

    /// The endpoint URL override, if any (moto, LocalStack).
    pub fn endpoint_url(&self) -> Option<&str> {
        self.sdk.endpoint_url()
    }

    /// Where calls go, for messages: the override, or AWS in that Region.
    pub(crate) fn endpoint_label(&self, region: &str) -> Endpoint {
        let label = match self.endpoint_url() {
            Some(url) => url.to_string(),
            None => format!("AWS ({region})"),
        };
        Endpoint {
            label,
            region: region.to_string(),
        }
    }

    /// Resolves credentials once, so that missing ones are reported before any call is made.
    pub async fn check_credentials(&self) -> Result<(), AwsError> {
        let Some(provider) = self.sdk.credentials_provider() else {
            return Err(AwsError::NoCredentials {
                detail: "no credential provider is configured".into(),
            });
        };
        match provider.provide_credentials().await {
            Ok(_) => Ok(()),
            Err(error) => Err(AwsError::NoCredentials {
                detail: match &self.profile {
                    Some(profile) => format!("profile `{profile}`: {}", source_chain(&error)),
                    None => source_chain(&error),
                },
            }),
        }
    }

    /// Asks STS who the credentials belong to; the first call, and the reachability check.
    ///
    /// An endpoint that cannot be reached is named in the operating system's words (refused,
    /// unresolvable, no route, silent): at once for an endpoint override, and after a failed
    /// call for AWS itself.
    pub async fn caller_identity(&self) -> Result<CallerIdentity, AwsError> {
        let region = self.default_region().unwrap_or_else(|| "us-east-1".into());
        let unreachable = |url: String, why: crate::reach::Unreachable| AwsError::Unreachable {
            endpoint: url,
            service: Service::Sts,
            operation: "GetCallerIdentity".into(),
            detail: why.to_string(),
        };
        if let Some(url) = self.endpoint_url() {
            crate::reach::probe(url)
                .await
                .map_err(|why| unreachable(url.to_string(), why))?;
        }
        let client = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&self.sdk)
                .region(Region::new(region.clone()))
                .timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(Duration::from_secs(3))
                        // Room for the retries a throttled or dropped call gets (backoff of
                        // up to a few seconds each); a silent endpoint is named by the probe
                        // above, or fails each attempt at the connect timeout.
                        .operation_timeout(Duration::from_secs(30))
                        .build(),
                )
                .build(),
        );
        let output = match client.get_caller_identity().send().await {
            Ok(output) => output,
            Err(e) => {
                let error = AwsError::from_sdk(
                    Service::Sts,
                    "GetCallerIdentity",
                    &self.endpoint_label(&region),
                    e,
                );
                if error.is_unreachable() && self.endpoint_url().is_none() {
                    let url = format!("https://sts.{region}.{}", dns_suffix(&region));
                    if let Err(why) = crate::reach::probe(&url).await {
                        return Err(unreachable(url, why));
                    }
                }
                return Err(error);
            }
        };
        Ok(CallerIdentity {
            account: output.account().unwrap_or_default().to_string(),
            arn: output.arn().unwrap_or_default().to_string(),
        })
    }

    pub(crate) fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_string()))
                .build(),
        )
    }

    pub(crate) fn autoscaling(&self, region: &str) -> aws_sdk_autoscaling::Client {
        aws_sdk_autoscaling::Client::from_conf(
            aws_sdk_autoscaling::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_string()))
                .build(),
        )
    }

    /// Route 53 is global: its calls are signed for `us-east-1` whatever the default Region (an
    /// endpoint override still applies).
    pub(crate) fn route53(&self) -> aws_sdk_route53::Client {
        aws_sdk_route53::Client::from_conf(
            aws_sdk_route53::config::Builder::from(&self.sdk)
                .region(Region::new("us-east-1"))
                .build(),
        )
    }

    pub(crate) fn acm(&self, region: &str) -> aws_sdk_acm::Client {
        aws_sdk_acm::Client::from_conf(
            aws_sdk_acm::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_string()))
                .build(),
        )
    }

    pub(crate) fn elbv2(&self, region: &str) -> aws_sdk_elasticloadbalancingv2::Client {
        aws_sdk_elasticloadbalancingv2::Client::from_conf(
            aws_sdk_elasticloadbalancingv2::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_string()))
                .build(),
        )
    }

    /// Classic Load Balancers (the `elb` API, same endpoint as v2).
    pub(crate) fn elb(&self, region: &str) -> aws_sdk_elasticloadbalancing::Client {
        aws_sdk_elasticloadbalancing::Client::from_conf(
            aws_sdk_elasticloadbalancing::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_string()))
                .build(),
        )
    }

    pub(crate) fn wafv2(&self, region: &str) -> aws_sdk_wafv2::Client {
        aws_sdk_wafv2::Client::from_conf(
            aws_sdk_wafv2::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_string()))
                .build(),
        )
    }

    pub(crate) fn cloudwatch(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::from_conf(
            aws_sdk_cloudwatch::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_string()))
                .build(),
        )
    }

    pub(crate) fn backup(&self, region: &str) -> aws_sdk_backup::Client {
        aws_sdk_backup::Client::from_conf(
            aws_sdk_backup::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_string()))
                .build(),
        )
    }

    pub(crate) fn rds(&self, region: &str) -> aws_sdk_rds::Client {
        aws_sdk_rds::Client::from_conf(
            aws_sdk_rds::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_string()))
                .build(),
        )
    }

    /// IAM is global; its calls are signed for the default Region's partition.
    pub(crate) fn iam(&self) -> aws_sdk_iam::Client {
        let region = self.default_region().unwrap_or_else(|| "us-east-1".into());
        aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(&self.sdk)
                .region(Region::new(region))
                .build(),
        )
    }
}

/// The SDK's loader as the AWS CLI would set it up (credential chain, profiles, SSO, Region,
/// endpoint URL), with haven's timeouts and retries.
pub(crate) fn loader(options: &ConnectOptions, timeouts: &Timeouts) -> aws_config::ConfigLoader {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts.config())
        .http_client(crate::http_client::shared_http_client());
    // Throttling and 5xx are retried with jittered backoff; more attempts than the SDK's 3
    // because one discovery makes hundreds of calls. AWS_MAX_ATTEMPTS still decides.
    //
    // The mode stays `standard`, the dashboard's discovery included. `adaptive` adds a client-side
    // rate limiter, but the AWS SDKs and Tools reference guide ("Retry behavior", "Choosing
    // between standard and adaptive retry modes") calls it appropriate only for specialized use
    // cases, says it may delay even first attempts, and assumes one client per resource that
    // the service throttles on its own: haven sends many unrelated describes (EC2 throttles per
    // API action, "Request throttling for the Amazon EC2 API") through the same clients, so
    // one throttled action would slow every other one. The bursts are bounded instead: at most
    // `http_client::CALLS_IN_FLIGHT` calls per endpoint in flight, four parts of a Region and
    // `discover::CONCURRENCY` detail calls per list at a time, and IAM, the largest burst, is
    // not read on every auto-refresh.
    if std::env::var_os("AWS_MAX_ATTEMPTS").is_none() {
        loader = loader.retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    }
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader
}

fn source_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut current = error;
    while let Some(source) = current.source() {
        parts.push(source.to_string());
        current = source;
    }
    parts.dedup();
    parts.join(": ")
}

/// The DNS suffix of AWS endpoints in a Region's partition.
fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use aws_sdk_ec2::config::Credentials;

    use super::*;

    #[test]
    fn d_a_call_is_bounded_as_a_whole_not_only_per_attempt() {
        let t = Timeouts::STANDARD;
        assert!(t.operation < t.attempt * MAX_ATTEMPTS);
        assert!(t.operation <= Duration::from_secs(120));
        let config = t.config();
        assert_eq!(config.operation_timeout(), Some(t.operation));
        assert_eq!(config.operation_attempt_timeout(), Some(t.attempt));
    }

    /// A server that accepts connections and never answers: a hung call.
    #[tokio::test]
    async fn d_a_hung_call_fails_within_the_operation_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let options = ConnectOptions {
            region: Some("us-east-1".into()),
            endpoint_url: Some(endpoint),
            ..ConnectOptions::default()
        };
        // The same loader as `load`, with the times scaled down: 6 attempts of 1 s would take
        // 6 s and more with backoff; the operation timeout ends it at 2.5 s.
        let timeouts = Timeouts {
            connect: Duration::from_secs(1),
            attempt: Duration::from_secs(1),
            operation: Duration::from_millis(2500),
        };
        let sdk = loader(&options, &timeouts)
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .load()
            .await;
        let ctx = AwsContext::from_sdk_config(sdk);
        let started = Instant::now();
        let result = ctx.ec2("us-east-1").describe_vpcs().send().await;
        let elapsed = started.elapsed();
        let error = AwsError::from_sdk(
            Service::Ec2,
            "DescribeVpcs",
            &ctx.endpoint_label("us-east-1"),
            result.expect_err("nothing answers"),
        );
        assert!(matches!(error, AwsError::Timeout { .. }), "{error:?}");
        assert!(elapsed >= Duration::from_millis(2000), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
        drop(listener);
    }
}
