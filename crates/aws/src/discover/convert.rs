//! Small conversions from SDK shapes to model values.

use aws_sdk_ec2::primitives::DateTime;
use chrono::Utc;

/// An optional SDK string as an owned string (empty when absent).
pub(super) fn opt(value: Option<&str>) -> String {
    value.unwrap_or_default().to_string()
}

/// An SDK timestamp as a UTC time.
pub(super) fn time(value: Option<&DateTime>) -> Option<chrono::DateTime<Utc>> {
    let value = value?;
    chrono::DateTime::from_timestamp(value.secs(), value.subsec_nanos())
}
