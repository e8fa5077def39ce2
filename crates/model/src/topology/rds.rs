//! RDS settings read for the security controls of issue 21.

use serde::{Deserialize, Serialize};

/// What a DB instance or cluster says about access and upkeep; each field `None` when it was
/// not read (topologies saved before haven read it), and then no control judges it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DbSecurity {
    /// Tags copied to its snapshots (`CopyTagsToSnapshot`).
    pub copy_tags_to_snapshot: Option<bool>,
    /// IAM database authentication on (`IAMDatabaseAuthenticationEnabled`).
    pub iam_database_authentication: Option<bool>,
    /// The master (administrator) user name.
    pub master_username: Option<String>,
    /// `open-source-rds-extended-support` or `open-source-rds-extended-support-disabled`
    /// (`EngineLifecycleSupport`): what RDS does once the major version leaves standard
    /// support.
    pub engine_lifecycle_support: Option<String>,
}
