//! What a Region failover needs from the DR Region alone (the primary may be gone): the stack's
//! cross-Region replica to promote, the AMI copy to launch, and the AZs to spread over.

use std::collections::BTreeSet;

use haven_model::action::{Action, ActionKind, ResourceKind, ResourceRef};
use haven_model::blueprint::{AmiSource, Blueprint};
use haven_model::plan::dr_network::zones;
use haven_model::plan::{LOGICAL_TAG, STACK_TAG};
use haven_model::relations::SOURCE_TAG;
use haven_model::replication::{DR_STACK_TAG, LINEAGE_TAG};
use haven_model::topology::{DbInstance, Image, Topology};

/// The pieces of a failover into one DR Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The DB instance that becomes the stack's database.
    pub database: String,
    /// The promotion to run first; `None` when an earlier run already adopted it.
    pub promote: Option<Action>,
    /// The AMI copy to launch, when the blueprint names an AMI by id.
    pub image: Option<String>,
    /// The DR Region's AZs (type `availability-zone` only), in name order: the same ones the
    /// DR network was built over.
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

/// The data-loss window of a failover: the replica's lag at promotion, the writes the primary
/// had that the replica had not received. RDS replicates asynchronously; the lag is the
/// CloudWatch metric `ReplicaLag`, which discovery does not read, so it is named, not guessed
/// (<https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Monitoring.html>).
pub fn data_loss_window(target: &Target, region: &str) -> String {
    match &target.promote {
        None => format!(
            "not measured here: {} was promoted by an earlier run",
            target.database
        ),
        Some(_) => format!(
            "unknown to haven (it reads no CloudWatch metrics): the writes lost are those within \
             the replica lag at promotion, CloudWatch AWS/RDS ReplicaLag of {} in {region} \
             (usually seconds)",
            target.database
        ),
    }
}

/// The stack's database in `region`: already adopted (tagged with the stack), or the replica of
/// its primary (by replication source, or by the `haven:source` tag `haven replicate` puts on it,
/// which survives promotion).
fn database<'a>(instances: &'a [DbInstance], stack: &str) -> Option<&'a DbInstance> {
    let adopted = instances.iter().find(|d| {
        d.tags.get(STACK_TAG).map(String::as_str) == Some(stack)
            && d.tags.get(LOGICAL_TAG).map(String::as_str) == Some("db")
    });
    adopted.or_else(|| {
        instances.iter().find(|d| {
            d.read_replica_source
                .as_deref()
                .or(d.tags.get(SOURCE_TAG).map(String::as_str))
                .and_then(|source| source.rsplit_once(":db:"))
                .is_some_and(|(_, source)| crate::failback::is_stack_primary(source, stack))
        })
    })
}

/// The stack's AMI copy in the DR Region: the newest `available` copy tagged with the stack
/// (`haven:dr-stack`, which `haven replicate` puts on the copies it makes) whose lineage is a
/// launch template, or the newest copy of the blueprint's own
/// AMI (`haven:source` ends with its id). Copies of two lineages (two launch templates, or two
/// source Regions) are ambiguous: the failover refuses rather than launch another stack's image.
fn image(images: &[Image], stack: &str, ami: &str, region: &str) -> Result<String, String> {
    let candidates: Vec<&Image> = images
        .iter()
        .filter(|i| i.state == "available")
        .filter(|i| {
            let tagged = i.tags.get(DR_STACK_TAG).map(String::as_str) == Some(stack)
                && i.tags
                    .get(LINEAGE_TAG)
                    .is_some_and(|l| l.starts_with("lt-"));
            tagged || i.tags.get(SOURCE_TAG).is_some_and(|s| s.ends_with(ami))
        })
        .collect();
    let lineages: BTreeSet<&str> = candidates
        .iter()
        .map(|i| {
            i.tags
                .get(LINEAGE_TAG)
                .or(i.tags.get(SOURCE_TAG))
                .map_or("", String::as_str)
        })
        .collect();
    if lineages.len() > 1 {
        return Err(format!(
            "{region} holds AMI copies of stack {stack} from {} lineages ({}): haven cannot tell \
             which one the stack runs. Deregister the copies that are not the stack's, or tag \
             the right one, and run the failover again",
            lineages.len(),
            lineages.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    candidates
        .into_iter()
        .max_by_key(|i| i.created_at)
        .map(|i| i.id.clone())
        .ok_or_else(|| {
            format!(
                "{region} has no available copy of stack {stack}'s AMI: run `haven replicate \
                 --to {region}` first (while the primary Region is still there)"
            )
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
        AmiSource::Id(id) => Some(image(&dr.images, stack, id, region)?),
    };
    let azs = zones(dr, blueprint.network.azs.len())?;
    Ok(Target {
        database: db.identifier.clone(),
        promote,
        image,
        azs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use haven_model::topology::Tags;

    fn copy(id: &str, minutes: i64, tags: &[(&str, &str)]) -> Image {
        Image {
            id: id.to_string(),
            name: None,
            description: None,
            state: "available".to_string(),
            owner_id: None,
            created_at: Some(chrono::Utc::now() - chrono::Duration::minutes(minutes)),
            public: false,
            snapshot_ids: Vec::new(),
            source_image_id: None,
            source_image_region: None,
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Tags>(),
        }
    }

    #[test]
    fn a7_the_failover_launches_only_its_own_stacks_ami_copy() {
        let ours_old = copy(
            "ami-old",
            60,
            &[(DR_STACK_TAG, "lab"), (LINEAGE_TAG, "lt-lab")],
        );
        let ours_new = copy(
            "ami-new",
            5,
            &[(DR_STACK_TAG, "lab"), (LINEAGE_TAG, "lt-lab")],
        );
        // Another stack's copy, newer: before, any `lt-` lineage matched.
        let theirs = copy(
            "ami-shop",
            1,
            &[(DR_STACK_TAG, "shop"), (LINEAGE_TAG, "lt-shop")],
        );
        let images = vec![ours_old.clone(), theirs, ours_new];
        assert_eq!(
            image(&images, "lab", "ami-base", "us-east-1"),
            Ok("ami-new".to_string())
        );
        // Two lineages of the same stack (two templates, or two source Regions): refused.
        let mut other = ours_old;
        other.id = "ami-other".to_string();
        other
            .tags
            .insert(LINEAGE_TAG.to_string(), "lt-second".to_string());
        let mut ambiguous = images.clone();
        ambiguous.push(other);
        let error = image(&ambiguous, "lab", "ami-base", "us-east-1").expect_err("ambiguous");
        assert!(
            error.contains("2 lineages") && error.contains("lt-lab") && error.contains("lt-second"),
            "{error}"
        );
        let error = image(&[], "lab", "ami-base", "us-east-1").expect_err("none");
        assert!(error.contains("haven replicate --to us-east-1"), "{error}");
    }
}
