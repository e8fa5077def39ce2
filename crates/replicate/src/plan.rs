//! From a topology and a DR policy, the copies that are missing in each DR Region, the
//! cross-Region replicas to create, and the old haven-made copies retention lets go. Pure.
//!
//! What is protected in the source Region:
//! - the AMIs the launch templates' default versions launch (owned by the account);
//! - for every volume that has snapshots, its newest completed snapshot;
//! - for every DB instance that is not a replica, its newest available snapshot, and (when the
//!   policy asks) a read replica in each DR Region;
//! - for every DB cluster, its newest available cluster snapshot.
//!
//! A copy is found again by its `haven:source` tag, by AWS's own source fields or the
//! `[Copied … from …]` description, or by the fixed name haven gives it, so a re-run plans
//! nothing twice.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use haven_model::arn::Arn;
use haven_model::plan::STACK_TAG;
use haven_model::relations::SOURCE_TAG;
use haven_model::replication::{
    CopyKind, CopyRequest, DeleteRequest, LINEAGE_TAG, Operation, ReplicaRequest,
};
use haven_model::topology::{RegionTopology, Tags, Topology};
use serde::Serialize;

/// What to keep in the DR Regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrPolicy {
    /// The Region whose resources are protected.
    pub source_region: String,
    /// Where copies go.
    pub destinations: Vec<String>,
    /// haven-made copies kept per protected resource and Region (the newest ones).
    pub retention: usize,
    /// Create a cross-Region read replica of each DB instance.
    pub replicas: bool,
    /// Recovery-point objective: a newest copy older than this is reported stale.
    pub rpo: Duration,
    /// KMS key per destination Region, for encrypted sources.
    pub kms_keys: BTreeMap<String, String>,
}

/// One protected resource and how current each DR Region is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Protected {
    /// What kind of copies protect it.
    pub kind: CopyKind,
    /// What it is (`lt-…` for AMIs, the volume, the DB instance or cluster).
    pub lineage: String,
    /// The newest source (`ami-…`, `snap-…`, snapshot identifier) and when it was taken.
    pub source: String,
    /// When that source was taken, if known.
    pub source_time: Option<DateTime<Utc>>,
    /// Per DR Region: the newest copy, when its source was taken, and whether that is within
    /// the RPO.
    pub copies: Vec<CopyState>,
}

/// The newest copy of a protected resource in one DR Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyState {
    /// The DR Region.
    pub region: String,
    /// The newest copy, if any.
    pub copy: Option<String>,
    /// Its age, in minutes, if known.
    pub age_minutes: Option<i64>,
    /// Within the RPO (a copy of the newest source counts as current).
    pub fresh: bool,
}

/// What `haven replicate` will do, and why some things are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Copies and replicas first, then retention deletes.
    pub operations: Vec<Operation>,
    /// The protected resources and their state before the run.
    pub protected: Vec<Protected>,
    /// What cannot be protected as things stand, and what to do.
    pub notes: Vec<String>,
}

impl Plan {
    /// The copy and replica operations.
    pub fn creations(&self) -> impl Iterator<Item = &Operation> {
        self.operations
            .iter()
            .filter(|o| !matches!(o, Operation::Delete(_)))
    }
}

/// A fixed name a copy gets in every run: AMI names and DB snapshot identifiers allow letters,
/// digits and hyphens.
fn copy_name(source: &str, region: &str) -> String {
    let mut name = String::from("haven-");
    let mut last_hyphen = true;
    for c in source.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
            last_hyphen = false;
        } else if !last_hyphen {
            name.push('-');
            last_hyphen = true;
        }
    }
    let name = name.trim_end_matches('-');
    format!("{name}-from-{region}")
}

/// A source ready to copy.
struct Source<'a> {
    kind: CopyKind,
    lineage: String,
    id: &'a str,
    arn: String,
    time: Option<DateTime<Utc>>,
    encrypted: bool,
}

/// A copy found in a DR Region.
struct Existing {
    id: String,
    source_id: Option<String>,
    lineage: Option<String>,
    haven_made: bool,
    name: Option<String>,
    time: Option<DateTime<Utc>>,
    snapshot_ids: Vec<String>,
}

