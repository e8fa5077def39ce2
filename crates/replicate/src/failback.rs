//! What `haven failback` does, as data, once the primary Region answers again after a
//! failover: the stack's database runs in the DR Region (the promoted, adopted replica), and
//! the old primary was left behind in the outage with data that may lack the last writes the
//! replica had, or hold writes the replica never got.
//!
//! The switch back is the planned kind, in this order: a cross-Region replica of the running
//! database in the primary Region's network (the stack's VPC there, its `<stack>-db-subnets`
//! and `db-sg`), writes stopped in the DR Region (its Auto Scaling group at 0), the replica
//! left to catch up, promoted, and the app tier brought up at home on it; then the DR Region
//! becomes a DR Region again (its app tier removed, its DR network kept, a replica of the new
//! primary in it).
//!
//! Identifiers are chosen so that nothing waits for a name RDS still holds (a deleted instance
//! keeps its identifier for minutes): the new primary is `<stack>-db-<UTC yyyymmddhhmm>`, and
//! the old primary's same-Region replicas, whose names the blueprint gives the new primary's
//! replicas, are renamed `<name>-stale-<UTC yyyymmddhhmm>` before. The old primary is never
//! deleted: it leaves the stack (its `haven:stack` tag removed) and is kept, with the command
//! that deletes it after a final snapshot.

use chrono::{DateTime, Utc};
use haven_model::blueprint::Blueprint;
use haven_model::plan::{LOGICAL_TAG, STACK_TAG, adopted_by_failover};
use haven_model::replication::{LINEAGE_TAG, ReplicaRequest};
use haven_model::topology::{DbInstance, Tags, Topology};

/// The tag on the replica `haven failback` makes: the ARN of the database it replicates, so that
/// a run interrupted before the promotion finds it again.
pub const FAILBACK_TAG: &str = "haven:failback-of";

/// The tag `haven failback` puts on what it sets aside instead of deleting: the stack it was
/// part of.
pub const SET_ASIDE_TAG: &str = "haven:set-aside-from";

/// A DB instance left behind in the outage and renamed or untagged instead of deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    /// Its identifier now.
    pub identifier: String,
    /// Its identifier after this run (a replica is renamed to free the blueprint's name).
    pub new_identifier: Option<String>,
    /// Its ARN.
    pub arn: String,
}

/// Everything a failback of one stack needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failback {
    /// The primary Region, where the stack goes back to.
    pub home: String,
    /// The DR Region it runs in now.
    pub dr: String,
    /// The database running the stack in the DR Region.
    pub current: DbInstance,
    /// The replica of it in the primary Region: existing (a run that stopped) or to create.
    pub replica: String,
    /// Whether that replica still has to be created.
    pub create_replica: bool,
    /// Whether it is still a replica (the promotion is still to come).
    pub promote: bool,
    /// The DR Region's Auto Scaling group, whose capacity goes to 0 to stop writes.
    pub dr_group: Option<String>,
    /// The old primary and its same-Region replicas, left behind in the outage.
    pub set_aside: Vec<SetAside>,
}

