//! Launch configurations: the legacy way an Auto Scaling group describes its instances.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::MetadataOptions;

/// A launch configuration (only the ones Auto Scaling groups use are discovered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchConfiguration {
    /// Name (its id).
    pub name: String,
    /// ARN.
    pub arn: Option<String>,
    /// AMI id.
    pub image_id: Option<String>,
    /// Instance type.
    pub instance_type: Option<String>,
    /// Instances get a public IPv4 address (`AssociatePublicIpAddress`); `None` = not set (the
    /// subnet's setting applies).
    pub associate_public_ip: Option<bool>,
    /// Metadata service options; `None` = not set (IMDSv1 allowed: `HttpTokens` defaults to
    /// `optional` for launch configurations).
    pub metadata_options: Option<MetadataOptions>,
    /// Creation time.
    pub created_at: Option<DateTime<Utc>>,
}