/// Plans replication of `policy.source_region` into every destination.
pub fn plan(topology: &Topology, policy: &DrPolicy) -> Plan {
    let mut out = Plan::default();
    let Some(source) = topology.region(&policy.source_region) else {
        out.notes.push(format!(
            "{} was not discovered: nothing to protect",
            policy.source_region
        ));
        return out;
    };
    let account = topology.account_id.as_deref().unwrap_or_default();
    let sources = sources(source, account, &mut out.notes);
    let now = topology.taken_at;
    let mut deletes = Vec::new();
    for destination in &policy.destinations {
        let empty = RegionTopology::default();
        let dest = topology.region(destination).unwrap_or(&empty);
        for kind in [
            CopyKind::Image,
            CopyKind::Snapshot,
            CopyKind::DbSnapshot,
            CopyKind::DbClusterSnapshot,
        ] {
            let existing = existing(dest, kind, &policy.source_region);
            for src in sources.iter().filter(|s| s.kind == kind) {
                let name = copy_name(src.id, &policy.source_region);
                let copies: Vec<&Existing> = existing
                    .iter()
                    .filter(|e| {
                        e.lineage.as_deref() == Some(src.lineage.as_str())
                            || e.source_id.as_deref() == Some(src.id)
                    })
                    .collect();
                let current = existing.iter().find(|e| {
                    e.source_id.as_deref() == Some(src.id) || e.name.as_deref() == Some(&name)
                });
                let newest = copies.iter().filter_map(|e| e.time).max();
                let state = CopyState {
                    region: destination.clone(),
                    copy: current
                        .map(|e| e.id.clone())
                        .or_else(|| copies.iter().max_by_key(|e| e.time).map(|e| e.id.clone())),
                    age_minutes: current
                        .and(src.time)
                        .or(newest)
                        .map(|t| (now - t).num_minutes()),
                    // An AMI does not age: a copy of the one in use is current. Data does.
                    fresh: current.is_some()
                        && (kind == CopyKind::Image
                            || src.time.is_none_or(|t| now - t <= policy.rpo)),
                };
                push_state(&mut out.protected, src, state);
                let kms = policy.kms_keys.get(destination).cloned();
                if current.is_none() {
                    // EBS copies fall back to the destination's default key; RDS needs one.
                    let rds = matches!(kind, CopyKind::DbSnapshot | CopyKind::DbClusterSnapshot);
                    if src.encrypted && kms.is_none() && rds {
                        out.notes.push(format!(
                            "{kind} {} is encrypted: give a KMS key in {destination} \
                             (--kms-key {destination}=ARN) to copy it",
                            src.id
                        ));
                        continue;
                    }
                    out.operations.push(Operation::Copy(copy_request(
                        src,
                        &policy.source_region,
                        destination,
                        name,
                        kms,
                    )));
                }
                deletes.extend(retention(
                    &copies,
                    usize::from(current.is_none()),
                    policy.retention,
                    kind,
                    destination,
                    &src.lineage,
                ));
            }
        }
        if policy.replicas {
            replicas(topology, source, destination, policy, &mut out);
        }
    }
    out.operations
        .extend(deletes.into_iter().map(Operation::Delete));
    out
}

fn push_state(protected: &mut Vec<Protected>, src: &Source<'_>, state: CopyState) {
    match protected
        .iter_mut()
        .find(|p| p.kind == src.kind && p.lineage == src.lineage)
    {
        Some(p) => p.copies.push(state),
        None => protected.push(Protected {
            kind: src.kind,
            lineage: src.lineage.clone(),
            source: src.id.to_string(),
            source_time: src.time,
            copies: vec![state],
        }),
    }
}

fn copy_request(
    src: &Source<'_>,
    source_region: &str,
    destination: &str,
    name: String,
    kms_key_id: Option<String>,
) -> CopyRequest {
    let mut tags = Tags::new();
    tags.insert(SOURCE_TAG.to_string(), src.arn.clone());
    tags.insert(LINEAGE_TAG.to_string(), src.lineage.clone());
    tags.insert("Name".to_string(), name.clone());
    CopyRequest {
        kind: src.kind,
        source_region: source_region.to_string(),
        source_id: src.id.to_string(),
        source_arn: src.arn.clone(),
        destination_region: destination.to_string(),
        name,
        // The console's wording, which discovery reads back when tags are lost.
        description: format!(
            "[Copied {} from {source_region}] haven DR copy of {}",
            src.id, src.lineage
        ),
        kms_key_id: kms_key_id.filter(|_| src.encrypted),
        tags,
    }
}

/// The oldest haven-made copies beyond `keep` (counting the `adding` new ones).
fn retention(
    copies: &[&Existing],
    adding: usize,
    keep: usize,
    kind: CopyKind,
    region: &str,
    lineage: &str,
) -> Vec<DeleteRequest> {
    let mut ours: Vec<&&Existing> = copies.iter().filter(|e| e.haven_made).collect();
    ours.sort_by_key(|e| std::cmp::Reverse(e.time));
    let room = keep.saturating_sub(adding);
    ours.iter()
        .skip(room)
        .map(|e| DeleteRequest {
            kind,
            region: region.to_string(),
            id: e.id.clone(),
            lineage: lineage.to_string(),
            snapshot_ids: e.snapshot_ids.clone(),
            reason: format!("retention keeps the newest {keep} of {lineage}"),
        })
        .collect()
}

