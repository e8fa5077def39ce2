//! One `SdkConfig` built the standard way (credential chain, profiles, SSO, Region, endpoint URL),
//! and per-Region clients derived from it.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::ProvideCredentials;
use haven_model::Service;

use crate::error::AwsError;

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

/// The shared SDK configuration from which every client is made.
#[derive(Debug, Clone)]
pub struct AwsContext {
    sdk: SdkConfig,
}

impl AwsContext {
    /// Loads the configuration the way the AWS CLI does, with haven's timeouts.
    pub async fn load(options: &ConnectOptions) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        );
        // Throttling and 5xx are retried with jittered backoff; more attempts than the SDK's 3
        // because one discovery makes hundreds of calls. AWS_MAX_ATTEMPTS still decides.
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
        Self::from_sdk_config(loader.load().await)
    }

    /// Wraps a configuration built elsewhere (tests, embedding tools).
    pub fn from_sdk_config(sdk: SdkConfig) -> Self {
        Self { sdk }
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
    pub(crate) fn endpoint_label(&self, region: &str) -> String {
        match self.endpoint_url() {
            Some(url) => url.to_string(),
            None => format!("AWS ({region})"),
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
                detail: source_chain(&error),
            }),
        }
    }

    /// Asks STS who the credentials belong to; the first call, and the reachability check.
    pub async fn caller_identity(&self) -> Result<CallerIdentity, AwsError> {
        let region = self.default_region().unwrap_or_else(|| "us-east-1".into());
        let client = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&self.sdk)
                .region(Region::new(region.clone()))
                .timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(Duration::from_secs(3))
                        .operation_timeout(Duration::from_secs(8))
                        .build(),
                )
                .build(),
        );
        let output = client.get_caller_identity().send().await.map_err(|e| {
            AwsError::from_sdk(
                Service::Sts,
                "GetCallerIdentity",
                &self.endpoint_label(&region),
                e,
            )
        })?;
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

    pub(crate) fn elbv2(&self, region: &str) -> aws_sdk_elasticloadbalancingv2::Client {
        aws_sdk_elasticloadbalancingv2::Client::from_conf(
            aws_sdk_elasticloadbalancingv2::config::Builder::from(&self.sdk)
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
