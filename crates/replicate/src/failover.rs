//! What a Region failover needs from the DR Region alone (the primary may be gone): the stack's
//! cross-Region replica to promote, the AMI copy to launch, and the AZs to spread over.

use haven_model::action::{Action, ActionKind, ResourceKind, ResourceRef};
use haven_model::blueprint::{AmiSource, Blueprint};
use haven_model::plan::{LOGICAL_TAG, STACK_TAG};
use haven_model::relations::SOURCE_TAG;
use haven_model::replication::LINEAGE_TAG;
use haven_model::topology::{DbInstance, Topology};

/// The pieces of a failover into one DR Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The DB instance that becomes the stack's database.
    pub database: String,
    /// The promotion to run first; `None` when an earlier run already adopted it.
    pub promote: Option<Action>,
    /// The AMI copy to launch, when the blueprint names an AMI by id.
    pub image: Option<String>,
    /// The DR Region's AZs, in name order.
    pub azs: Vec<String>,
}

impl Target {
    /// One line for people.
    pub fn describe(&self, blueprint: &Blueprint, region: &str) -> String {
        format!(
            "failover of stack {} to {region}: database {} ({}), AMI {}, AZs {}",
            blueprint.name(),
            self.database,
            if self.promote.is_some() {
                "promote the replica"
            } else {
                "already promoted"
            },
            self.image.as_deref().unwrap_or("from the blueprint"),
            self.azs.join(", ")
        )
    }
}

/// The stack's database in `region`: already adopted (tagged with the stack), or the replica of
/// its primary (by replication source, or by the `haven:source` tag `haven replicate` puts on it,
/// which survives promotion).
fn database<'a>(instances: &'a [DbInstance], stack: &str) -> Option<&'a DbInstance> {
    let suffix = format!(":db:{stack}-db");
    let adopted = instances.iter().find(|d| {
        d.tags.get(STACK_TAG).map(String::as_str) == Some(stack)
            && d.tags.get(LOGICAL_TAG).map(String::as_str) == Some("db")
    });
    adopted.or_else(|| {
        instances.iter().find(|d| {
            d.read_replica_source
                .as_deref()
                .or(d.tags.get(SOURCE_TAG).map(String::as_str))
                .is_some_and(|source| source.ends_with(&suffix))
        })
    })
}

/// Finds what a failover of `blueprint`'s stack into `region` needs, or says what is missing.
pub fn target(blueprint: &Blueprint, topology: &Topology, region: &str) -> Result<Target, String> {
    let stack = blueprint.name();
    let dr = topology
        .region(region)
        .ok_or_else(|| format!("{region} was not discovered"))?;
    let db = database(&dr.db_instances, stack).ok_or_else(|| {
        format!(
            "{region} has no replica of {stack}-db: run `haven replicate --to {region}` first \
             (while the primary Region is still there)"
        )
    })?;
    let adopted = db.tags.get(STACK_TAG).map(String::as_str) == Some(stack);
    let promote = (!adopted).then(|| {
        Action::new(
            region,
            ResourceRef::new(ResourceKind::DbInstance, &db.identifier),
            ActionKind::PromoteReadReplica,
        )
    });
    let image = match &blueprint.compute.ami {
        AmiSource::SsmParameter(_) => None,
        AmiSource::Id(id) => {
            let copy = dr
                .images
                .iter()
                .filter(|i| {
                    i.state == "available"
                        && (i
                            .tags
                            .get(LINEAGE_TAG)
                            .is_some_and(|l| l.starts_with("lt-"))
                            || i.tags
                                .get(SOURCE_TAG)
                                .is_some_and(|s| s.ends_with(id.as_str())))
                })
                .max_by_key(|i| i.created_at)
                .ok_or_else(|| {
                    format!(
                        "{region} has no copy of the stack's AMI: run `haven replicate --to \
                         {region}` first"
                    )
                })?;
            Some(copy.id.clone())
        }
    };
    let mut azs: Vec<String> = dr
        .availability_zones
        .iter()
        .filter(|z| z.state == "available")
        .map(|z| z.name.clone())
        .collect();
    azs.sort();
    if azs.len() < blueprint.network.azs.len() {
        return Err(format!(
            "{region} has {} available AZ(s); the stack needs {}",
            azs.len(),
            blueprint.network.azs.len()
        ));
    }
    azs.truncate(blueprint.network.azs.len());
    Ok(Target {
        database: db.identifier.clone(),
        promote,
        image,
        azs,
    })
}