fn sources<'a>(
    region: &'a RegionTopology,
    account: &str,
    notes: &mut Vec<String>,
) -> Vec<Source<'a>> {
    let mut out = Vec::new();
    let arn = |kind: &str, id: &str| Arn::ec2(&region.region, account, kind, id);
    // AMIs the launch templates launch.
    let mut seen = BTreeSet::new();
    for template in &region.launch_templates {
        let Some(version) = template
            .versions
            .iter()
            .find(|v| v.is_default)
            .or(template.versions.first())
        else {
            continue;
        };
        let Some(image_id) = version.image_id.as_deref() else {
            continue;
        };
        if !seen.insert(image_id) {
            continue;
        }
        match region.images.iter().find(|i| i.id == image_id) {
            Some(image) if image.state == "available" => out.push(Source {
                kind: CopyKind::Image,
                lineage: template.id.clone(),
                id: &image.id,
                arn: arn("image", &image.id),
                time: image.created_at,
                encrypted: false,
            }),
            Some(image) => notes.push(format!(
                "AMI {} of {} is {}: copied once it is available",
                image.id, template.name, image.state
            )),
            None => notes.push(format!(
                "{} launches {image_id}, which the account does not own (a public or shared \
                 AMI, or an SSM parameter): nothing to copy, the DR Region resolves its own",
                template.name
            )),
        }
    }
    // The newest completed snapshot of every volume that has one (the volume may be gone: then
    // the snapshot is all there is). Snapshots behind an AMI travel with it; copies made here
    // from elsewhere are not sources.
    let behind_images: BTreeSet<&str> = region
        .images
        .iter()
        .flat_map(|i| i.snapshot_ids.iter().map(String::as_str))
        .collect();
    let mut newest: BTreeMap<&str, &haven_model::topology::Snapshot> = BTreeMap::new();
    for snapshot in region.snapshots.iter().filter(|s| {
        s.state == "completed"
            && !behind_images.contains(s.id.as_str())
            && !s.tags.contains_key(SOURCE_TAG)
            && !s
                .description
                .as_deref()
                .is_some_and(|d| d.starts_with("[Copied "))
    }) {
        let Some(volume) = snapshot.volume_id.as_deref() else {
            continue;
        };
        let entry = newest.entry(volume).or_insert(snapshot);
        if snapshot.started_at > entry.started_at {
            *entry = snapshot;
        }
    }
    for (volume, snapshot) in newest {
        out.push(Source {
            kind: CopyKind::Snapshot,
            lineage: volume.to_string(),
            id: &snapshot.id,
            arn: arn("snapshot", &snapshot.id),
            time: snapshot.started_at,
            encrypted: snapshot.encrypted,
        });
    }
    // The newest available snapshot of each DB instance and cluster.
    let mut db_newest: BTreeMap<(CopyKind, &str), &haven_model::topology::DbSnapshot> =
        BTreeMap::new();
    for snapshot in region
        .db_snapshots
        .iter()
        .filter(|s| s.status == "available" && s.source_snapshot.is_none())
    {
        let key = match (&snapshot.instance_identifier, &snapshot.cluster_identifier) {
            (_, Some(cluster)) => (CopyKind::DbClusterSnapshot, cluster.as_str()),
            (Some(instance), None) => (CopyKind::DbSnapshot, instance.as_str()),
            (None, None) => continue,
        };
        let exists = match key.0 {
            CopyKind::DbClusterSnapshot => region.db_clusters.iter().any(|c| c.identifier == key.1),
            _ => region.db_instances.iter().any(|d| d.identifier == key.1),
        };
        if !exists || snapshot.tags.contains_key(SOURCE_TAG) {
            continue;
        }
        let entry = db_newest.entry(key).or_insert(snapshot);
        if snapshot.created_at > entry.created_at {
            *entry = snapshot;
        }
    }
    for ((kind, lineage), snapshot) in db_newest {
        out.push(Source {
            kind,
            lineage: lineage.to_string(),
            id: &snapshot.identifier,
            arn: snapshot.arn.clone(),
            time: snapshot.created_at,
            encrypted: snapshot.encrypted,
        });
    }
    out
}

