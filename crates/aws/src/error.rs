//! One error type for every AWS call, built from the SDK's error metadata (code, message,
//! request id), never from display strings.

use std::error::Error as StdError;

use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::operation::RequestId;
use haven_model::{DiscoveryError, Service, regions};

/// What went wrong talking to AWS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// No credentials could be found by the default chain (or the chosen profile).
    #[error(
        "no AWS credentials found ({detail}). Provide them with `--profile NAME` or AWS_PROFILE, \
         AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, `aws sso login`, or an instance role"
    )]
    NoCredentials {
        /// What the credential chain said.
        detail: String,
    },
    /// No Region was given and none is configured.
    #[error(
        "no AWS Region given: pass `--region REGION` or `--regions R1,R2`, or set AWS_REGION \
         (e.g. ap-northeast-2)"
    )]
    NoRegion,
    /// The endpoint could not be reached (refused, DNS, TLS, connection reset).
    #[error("cannot reach {endpoint} for {service} {operation}: {detail}")]
    Unreachable {
        /// The endpoint or Region tried.
        endpoint: String,
        /// The service.
        service: Service,
        /// The operation.
        operation: String,
        /// What the connection attempt said.
        detail: String,
    },
    /// Something answered at the endpoint, but not as AWS does: no AWS error code, or a body no
    /// AWS protocol reads (a web server, a captive portal, a proxy's error page, the wrong port).
    #[error(
        "{endpoint} answered {service} {operation} with HTTP {status} ({looked_like}), which is \
         not an AWS answer: check --endpoint-url / AWS_ENDPOINT_URL (or the proxy between)"
    )]
    NotAws {
        /// The endpoint or Region tried.
        endpoint: String,
        /// The service.
        service: Service,
        /// The operation.
        operation: String,
        /// The HTTP status of the answer.
        status: u16,
        /// What the answer looked like: its content type and first characters.
        looked_like: String,
    },
    /// The call did not finish in time.
    #[error("{service} {operation} timed out")]
    Timeout {
        /// The service.
        service: Service,
        /// The operation.
        operation: String,
    },
    /// AWS answered with an error.
    #[error("{service} {operation}: {code}: {message}")]
    Service {
        /// The service.
        service: Service,
        /// The operation.
        operation: String,
        /// The AWS error code, e.g. `AccessDenied`.
        code: String,
        /// The AWS error message.
        message: String,
        /// The request id, for AWS support.
        request_id: Option<String>,
    },
    /// AWS refused the credentials in a Region that must be enabled for the account first: a
    /// Region that is not enabled answers as if the credentials were wrong.
    #[error(
        "{service} {operation} in {region}: {code}: {message}. Is Region {region} enabled for \
         this account? Opt-in Regions must be enabled in the account settings before any call \
         there succeeds (console: account menu → Account → AWS Regions; CLI: `aws account \
         enable-region --region-name {region}`), which can take minutes to hours"
    )]
    RegionNotEnabled {
        /// The Region the call went to.
        region: String,
        /// The service.
        service: Service,
        /// The operation.
        operation: String,
        /// The AWS error code (`AuthFailure`, `UnrecognizedClientException`,
        /// `InvalidClientTokenId`).
        code: String,
        /// The AWS error message.
        message: String,
        /// The request id, for AWS support.
        request_id: Option<String>,
    },
    /// The temporary session credentials expired, typically during a long wait.
    #[error(
        "{service} {operation}: {code}: {message}. The session credentials expired: static \
         temporary credentials (AWS_SESSION_TOKEN) are never renewed, and a long wait outlives \
         them. Use a profile that renews them on its own (IAM Identity Center/SSO, a role to \
         assume, credential_process) with `--profile`, then run the command again: it picks \
         up what AWS already did"
    )]
    CredentialsExpired {
        /// The service.
        service: Service,
        /// The operation.
        operation: String,
        /// The AWS error code (`ExpiredToken`, `ExpiredTokenException`).
        code: String,
        /// The AWS error message.
        message: String,
        /// The request id, for AWS support.
        request_id: Option<String>,
    },
    /// `--read-only` is on and the action would change something; nothing was sent.
    #[error("read-only mode: refusing to {action}; nothing was sent")]
    ReadOnly {
        /// The action refused, as a sentence.
        action: String,
    },
    /// An action was started but did not reach its end state in the time allowed.
    #[error(
        "{service}: gave up after {waited_seconds} s waiting for {waiting_for} (the request was \
         accepted; it may still finish)"
    )]
    WaitTimedOut {
        /// The service polled.
        service: Service,
        /// What was being waited for, e.g. "instance i-… to be stopped".
        waiting_for: String,
        /// How long it was waited for.
        waited_seconds: u64,
    },
    /// A shared AWS config or credentials file exists but cannot be read.
    #[error("cannot read the AWS shared config file {path}: {detail}")]
    SharedConfig {
        /// The file.
        path: String,
        /// What the operating system said.
        detail: String,
    },
    /// The response could not be understood, or the request not built.
    #[error("{service} {operation}: {detail}")]
    Other {
        /// The service.
        service: Service,
        /// The operation.
        operation: String,
        /// Details.
        detail: String,
    },
}

