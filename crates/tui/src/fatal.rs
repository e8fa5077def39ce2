//! How a command fails: one message for the user and the exit status.

use haven_aws::AwsError;

/// A failure the user must act on: one message, a non-zero exit.
#[derive(Debug)]
pub struct Fatal {
    /// What to tell the user.
    pub message: String,
    /// The exit status: 1 for failures, 2 for bad input.
    pub code: u8,
}

impl From<AwsError> for Fatal {
    fn from(error: AwsError) -> Self {
        let message = match &error {
            AwsError::Unreachable {
                endpoint, detail, ..
            } => format!(
                "cannot reach {endpoint}: {detail}. Check --endpoint-url / AWS_ENDPOINT_URL and \
                 your network"
            ),
            AwsError::Timeout { .. } => format!(
                "{error}: the endpoint did not answer. Check --endpoint-url / AWS_ENDPOINT_URL \
                 and your network"
            ),
            _ => error.to_string(),
        };
        Fatal { message, code: 1 }
    }
}

/// Bad input: exit status 2.
pub fn usage(message: String) -> Fatal {
    Fatal { message, code: 2 }
}