fn existing(region: &RegionTopology, kind: CopyKind, source_region: &str) -> Vec<Existing> {
    let source_of = |tags: &Tags| {
        tags.get(SOURCE_TAG).and_then(|arn| {
            Arn::parse(arn).map(|a| (a.region.to_string(), a.resource_id().to_string()))
        })
    };
    let from_here =
        |pair: Option<(String, String)>| pair.filter(|(r, _)| r == source_region).map(|(_, id)| id);
    let lineage = |tags: &Tags| tags.get(LINEAGE_TAG).cloned();
    match kind {
        CopyKind::Image => region
            .images
            .iter()
            .filter(|i| i.state != "deregistered")
            .map(|i| Existing {
                id: i.id.clone(),
                source_id: from_here(
                    i.source_image_id
                        .clone()
                        .zip(i.source_image_region.clone())
                        .map(|(id, r)| (r, id))
                        .or_else(|| source_of(&i.tags))
                        .or_else(|| copied(i.description.as_deref())),
                ),
                lineage: lineage(&i.tags),
                haven_made: i.tags.contains_key(SOURCE_TAG),
                name: i.name.clone(),
                time: i.created_at,
                snapshot_ids: i.snapshot_ids.clone(),
            })
            .collect(),
        CopyKind::Snapshot => region
            .snapshots
            .iter()
            .map(|s| Existing {
                id: s.id.clone(),
                source_id: from_here(
                    source_of(&s.tags).or_else(|| copied(s.description.as_deref())),
                ),
                lineage: lineage(&s.tags),
                haven_made: s.tags.contains_key(SOURCE_TAG),
                name: None,
                time: s.started_at,
                snapshot_ids: Vec::new(),
            })
            .collect(),
        CopyKind::DbSnapshot | CopyKind::DbClusterSnapshot => region
            .db_snapshots
            .iter()
            .filter(|s| (kind == CopyKind::DbClusterSnapshot) == s.cluster_identifier.is_some())
            .map(|s| Existing {
                id: s.identifier.clone(),
                source_id: s
                    .tags
                    .get(SOURCE_TAG)
                    .or(s.source_snapshot.as_ref())
                    .and_then(|arn| Arn::parse(arn))
                    .filter(|a| a.region == source_region)
                    .map(|a| a.resource_id().to_string()),
                lineage: lineage(&s.tags),
                haven_made: s.tags.contains_key(SOURCE_TAG),
                name: Some(s.identifier.clone()),
                time: s.created_at,
                snapshot_ids: Vec::new(),
            })
            .collect(),
    }
}

/// `[Copied ami-… from REGION]` → (REGION, ami-…).
fn copied(description: Option<&str>) -> Option<(String, String)> {
    let inside = description?.strip_prefix("[Copied ")?.split_once(']')?.0;
    let (id, region) = inside.split_once(" from ")?;
    Some((region.trim().to_string(), id.trim().to_string()))
}

fn replicas(
    topology: &Topology,
    source: &RegionTopology,
    destination: &str,
    policy: &DrPolicy,
    out: &mut Plan,
) {
    let links = topology.replica_links();
    for db in source.db_instances.iter().filter(|d| {
        d.read_replica_source.is_none()
            && d.cluster_identifier.is_none()
            && !d.engine.starts_with("aurora")
    }) {
        let has_replica = links.iter().any(|l| {
            l.source.region == source.region
                && l.source.identifier == db.identifier
                && l.replica.region == destination
        });
        if has_replica {
            continue;
        }
        if db.backup_retention_days == 0 {
            out.notes.push(format!(
                "{} has automated backups off (retention 0): RDS cannot replicate it; set a \
                 backup retention of at least 1 day first",
                db.identifier
            ));
            continue;
        }
        let kms = policy.kms_keys.get(destination).cloned();
        if db.storage_encrypted && kms.is_none() {
            out.notes.push(format!(
                "{} is encrypted: give a KMS key in {destination} (--kms-key \
                 {destination}=ARN) for its replica",
                db.identifier
            ));
            continue;
        }
        let stack = db.tags.get(STACK_TAG).map(String::as_str);
        let Some(network) = stack.and_then(|stack| {
            topology
                .region(destination)
                .and_then(|r| haven_model::dr::network(r, stack))
        }) else {
            out.notes.push(format!(
                "{} has no DR network in {destination} (VPC, DB subnet group and database \
                 security group of stack {}): build it with `haven up BLUEPRINT` (a [dr] \
                 section naming {destination}) so the replica is reachable after a failover",
                db.identifier,
                stack.unwrap_or("?")
            ));
            continue;
        };
        let identifier = format!("{}-{destination}", db.identifier);
        let mut tags = Tags::new();
        tags.insert(SOURCE_TAG.to_string(), db.arn.clone());
        tags.insert(LINEAGE_TAG.to_string(), db.identifier.clone());
        tags.insert("Name".to_string(), identifier.clone());
        out.operations.push(Operation::Replica(ReplicaRequest {
            source_region: source.region.clone(),
            source_arn: db.arn.clone(),
            destination_region: destination.to_string(),
            identifier,
            class: db.class.clone(),
            kms_key_id: kms.filter(|_| db.storage_encrypted),
            db_subnet_group: network.db_subnet_group,
            vpc_security_group_ids: network.security_group_ids,
            backup_retention_days: db.backup_retention_days.max(1),
            tags,
        }));
    }
}

#[cfg(test)]
mod tests;