impl Failback {
    /// What it will do, one line per move, for the confirmation.
    pub fn describe(&self, stack: &str) -> Vec<String> {
        let mut lines = Vec::new();
        if self.create_replica {
            lines.push(format!(
                "create {} in {}: a cross-Region replica of {} ({}) in the stack's network there",
                self.replica, self.home, self.current.identifier, self.dr
            ));
        }
        if let Some(group) = &self.dr_group {
            lines.push(format!(
                "stop writes: scale {group} in {} to 0 (the stack is down from here until its \
                 app tier answers in {})",
                self.dr, self.home
            ));
        }
        if self.promote {
            lines.push(format!(
                "promote {} in {} once it has caught up",
                self.replica, self.home
            ));
        }
        for old in &self.set_aside {
            lines.push(match &old.new_identifier {
                Some(new) => format!(
                    "rename {} to {new} and take it out of stack {stack} (kept, not deleted)",
                    old.identifier
                ),
                None => format!(
                    "take {} (left behind in the outage) out of stack {stack}: kept, not deleted",
                    old.identifier
                ),
            });
        }
        lines.push(format!(
            "haven up in {}: the app tier on {}",
            self.home, self.replica
        ));
        lines.push(format!(
            "remove the app tier in {} (the DR network stays); delete {} after a final snapshot",
            self.dr, self.current.identifier
        ));
        lines.push(format!(
            "create a cross-Region replica of {} in {} again",
            self.replica, self.dr
        ));
        lines
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%d%H%M").to_string()
}

/// Finds what the failback of `blueprint`'s stack from `dr` needs, or says why there is none.
pub fn plan(
    blueprint: &Blueprint,
    topology: &Topology,
    dr: &str,
    now: DateTime<Utc>,
) -> Result<Failback, String> {
    let stack = blueprint.name();
    let home = blueprint.region();
    let dr_region = topology
        .region(dr)
        .ok_or_else(|| format!("{dr} was not discovered"))?;
    let home_region = topology
        .region(home)
        .ok_or_else(|| format!("{home} was not discovered"))?;
    let current = dr_region
        .db_instances
        .iter()
        .find(|d| adopted_by_failover(d, stack))
        .ok_or_else(|| {
            format!(
                "stack {stack} does not run in {dr} (no database there that a failover \
                 adopted): nothing to fail back"
            )
        })?
        .clone();
    let replica = home_region.db_instances.iter().find(|d| {
        d.tags.get(FAILBACK_TAG) == Some(&current.arn)
            || d.read_replica_source.as_deref() == Some(current.arn.as_str())
    });
    let promote = replica.is_none_or(|r| r.read_replica_source.is_some());
    let in_stack = |d: &&DbInstance| d.tags.get(STACK_TAG).map(String::as_str) == Some(stack);
    let set_aside = home_region
        .db_instances
        .iter()
        .filter(in_stack)
        .filter(|d| replica.is_none_or(|r| r.identifier != d.identifier))
        .map(|d| SetAside {
            identifier: d.identifier.clone(),
            // The blueprint's replica names are reused by the new primary's replicas.
            new_identifier: (d.tags.get(LOGICAL_TAG).map(String::as_str) != Some("db"))
                .then(|| format!("{}-stale-{}", d.identifier, stamp(now))),
            arn: d.arn.clone(),
        })
        .collect();
    let dr_group = dr_region
        .auto_scaling_groups
        .iter()
        .find(|g| {
            g.tags.get(STACK_TAG).map(String::as_str) == Some(stack) && g.desired_capacity > 0
        })
        .map(|g| g.name.clone());
    Ok(Failback {
        home: home.to_string(),
        dr: dr.to_string(),
        replica: replica.map_or_else(
            || format!("{stack}-db-{}", stamp(now)),
            |r| r.identifier.clone(),
        ),
        create_replica: replica.is_none(),
        promote,
        dr_group,
        set_aside,
        current,
    })
}

/// The replica of `current` to create in `region`, inside the stack's network there, tagged
/// so that a later run finds it ([`FAILBACK_TAG`]) but not as a DR copy: it becomes the
/// stack's primary.
#[allow(clippy::too_many_arguments)]
pub fn replica_request(
    current: &DbInstance,
    from: &str,
    region: &str,
    identifier: &str,
    network: &haven_model::dr::DrNetwork,
    backup_retention_days: i32,
    kms_key_id: Option<String>,
    stack: &str,
) -> ReplicaRequest {
    let mut tags = Tags::new();
    tags.insert(FAILBACK_TAG.to_string(), current.arn.clone());
    tags.insert(LINEAGE_TAG.to_string(), format!("{stack}-db"));
    tags.insert("Name".to_string(), identifier.to_string());
    ReplicaRequest {
        source_region: from.to_string(),
        source_arn: current.arn.clone(),
        destination_region: region.to_string(),
        identifier: identifier.to_string(),
        class: current.class.clone(),
        kms_key_id: kms_key_id.filter(|_| current.storage_encrypted),
        db_subnet_group: network.db_subnet_group.clone(),
        vpc_security_group_ids: network.security_group_ids.clone(),
        backup_retention_days: backup_retention_days.max(1),
        tags,
    }
}

/// The cross-Region replica of the stack's primary in a DR Region, as `haven replicate` makes
/// it (`<identifier>-<region>`, tagged with its source and lineage), inside the DR network.
pub fn dr_replica_request(
    primary: &DbInstance,
    from: &str,
    region: &str,
    network: &haven_model::dr::DrNetwork,
    kms_key_id: Option<String>,
) -> ReplicaRequest {
    let identifier = haven_model::dr::replica_identifier(&primary.identifier, region);
    let mut tags = Tags::new();
    tags.insert(
        haven_model::relations::SOURCE_TAG.to_string(),
        primary.arn.clone(),
    );
    tags.insert(LINEAGE_TAG.to_string(), primary.identifier.clone());
    if let Some(stack) = primary.tags.get(haven_model::plan::STACK_TAG) {
        tags.insert(
            haven_model::replication::DR_STACK_TAG.to_string(),
            stack.clone(),
        );
    }
    tags.insert("Name".to_string(), identifier.clone());
    ReplicaRequest {
        source_region: from.to_string(),
        source_arn: primary.arn.clone(),
        destination_region: region.to_string(),
        identifier,
        class: primary.class.clone(),
        kms_key_id: kms_key_id.filter(|_| primary.storage_encrypted),
        db_subnet_group: network.db_subnet_group.clone(),
        vpc_security_group_ids: network.security_group_ids.clone(),
        backup_retention_days: primary.backup_retention_days.max(1),
        tags,
    }
}

/// Whether `identifier` names a primary of `stack`: `<stack>-db` as `haven up` makes it, or
/// `<stack>-db-<UTC yyyymmddhhmm>` as `haven failback` does.
pub fn is_stack_primary(identifier: &str, stack: &str) -> bool {
    match identifier.strip_prefix(&format!("{stack}-db")) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('-')
            .is_some_and(|s| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use haven_model::Topology;
    use haven_model::plan::haven_tags;
    use haven_model::relations::SOURCE_TAG;

    fn lab() -> Blueprint {
        let text = include_str!("../../../assets/blueprints/lab.toml");
        haven_model::blueprint::parse(text, "lab.toml", &|_| true).expect("lab blueprint")
    }

    /// After a failover: `lab-db` and its replica left behind at home, the promoted replica
    /// adopted in us-east-1 with the app tier.
    fn failed_over() -> Topology {
        let mut topology =
            Topology::from_json(include_str!("../../../assets/fixtures/lab-healthy.json"))
                .expect("fixture");
        let template = topology
            .region("ap-northeast-2")
            .and_then(|r| r.db_instances.first().cloned())
            .expect("a DB instance");
        let db = |id: &str, region: &str, tags: Tags| DbInstance {
            identifier: id.to_string(),
            arn: format!("arn:aws:rds:{region}:123456789012:db:{id}"),
            read_replica_source: None,
            tags,
            ..template.clone()
        };
        for region in &mut topology.regions {
            region.db_instances.clear();
            if region.region == "ap-northeast-2" {
                region.db_instances.push(db(
                    "lab-db",
                    "ap-northeast-2",
                    haven_tags("lab", "db", "lab-db"),
                ));
                let mut replica = db(
                    "lab-db-replica-1",
                    "ap-northeast-2",
                    haven_tags("lab", "lab-db-replica-1", "lab-db-replica-1"),
                );
                replica.read_replica_source = Some("lab-db".to_string());
                region.db_instances.push(replica);
            } else {
                let mut tags = haven_tags("lab", "db", "lab-db-us-east-1");
                tags.insert(
                    SOURCE_TAG.to_string(),
                    "arn:aws:rds:ap-northeast-2:123456789012:db:lab-db".to_string(),
                );
                region
                    .db_instances
                    .push(db("lab-db-us-east-1", &region.region, tags));
            }
        }
        topology
    }

    #[test]
    fn failback_sets_the_old_primary_aside_and_frees_the_replica_names() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:15:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let failback = plan(&lab(), &failed_over(), "us-east-1", now).expect("a failback");
        assert_eq!(failback.current.identifier, "lab-db-us-east-1");
        assert_eq!(failback.replica, "lab-db-202611301015");
        assert!(failback.create_replica && failback.promote);
        assert!(is_stack_primary(&failback.replica, "lab"));
        assert_eq!(
            failback.set_aside,
            vec![
                SetAside {
                    identifier: "lab-db".into(),
                    new_identifier: None,
                    arn: "arn:aws:rds:ap-northeast-2:123456789012:db:lab-db".into(),
                },
                SetAside {
                    identifier: "lab-db-replica-1".into(),
                    new_identifier: Some("lab-db-replica-1-stale-202611301015".into()),
                    arn: "arn:aws:rds:ap-northeast-2:123456789012:db:lab-db-replica-1".into(),
                },
            ],
            "the old primary keeps its name and data; its replica's name is freed"
        );
        let said = failback.describe("lab").join("\n");
        assert!(said.contains("kept, not deleted"), "{said}");

        // A second run after the replica was made finds it instead of making another.
        let mut topology = failed_over();
        let home = topology
            .regions
            .iter_mut()
            .find(|r| r.region == "ap-northeast-2")
            .expect("home");
        let mut made = home.db_instances[0].clone();
        made.identifier = "lab-db-202611301015".into();
        made.tags = Tags::from([(
            FAILBACK_TAG.to_string(),
            "arn:aws:rds:us-east-1:123456789012:db:lab-db-us-east-1".to_string(),
        )]);
        made.read_replica_source =
            Some("arn:aws:rds:us-east-1:123456789012:db:lab-db-us-east-1".into());
        home.db_instances.push(made);
        let later = now + chrono::Duration::minutes(30);
        let again = plan(&lab(), &topology, "us-east-1", later).expect("a failback");
        assert_eq!(again.replica, "lab-db-202611301015");
        assert!(!again.create_replica && again.promote);

        // Not failed over: nothing to fail back.
        let error = plan(&lab(), &Topology::new(now), "us-east-1", now).expect_err("none");
        assert!(error.contains("not discovered"), "{error}");
    }

    #[test]
    fn stack_primaries_are_named_by_up_or_by_failback() {
        assert!(is_stack_primary("lab-db", "lab"));
        assert!(is_stack_primary("lab-db-202611301015", "lab"));
        assert!(!is_stack_primary("lab-db-replica-1", "lab"));
        assert!(!is_stack_primary("lab-db-us-east-1", "lab"));
        assert!(!is_stack_primary("shop-db", "lab"));
    }
}