/// The codes AWS answers with when it does not accept the credentials. In a Region that must be
/// enabled first and is not, every call is refused this way: EC2 says `AuthFailure`, JSON
/// services `UnrecognizedClientException`, query services (STS, Auto Scaling, ELB, RDS)
/// `InvalidClientTokenId` (AWS Account Management reference guide, "Specify which AWS Regions
/// your account can use"; the services' "Common Errors").
const CREDENTIALS_REFUSED: &[&str] = &[
    "AuthFailure",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
];

/// The codes of expired temporary credentials ("Common Errors": `ExpiredTokenException`; the
/// query services spell it `ExpiredToken`).
const CREDENTIALS_EXPIRED: &[&str] = &["ExpiredToken", "ExpiredTokenException"];

/// Where a call went: the endpoint for messages, and the Region it was signed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The endpoint URL override, or `AWS (<region>)`.
    pub label: String,
    /// The Region (for IAM, the Region its calls are signed for).
    pub region: String,
}

impl AwsError {
    /// Classifies an SDK error of any service by its kind and metadata.
    pub(crate) fn from_sdk<E>(
        service: Service,
        operation: &str,
        endpoint: &Endpoint,
        error: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let operation = operation.to_string();
        let not_aws = |raw: &HttpResponse| Self::NotAws {
            endpoint: endpoint.label.clone(),
            service,
            operation: operation.clone(),
            status: raw.status().as_u16(),
            looked_like: looked_like(raw),
        };
        match &error {
            SdkError::ServiceError(context) => {
                let inner = context.err();
                let meta = inner.meta();
                // Every AWS error carries a code; an answer without one came from something else.
                let Some(code) = meta.code().map(str::to_string) else {
                    return not_aws(context.raw());
                };
                let message = meta
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("the service answered with an error ({code})"));
                let request_id = meta.request_id().map(str::to_string);
                // IAM is global: a refusal there is about the credentials, not a Region. A
                // Region enabled by default that refuses them has wrong credentials, which the
                // plain message says.
                if CREDENTIALS_REFUSED.contains(&code.as_str())
                    && service != Service::Iam
                    && regions::needs_opt_in(&endpoint.region)
                {
                    return Self::RegionNotEnabled {
                        region: endpoint.region.clone(),
                        service,
                        operation,
                        code,
                        message,
                        request_id,
                    };
                }
                if CREDENTIALS_EXPIRED.contains(&code.as_str()) {
                    return Self::CredentialsExpired {
                        service,
                        operation,
                        code,
                        message,
                        request_id,
                    };
                }
                Self::Service {
                    service,
                    operation,
                    code,
                    message,
                    request_id,
                }
            }
            SdkError::TimeoutError(_) => Self::Timeout { service, operation },
            SdkError::DispatchFailure(failure) if failure.is_timeout() => {
                Self::Timeout { service, operation }
            }
            SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_other() => {
                Self::Unreachable {
                    endpoint: endpoint.label.clone(),
                    service,
                    operation,
                    detail: root_cause(&error),
                }
            }
            SdkError::ResponseError(context) => not_aws(context.raw()),
            _ => Self::Other {
                service,
                operation,
                detail: root_cause(&error),
            },
        }
    }

    /// An answer without a field the call always returns (`what`, e.g. "snapshot id").
    pub(crate) fn missing(service: Service, operation: &str, what: &str) -> Self {
        Self::Other {
            service,
            operation: operation.to_string(),
            detail: format!("the response has no {what}"),
        }
    }

    /// The AWS error code, when AWS returned one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Service { code, .. }
            | Self::RegionNotEnabled { code, .. }
            | Self::CredentialsExpired { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The endpoint could not be reached at all.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Timeout { .. })
    }

    /// The same failure as a discovery error in a Region (`None` for global services).
    pub fn to_discovery_error(&self, region: Option<&str>) -> DiscoveryError {
        let (service, operation) = match self {
            Self::Unreachable {
                service, operation, ..
            }
            | Self::Timeout { service, operation }
            | Self::NotAws {
                service, operation, ..
            }
            | Self::Service {
                service, operation, ..
            }
            | Self::RegionNotEnabled {
                service, operation, ..
            }
            | Self::CredentialsExpired {
                service, operation, ..
            }
            | Self::Other {
                service, operation, ..
            } => (*service, operation.clone()),
            Self::WaitTimedOut { service, .. } => (*service, String::new()),
            Self::NoCredentials { .. }
            | Self::NoRegion
            | Self::ReadOnly { .. }
            | Self::SharedConfig { .. } => (Service::Sts, String::new()),
        };
        DiscoveryError {
            region: region.map(str::to_string),
            service,
            operation,
            code: self.code().map(str::to_string),
            message: self.to_string(),
            part: None,
        }
    }
}

