//! Disaster recovery as data: what protects the stack in each DR Region and how current it is.
//!
//! One answer, read by the findings, the dashboard's `:dr` and `:azloss`, and `haven replicate`.

use crate::plan::{LOGICAL_TAG, STACK_TAG};
use crate::topology::{RegionTopology, Tags};

/// The stack's data tier network in a DR Region, built ahead of any disaster: the cross-Region
/// replica is created inside it, and a failover builds the app tier into the same VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrNetwork {
    /// The stack's VPC in the DR Region.
    pub vpc_id: String,
    /// The DB subnet group over its private subnets (`<stack>-db-subnets`).
    pub db_subnet_group: String,
    /// The database security group (`db-sg`).
    pub security_group_ids: Vec<String>,
}

fn owned(tags: &Tags, stack: &str, logical: &str) -> bool {
    tags.get(STACK_TAG).map(String::as_str) == Some(stack)
        && tags.get(LOGICAL_TAG).map(String::as_str) == Some(logical)
}

/// The DR network of `stack` in `region`, when its VPC, DB subnet group and database security
/// group all exist.
pub fn network(region: &RegionTopology, stack: &str) -> Option<DrNetwork> {
    let vpc = region.vpcs.iter().find(|v| owned(&v.tags, stack, "vpc"))?;
    let group_name = format!("{stack}-db-subnets");
    let group = region
        .db_subnet_groups
        .iter()
        .find(|g| g.name == group_name && g.vpc_id.as_deref() == Some(vpc.id.as_str()))?;
    let security_group_ids: Vec<String> = region
        .security_groups
        .iter()
        .filter(|g| owned(&g.tags, stack, "db-sg") && g.vpc_id.as_deref() == Some(vpc.id.as_str()))
        .map(|g| g.id.clone())
        .collect();
    if security_group_ids.is_empty() {
        return None;
    }
    Some(DrNetwork {
        vpc_id: vpc.id.clone(),
        db_subnet_group: group.name.clone(),
        security_group_ids,
    })
}