/// An answer's content type and first characters on one line, for a message: enough to tell
/// an HTML page from JSON from nothing at all.
fn looked_like(raw: &HttpResponse) -> String {
    let kind = raw
        .headers()
        .get("content-type")
        .map(|t| t.split(';').next().unwrap_or(t).trim().to_string())
        .unwrap_or_else(|| "no content type".to_string());
    let body = raw
        .body()
        .bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let words = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.is_empty() {
        return format!("{kind}, empty body");
    }
    let start: String = words.chars().take(60).collect();
    let cut = if start.len() < words.len() { "…" } else { "" };
    format!("{kind} starting '{start}{cut}'")
}

/// The innermost cause of an error, which is the readable one (e.g. "Connection refused").
fn root_cause(error: &(dyn StdError + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::config::http::HttpResponse;
    use aws_sdk_ec2::error::ErrorMetadata;
    use aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsError;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    #[test]
    fn a_service_error_keeps_code_message_and_request_id() {
        let meta = ErrorMetadata::builder()
            .code("UnauthorizedOperation")
            .message("You are not authorized to perform this operation.")
            .custom("aws_request_id", "req-1234")
            .build();
        let response = HttpResponse::new(
            403.try_into().expect("status"),
            SdkBody::from("<Response/>"),
        );
        let sdk = SdkError::service_error(DescribeVpcsError::generic(meta), response);
        let error = AwsError::from_sdk(Service::Ec2, "DescribeVpcs", &endpoint("us-east-1"), sdk);
        assert_eq!(
            error,
            AwsError::Service {
                service: Service::Ec2,
                operation: "DescribeVpcs".into(),
                code: "UnauthorizedOperation".into(),
                message: "You are not authorized to perform this operation.".into(),
                request_id: Some("req-1234".into()),
            }
        );
        let recorded = error.to_discovery_error(Some("us-east-1"));
        assert_eq!(recorded.code.as_deref(), Some("UnauthorizedOperation"));
        assert_eq!(recorded.operation, "DescribeVpcs");
        assert_eq!(
            recorded.message,
            "ec2 DescribeVpcs: UnauthorizedOperation: You are not authorized to perform this operation."
        );
    }

    fn endpoint(region: &str) -> Endpoint {
        Endpoint {
            label: format!("AWS ({region})"),
            region: region.into(),
        }
    }

    /// The error the SDK gives for `code`, as from a `DescribeVpcs` call.
    fn refused(code: &str, message: &str) -> SdkError<DescribeVpcsError, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        let response = HttpResponse::new(403.try_into().expect("status"), SdkBody::from(""));
        SdkError::service_error(DescribeVpcsError::generic(meta), response)
    }

    #[test]
    fn d_refused_credentials_in_an_opt_in_region_ask_whether_it_is_enabled() {
        for (code, region) in [
            ("AuthFailure", "ap-southeast-7"),
            ("UnrecognizedClientException", "me-central-1"),
            ("InvalidClientTokenId", "ap-southeast-9"),
        ] {
            let error = AwsError::from_sdk(
                Service::Ec2,
                "DescribeVpcs",
                &endpoint(region),
                refused(
                    code,
                    "AWS was not able to validate the provided access credentials",
                ),
            );
            assert!(
                matches!(error, AwsError::RegionNotEnabled { .. }),
                "{error:?}"
            );
            assert_eq!(error.code(), Some(code));
            let text = error.to_string();
            assert!(
                text.contains(&format!("Is Region {region} enabled for this account?")),
                "{text}"
            );
            assert!(text.contains("Opt-in Regions must be enabled"), "{text}");
            let recorded = error.to_discovery_error(Some(region));
            assert_eq!(recorded.code.as_deref(), Some(code));
            assert_eq!(recorded.message, text);
        }
        // In a Region every account has, and for IAM (global), it is the credentials.
        let error = AwsError::from_sdk(
            Service::Ec2,
            "DescribeVpcs",
            &endpoint("us-east-1"),
            refused(
                "AuthFailure",
                "AWS was not able to validate the provided access credentials",
            ),
        );
        assert!(matches!(error, AwsError::Service { .. }), "{error:?}");
        let error = AwsError::from_sdk(
            Service::Iam,
            "ListRoles",
            &endpoint("af-south-1"),
            refused(
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            ),
        );
        assert!(matches!(error, AwsError::Service { .. }), "{error:?}");
        // Built from the code, never from the message.
        let error = AwsError::from_sdk(
            Service::Ec2,
            "DescribeVpcs",
            &endpoint("af-south-1"),
            refused("UnauthorizedOperation", "AuthFailure: not enabled"),
        );
        assert!(matches!(error, AwsError::Service { .. }), "{error:?}");
    }

    #[test]
    fn d_expired_session_credentials_say_to_use_a_profile_that_renews_them() {
        for code in ["ExpiredToken", "ExpiredTokenException"] {
            let error = AwsError::from_sdk(
                Service::Rds,
                "DescribeDBSnapshots",
                &endpoint("us-east-1"),
                refused(
                    code,
                    "The security token included in the request is expired",
                ),
            );
            assert!(
                matches!(error, AwsError::CredentialsExpired { .. }),
                "{error:?}"
            );
            assert_eq!(error.code(), Some(code));
            let text = error.to_string();
            assert!(text.contains("session credentials expired"), "{text}");
            assert!(text.contains("AWS_SESSION_TOKEN"), "{text}");
            assert!(text.contains("--profile"), "{text}");
            assert!(text.contains("run the command again"), "{text}");
        }
    }
}
