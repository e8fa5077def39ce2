//! Disaster recovery as data: for every resource the stack protects, what protects it in each DR
//! Region (the newest usable copy and its age, a copy still in flight, a failed one, or the
//! cross-Region read replica) and why nothing does.
//!
//! This is the one answer to "which Regions are DR, what counts as a copy, how old is it": the
//! findings, the dashboard's `:dr` and `haven replicate` all read [`status`]'s rows, and
//! `haven-replicate` turns them into operations.
//!
//! What is protected in the source Region, within the [`Scope`]:
//! - the AMIs the launch templates' default versions launch (owned by the account);
//! - for every volume that has snapshots, its newest completed snapshot;
//! - for every DB instance that is not a replica, its newest available snapshot, and (when the
//!   policy asks) a read replica in each DR Region;
//! - for every DB cluster, its newest available cluster snapshot.
//!
//! Only a complete copy (`available` AMI or DB snapshot, `completed` EBS snapshot) can be restored
//! from, so only a complete copy counts as current or fresh: a cross-Region copy can take hours
//! and can end failed (<https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/CopyingAMIs.html>,
//! <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_CopySnapshot.html>).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::arn::Arn;
use crate::plan::{STACK_TAG, owned};
use crate::relations::{RegionalId, SOURCE_TAG, copy_source};
use crate::replication::{CopyKind, LINEAGE_TAG, Operation};
use crate::topology::{DbInstance, RegionTopology, Tags, Topology};

/// The recovery-point objective when neither the policy nor the blueprint gives one (haven's
/// default Region objective: RPO 1 h).
pub const DEFAULT_RPO_MINUTES: i64 = 60;

/// haven-made copies kept per protected resource and DR Region by default.
pub const DEFAULT_RETENTION: usize = 3;

/// Which resources of the source Region are protected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// The resources tagged `haven:stack=<name>` (`haven replicate --blueprint`, `--stack`).
    Stack(String),
    /// The resources of every haven stack (tagged `haven:stack`): the default.
    HavenStacks,
    /// Every resource of the Region, other teams' included (`--all`).
    All,
}

impl Scope {
    /// The resource carrying `tags` is in scope.
    pub fn includes(&self, tags: &Tags) -> bool {
        match self {
            Self::Stack(name) => tags.get(STACK_TAG) == Some(name),
            Self::HavenStacks => tags.contains_key(STACK_TAG),
            Self::All => true,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stack(name) => write!(f, "stack {name}"),
            Self::HavenStacks => f.write_str("every haven stack"),
            Self::All => f.write_str("every resource of the Region (--all)"),
        }
    }
}

/// What to keep in the DR Regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrPolicy {
    /// The Region whose resources are protected.
    pub source_region: String,
    /// Where copies go.
    pub destinations: Vec<String>,
    /// Complete haven-made copies kept per protected resource and Region (the newest ones).
    pub retention: usize,
    /// Keep a cross-Region read replica of each DB instance.
    pub replicas: bool,
    /// Recovery-point objective: a newest usable copy older than this is stale.
    pub rpo: Duration,
    /// KMS key per destination Region, for encrypted sources.
    pub kms_keys: BTreeMap<String, String>,
    /// What is protected.
    pub scope: Scope,
}

/// The haven stacks with resources in `region` (by their `haven:stack` tags).
pub fn stacks(region: &RegionTopology) -> BTreeSet<&str> {
    let tags = region
        .vpcs
        .iter()
        .map(|v| &v.tags)
        .chain(region.launch_templates.iter().map(|t| &t.tags))
        .chain(region.db_instances.iter().map(|d| &d.tags));
    tags.filter_map(|t| t.get(STACK_TAG).map(String::as_str))
        .collect()
}

/// The DR Regions of `primary`: the ones `named` (other than the primary), else every discovered
/// Region that holds a copy, a replica or a snapshot copy of the primary's, or the DR network of
/// a stack that runs in the primary. A third, unrelated Region is not DR.
pub fn dr_regions(topology: &Topology, primary: &str, named: &[String]) -> Vec<String> {
    if !named.is_empty() {
        return named.iter().filter(|r| *r != primary).cloned().collect();
    }
    let links = topology.replica_links();
    let copies: Vec<_> = topology
        .image_copies()
        .into_iter()
        .chain(topology.snapshot_copies())
        .collect();
    let stacks: BTreeSet<&str> = topology
        .region(primary)
        .map(|p| {
            p.vpcs
                .iter()
                .filter_map(|v| v.tags.get(STACK_TAG).map(String::as_str))
                .collect()
        })
        .unwrap_or_default();
    topology
        .regions
        .iter()
        .filter(|r| r.region != primary)
        .filter(|r| {
            let code = r.region.as_str();
            copies
                .iter()
                .any(|c| c.source.region == primary && c.copy.region == code)
                || links
                    .iter()
                    .any(|l| l.source.region == primary && l.replica.region == code)
                || r.db_snapshots
                    .iter()
                    .any(|s| s.source_region.as_deref() == Some(primary))
                || r.db_clusters.iter().any(|c| {
                    c.replication_source
                        .as_deref()
                        .and_then(Arn::parse)
                        .is_some_and(|a| a.region == primary)
                })
                || stacks.iter().any(|s| network(r, s).is_some())
        })
        .map(|r| r.region.clone())
        .collect()
}

/// What protects a resource in a DR Region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protection {
    /// A copy of the source.
    Copy(CopyKind),
    /// A cross-Region read replica of a DB instance.
    ReadReplica,
}

impl Protection {
    /// How people call it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Copy(kind) => kind.as_str(),
            Self::ReadReplica => "read replica",
        }
    }
}

impl fmt::Display for Protection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a copy is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum CopyStatus {
    /// Restorable.
    Complete,
    /// Still copying; AWS's progress in percent when it gives one.
    Pending {
        /// Percent done.
        progress: Option<u8>,
    },
    /// Ended failed: it never becomes usable, and is removed and made again.
    Failed {
        /// AWS's state (`failed`, `error`, …).
        state: String,
    },
}

/// A copy found in a DR Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Copy {
    /// `ami-…`, `snap-…`, DB snapshot identifier.
    pub id: String,
    /// The source it copies, when known.
    pub source_id: Option<String>,
    /// When the data it holds was taken (the source's time when the source is known, else the
    /// copy's own, which is later).
    pub data_time: Option<DateTime<Utc>>,
    /// Its status.
    pub status: CopyStatus,
    /// haven made it (`haven:source` tag): retention may delete it.
    pub haven_made: bool,
    /// For an AMI: its snapshots (deleted with it).
    pub snapshot_ids: Vec<String>,
}

/// How current one protected resource is in one DR Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum DrState {
    /// A complete copy of the newest source, within the RPO.
    Fresh,
    /// The newest complete copy is older than the RPO, or copies an older source.
    Stale,
    /// A copy of the newest source is in flight and no complete copy is fresh.
    Copying {
        /// Percent done.
        progress: Option<u8>,
    },
    /// The newest attempt failed and no complete copy is fresh.
    Failed,
    /// Nothing protects it.
    Missing,
    /// A cross-Region read replica, in this RDS status.
    Replica {
        /// `available` = replicating.
        status: String,
    },
}

impl DrState {
    /// One word (or two) for tables.
    pub fn label(&self) -> String {
        match self {
            Self::Fresh => "fresh".into(),
            Self::Stale => "stale".into(),
            Self::Copying {
                progress: Some(percent),
            } => format!("copying {percent}%"),
            Self::Copying { progress: None } => "copying".into(),
            Self::Failed => "failed".into(),
            Self::Missing => "missing".into(),
            Self::Replica { status } if status == "available" => "replicating".into(),
            Self::Replica { status } => status.clone(),
        }
    }

    /// The Region can be recovered from what this row holds now.
    pub fn usable(&self) -> bool {
        match self {
            Self::Fresh | Self::Stale => true,
            Self::Replica { status } => status == "available",
            _ => false,
        }
    }
}

/// Why nothing (more) is done for a row, or what is wrong with what exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "note", rename_all = "kebab-case")]
pub enum Note {
    /// The source is encrypted and the DR Region has no KMS key in the policy.
    KmsKeyNeeded {
        /// The DR Region.
        region: String,
    },
    /// The DB instance has automated backups off: RDS cannot replicate it.
    BackupsOff,
    /// The stack has no DR network in the DR Region (the replica would be unreachable).
    NoDrNetwork {
        /// The stack, when the DB instance belongs to one.
        stack: Option<String>,
    },
    /// A standalone DB instance holds the replica's identifier: a promoted replica (a DR drill
    /// or a failover), so replication from the source has ended.
    Promoted {
        /// The promoted instance.
        identifier: String,
    },
    /// An instance with the replica's identifier replicates another source.
    NameTaken {
        /// The instance.
        identifier: String,
    },
    /// A copy of the newest source is complete, but that source is itself older than the RPO.
    SourceOlderThanRpo,
}

impl Note {
    /// A sentence saying what is wrong and what to do, about `row`.
    pub fn sentence(&self, row: &DrRow) -> String {
        let (what, region) = (&row.protects, &row.region);
        match self {
            Self::KmsKeyNeeded { region } => format!(
                "{what} is encrypted: give a KMS key in {region} (--kms-key {region}=ARN) to \
                 protect it there"
            ),
            Self::BackupsOff => format!(
                "{what} has automated backups off (retention 0): RDS cannot replicate it; set a \
                 backup retention of at least 1 day first"
            ),
            Self::NoDrNetwork { stack } => format!(
                "{what} has no DR network in {region} (VPC, DB subnet group and database \
                 security group of stack {}): build it with `haven up BLUEPRINT` (its [dr] \
                 section naming {region}), so the replica is reachable after a failover",
                stack.as_deref().unwrap_or("?")
            ),
            Self::Promoted { identifier } => format!(
                "{identifier} in {region} was promoted (a DR drill or a failover): it no longer \
                 replicates {what}; run `haven failback`, or delete or rename it, to replicate \
                 again"
            ),
            Self::NameTaken { identifier } => format!(
                "{identifier} in {region} exists and replicates another source: rename it, or \
                 it blocks the replica of {what}"
            ),
            Self::SourceOlderThanRpo => format!(
                "the newest source {} is itself older than the RPO: make a new one in {}, then \
                 `haven replicate` copies it",
                row.source, row.source_region
            ),
        }
    }
}

/// A note about the Region rather than one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "note", rename_all = "kebab-case")]
pub enum RegionNote {
    /// The source Region was not discovered.
    SourceNotDiscovered {
        /// It.
        region: String,
    },
    /// A launch template launches an AMI the account does not own.
    AmiNotOwned {
        /// The launch template.
        template: String,
        /// The AMI.
        image: String,
    },
    /// A launch template's AMI is not available yet.
    AmiNotReady {
        /// The launch template.
        template: String,
        /// The AMI.
        image: String,
        /// Its state.
        state: String,
    },
}

impl fmt::Display for RegionNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SourceNotDiscovered { region } => {
                write!(f, "{region} was not discovered: nothing to protect")
            }
            Self::AmiNotOwned { template, image } => write!(
                f,
                "{template} launches {image}, which the account does not own (a public or \
                 shared AMI, or an SSM parameter): nothing to copy, the DR Region resolves its own"
            ),
            Self::AmiNotReady {
                template,
                image,
                state,
            } => write!(
                f,
                "AMI {image} of {template} is {state}: copied once it is available"
            ),
        }
    }
}

/// One protected resource in one DR Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrRow {
    /// What protects it.
    pub protection: Protection,
    /// What is protected (`lt-…` for AMIs, the volume, the DB instance or cluster).
    pub protects: String,
    /// The stack it belongs to, if any.
    pub stack: Option<String>,
    /// The newest source (`ami-…`, `snap-…`, snapshot identifier; the DB for a replica).
    pub source: String,
    /// The source's ARN.
    pub source_arn: String,
    /// When the newest source was taken.
    pub source_time: Option<DateTime<Utc>>,
    /// The source is encrypted.
    pub encrypted: bool,
    /// The source Region.
    pub source_region: String,
    /// The DR Region.
    pub region: String,
    /// The copies found there (newest data first), or the replica.
    pub copies: Vec<Copy>,
    /// The newest complete copy (or the replica).
    pub usable: Option<String>,
    /// Minutes between the data of the newest complete copy and now.
    pub age_minutes: Option<i64>,
    /// The replica's lag in seconds, once metrics are read (CloudWatch `ReplicaLag`).
    pub lag_seconds: Option<u64>,
    /// How current it is.
    pub state: DrState,
    /// Why nothing (more) is done for it, if something stands in the way.
    pub note: Option<Note>,
    /// The RPO it is judged against, in minutes.
    pub rpo_minutes: i64,
}

/// The key rows and operations are joined by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RowKey {
    /// What protects it.
    pub protection: Protection,
    /// What is protected.
    pub protects: String,
    /// The DR Region.
    pub region: String,
}

impl DrRow {
    /// Its key.
    pub fn key(&self) -> RowKey {
        RowKey {
            protection: self.protection,
            protects: self.protects.clone(),
            region: self.region.clone(),
        }
    }

    /// The copy in flight of the newest source, if any.
    pub fn in_flight(&self) -> Option<&Copy> {
        self.copies
            .iter()
            .find(|c| matches!(c.status, CopyStatus::Pending { .. }))
    }

    /// A copy of the newest source exists and is not failed (complete or in flight).
    pub fn has_current(&self) -> bool {
        self.copies.iter().any(|c| {
            c.source_id.as_deref() == Some(self.source.as_str())
                && !matches!(c.status, CopyStatus::Failed { .. })
        })
    }

    /// The failed copies.
    pub fn failed(&self) -> impl Iterator<Item = &Copy> {
        self.copies
            .iter()
            .filter(|c| matches!(c.status, CopyStatus::Failed { .. }))
    }

    /// "12m / RPO 60m", "copying 40%", "-": how old, for tables.
    pub fn age_text(&self) -> String {
        match (self.age_minutes, &self.state) {
            (Some(m), _) => format!("{} / RPO {}", minutes(m), minutes(self.rpo_minutes)),
            (None, DrState::Replica { .. }) => match self.lag_seconds {
                Some(lag) => format!("lag {lag}s / RPO {}", minutes(self.rpo_minutes)),
                None => "-".into(),
            },
            (None, _) => "-".into(),
        }
    }
}

impl Operation {
    /// The DR row it serves.
    pub fn row_key(&self) -> RowKey {
        let lineage = |tags: &Tags| tags.get(LINEAGE_TAG).cloned().unwrap_or_default();
        match self {
            Self::Copy(c) => RowKey {
                protection: Protection::Copy(c.kind),
                protects: lineage(&c.tags),
                region: c.destination_region.clone(),
            },
            Self::Replica(r) => RowKey {
                protection: Protection::ReadReplica,
                protects: lineage(&r.tags),
                region: r.destination_region.clone(),
            },
            Self::Delete(d) => RowKey {
                protection: Protection::Copy(d.kind),
                protects: d.lineage.clone(),
                region: d.region.clone(),
            },
        }
    }
}

/// Minutes as people read them ([`crate::duration`]: `45m`, `1h30m`, `3d`).
pub fn minutes(m: i64) -> String {
    crate::duration::minutes(m)
}

/// Every protected resource per DR Region, and what is said about the Region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DrStatus {
    /// Per protected resource and DR Region, sources in the policy's order of kinds.
    pub rows: Vec<DrRow>,
    /// Notes about the source Region.
    pub notes: Vec<RegionNote>,
}

/// A source ready to copy.
struct Source<'a> {
    kind: CopyKind,
    lineage: String,
    /// Every source of the same lineage in the source Region (older snapshots of the volume or
    /// DB, the AMIs of the template's versions): a copy of any of them protects it.
    family: BTreeSet<String>,
    stack: Option<String>,
    id: &'a str,
    arn: String,
    time: Option<DateTime<Utc>>,
    encrypted: bool,
}

/// What protects every in-scope resource of `policy.source_region` in each destination.
pub fn status(topology: &Topology, policy: &DrPolicy) -> DrStatus {
    let mut out = DrStatus::default();
    let Some(source) = topology.region(&policy.source_region) else {
        out.notes.push(RegionNote::SourceNotDiscovered {
            region: policy.source_region.clone(),
        });
        return out;
    };
    let account = topology.account_id.as_deref().unwrap_or_default();
    let sources = sources(source, account, &policy.scope, &mut out.notes);
    let now = topology.taken_at;
    let rpo_minutes = policy.rpo.num_minutes();
    let empty = RegionTopology::default();
    let times = sources_times(source);
    for destination in &policy.destinations {
        let dest = topology.region(destination).unwrap_or(&empty);
        let found: BTreeMap<CopyKind, Vec<Found>> = [
            CopyKind::Image,
            CopyKind::Snapshot,
            CopyKind::DbSnapshot,
            CopyKind::DbClusterSnapshot,
        ]
        .into_iter()
        .map(|kind| (kind, copies_in(dest, kind, &policy.source_region)))
        .collect();
        for src in &sources {
            let name = copy_name(src.id, &policy.source_region);
            let mut copies = found[&src.kind]
                .iter()
                .filter(|c| {
                    c.lineage.as_deref() == Some(src.lineage.as_str())
                        || c.copy
                            .source_id
                            .as_ref()
                            .is_some_and(|id| src.family.contains(id))
                        || c.name.as_deref() == Some(name.as_str())
                })
                .map(|c| {
                    let mut copy = c.copy.clone();
                    if c.name.as_deref() == Some(name.as_str()) && copy.source_id.is_none() {
                        copy.source_id = Some(src.id.to_string());
                    }
                    if let Some(t) = copy.source_id.as_deref().and_then(|id| times.get(id)) {
                        copy.data_time = Some(*t);
                    }
                    copy
                })
                .collect::<Vec<_>>();
            copies.sort_by_key(|c| std::cmp::Reverse(c.data_time));
            out.rows
                .push(copy_row(src, destination, copies, policy, now));
        }
        if policy.replicas {
            replica_rows(topology, source, destination, policy, &mut out.rows);
        }
    }
    for row in &mut out.rows {
        row.rpo_minutes = rpo_minutes;
    }
    out
}

fn copy_row(
    src: &Source<'_>,
    destination: &str,
    copies: Vec<Copy>,
    policy: &DrPolicy,
    now: DateTime<Utc>,
) -> DrRow {
    let newest_complete = copies
        .iter()
        .find(|c| c.status == CopyStatus::Complete)
        .cloned();
    let of_newest = |c: &Copy| c.source_id.as_deref() == Some(src.id);
    let age_minutes = newest_complete
        .as_ref()
        .and_then(|c| c.data_time)
        .map(|t| (now - t).num_minutes());
    // An AMI does not age: a complete copy of the one in use is current. Data does.
    let current = newest_complete.as_ref().is_some_and(of_newest);
    let fresh =
        current && (src.kind == CopyKind::Image || src.time.is_none_or(|t| now - t <= policy.rpo));
    let in_flight = copies.iter().find_map(|c| match c.status {
        CopyStatus::Pending { progress } if of_newest(c) => Some(progress),
        _ => None,
    });
    let failed = copies
        .iter()
        .any(|c| of_newest(c) && matches!(c.status, CopyStatus::Failed { .. }));
    let state = if fresh {
        DrState::Fresh
    } else if let Some(progress) = in_flight {
        DrState::Copying { progress }
    } else if failed {
        DrState::Failed
    } else if newest_complete.is_some() {
        DrState::Stale
    } else {
        DrState::Missing
    };
    let rds = matches!(src.kind, CopyKind::DbSnapshot | CopyKind::DbClusterSnapshot);
    // EBS copies fall back to the destination's default key; RDS needs one.
    let note = if !current && src.encrypted && rds && !policy.kms_keys.contains_key(destination) {
        Some(Note::KmsKeyNeeded {
            region: destination.to_string(),
        })
    } else if current && !fresh {
        Some(Note::SourceOlderThanRpo)
    } else {
        None
    };
    DrRow {
        protection: Protection::Copy(src.kind),
        protects: src.lineage.clone(),
        stack: src.stack.clone(),
        source: src.id.to_string(),
        source_arn: src.arn.clone(),
        source_time: src.time,
        encrypted: src.encrypted,
        source_region: policy.source_region.clone(),
        region: destination.to_string(),
        usable: newest_complete.map(|c| c.id),
        copies,
        age_minutes,
        lag_seconds: None,
        state,
        note,
        rpo_minutes: 0,
    }
}

/// The fixed name a copy gets in every run (AMI names and DB snapshot identifiers allow letters,
/// digits and hyphens), so a repeated request finds the first copy.
pub fn copy_name(source: &str, region: &str) -> String {
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

/// The identifier of the cross-Region replica of `db` in `region`.
pub fn replica_identifier(db: &str, region: &str) -> String {
    format!("{db}-{region}")
}

/// When each source of the source Region was taken, by id (for the age of copies of older
/// sources that are still there).
fn sources_times(region: &RegionTopology) -> BTreeMap<&str, DateTime<Utc>> {
    let images = region
        .images
        .iter()
        .filter_map(|i| Some((i.id.as_str(), i.created_at?)));
    let snapshots = region
        .snapshots
        .iter()
        .filter_map(|s| Some((s.id.as_str(), s.started_at?)));
    let db = region
        .db_snapshots
        .iter()
        .filter_map(|s| Some((s.identifier.as_str(), s.created_at?)));
    images.chain(snapshots).chain(db).collect()
}

fn stack_of(tags: &Tags) -> Option<String> {
    tags.get(STACK_TAG).cloned()
}

fn sources<'a>(
    region: &'a RegionTopology,
    account: &str,
    scope: &Scope,
    notes: &mut Vec<RegionNote>,
) -> Vec<Source<'a>> {
    let mut out = Vec::new();
    let arn = |kind: &str, id: &str| Arn::ec2(&region.region, account, kind, id);
    // AMIs the launch templates launch.
    let mut seen = BTreeSet::new();
    for template in region
        .launch_templates
        .iter()
        .filter(|t| scope.includes(&t.tags))
    {
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
                family: template
                    .versions
                    .iter()
                    .filter_map(|v| v.image_id.clone())
                    .collect(),
                stack: stack_of(&template.tags),
                id: &image.id,
                arn: arn("image", &image.id),
                time: image.created_at,
                encrypted: false,
            }),
            Some(image) => notes.push(RegionNote::AmiNotReady {
                template: template.name.clone(),
                image: image.id.clone(),
                state: image.state.clone(),
            }),
            None => notes.push(RegionNote::AmiNotOwned {
                template: template.name.clone(),
                image: image_id.to_string(),
            }),
        }
    }
    // The newest completed snapshot of every volume that has one (the volume may be gone: then
    // the snapshot is all there is). Snapshots behind an AMI travel with it; copies made here
    // from elsewhere are not sources. A snapshot is in scope by its own tags or its volume's.
    let behind_images: BTreeSet<&str> = region
        .images
        .iter()
        .flat_map(|i| i.snapshot_ids.iter().map(String::as_str))
        .collect();
    // A volume belongs to a stack by its own tags or by the instance it is attached to (Auto
    // Scaling tags the instances it launches; their root volumes are tagged only when the
    // launch template asks).
    let volume_tags = |volume: &str| -> Option<&Tags> {
        let volume = region.volumes.iter().find(|v| v.id == volume)?;
        if volume.tags.contains_key(STACK_TAG) {
            return Some(&volume.tags);
        }
        volume
            .attached_instance_ids
            .iter()
            .filter_map(|id| region.instances.iter().find(|i| &i.id == id))
            .map(|i| &i.tags)
            .find(|t| t.contains_key(STACK_TAG))
            .or(Some(&volume.tags))
    };
    let mut newest: BTreeMap<&str, &crate::topology::Snapshot> = BTreeMap::new();
    for snapshot in region.snapshots.iter().filter(|s| {
        s.state == "completed"
            && !behind_images.contains(s.id.as_str())
            && copy_source(&s.tags, s.description.as_deref(), "snap-").is_none()
    }) {
        let Some(volume) = snapshot.volume_id.as_deref() else {
            continue;
        };
        if !scope.includes(&snapshot.tags)
            && !volume_tags(volume).is_some_and(|t| scope.includes(t))
        {
            continue;
        }
        let entry = newest.entry(volume).or_insert(snapshot);
        if snapshot.started_at > entry.started_at {
            *entry = snapshot;
        }
    }
    for (volume, snapshot) in newest {
        out.push(Source {
            kind: CopyKind::Snapshot,
            lineage: volume.to_string(),
            family: region
                .snapshots
                .iter()
                .filter(|s| s.volume_id.as_deref() == Some(volume))
                .map(|s| s.id.clone())
                .collect(),
            stack: stack_of(&snapshot.tags).or_else(|| volume_tags(volume).and_then(stack_of)),
            id: &snapshot.id,
            arn: arn("snapshot", &snapshot.id),
            time: snapshot.started_at,
            encrypted: snapshot.encrypted,
        });
    }
    // The newest available snapshot of each DB instance and cluster in scope.
    let mut db_newest: BTreeMap<(CopyKind, &str), (&crate::topology::DbSnapshot, &Tags)> =
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
        let tags = match key.0 {
            CopyKind::DbClusterSnapshot => region
                .db_clusters
                .iter()
                .find(|c| c.identifier == key.1)
                .map(|c| &c.tags),
            _ => region
                .db_instances
                .iter()
                .find(|d| d.identifier == key.1)
                .map(|d| &d.tags),
        };
        let Some(tags) = tags else { continue };
        if !scope.includes(tags) || snapshot.tags.contains_key(SOURCE_TAG) {
            continue;
        }
        let entry = db_newest.entry(key).or_insert((snapshot, tags));
        if snapshot.created_at > entry.0.created_at {
            *entry = (snapshot, tags);
        }
    }
    for ((kind, lineage), (snapshot, tags)) in db_newest {
        let stack = stack_of(tags);
        out.push(Source {
            kind,
            lineage: lineage.to_string(),
            family: region
                .db_snapshots
                .iter()
                .filter(|s| {
                    s.instance_identifier.as_deref() == Some(lineage)
                        || s.cluster_identifier.as_deref() == Some(lineage)
                })
                .map(|s| s.identifier.clone())
                .collect(),
            stack,
            id: &snapshot.identifier,
            arn: snapshot.arn.clone(),
            time: snapshot.created_at,
            encrypted: snapshot.encrypted,
        });
    }
    out
}

/// A copy found in a DR Region, with what links it to its source.
struct Found {
    copy: Copy,
    lineage: Option<String>,
    name: Option<String>,
}

fn percent(progress: Option<&str>) -> Option<u8> {
    progress?.trim().trim_end_matches('%').parse().ok()
}

fn copies_in(region: &RegionTopology, kind: CopyKind, source_region: &str) -> Vec<Found> {
    let from_here =
        |source: Option<RegionalId>| source.filter(|s| s.region == source_region).map(|s| s.id);
    let lineage = |tags: &Tags| tags.get(LINEAGE_TAG).cloned();
    match kind {
        CopyKind::Image => region
            .images
            .iter()
            .filter(|i| i.state != "deregistered")
            .map(|i| {
                // An AMI's progress is its snapshots'.
                let progress = i
                    .snapshot_ids
                    .iter()
                    .filter_map(|id| region.snapshots.iter().find(|s| &s.id == id))
                    .filter_map(|s| percent(s.progress.as_deref()))
                    .min();
                Found {
                    copy: Copy {
                        id: i.id.clone(),
                        source_id: from_here(crate::relations::image_source(i).1),
                        data_time: i.created_at,
                        status: match i.state.as_str() {
                            "available" => CopyStatus::Complete,
                            "pending" => CopyStatus::Pending { progress },
                            other => CopyStatus::Failed {
                                state: other.to_string(),
                            },
                        },
                        haven_made: i.tags.contains_key(SOURCE_TAG),
                        snapshot_ids: i.snapshot_ids.clone(),
                    },
                    lineage: lineage(&i.tags),
                    name: i.name.clone(),
                }
            })
            .collect(),
        CopyKind::Snapshot => region
            .snapshots
            .iter()
            .map(|s| Found {
                copy: Copy {
                    id: s.id.clone(),
                    source_id: from_here(copy_source(&s.tags, s.description.as_deref(), "snap-")),
                    data_time: s.started_at,
                    status: match s.state.as_str() {
                        "completed" => CopyStatus::Complete,
                        "pending" => CopyStatus::Pending {
                            progress: percent(s.progress.as_deref()),
                        },
                        other => CopyStatus::Failed {
                            state: other.to_string(),
                        },
                    },
                    haven_made: s.tags.contains_key(SOURCE_TAG),
                    snapshot_ids: Vec::new(),
                },
                lineage: lineage(&s.tags),
                name: None,
            })
            .collect(),
        CopyKind::DbSnapshot | CopyKind::DbClusterSnapshot => region
            .db_snapshots
            .iter()
            .filter(|s| (kind == CopyKind::DbClusterSnapshot) == s.cluster_identifier.is_some())
            .map(|s| Found {
                copy: Copy {
                    id: s.identifier.clone(),
                    source_id: crate::relations::db_snapshot_source(s)
                        .filter(|src| src.region == source_region)
                        .map(|src| src.id),
                    data_time: s.created_at,
                    status: match s.status.as_str() {
                        "available" => CopyStatus::Complete,
                        "creating" | "copying" | "pending" => CopyStatus::Pending {
                            progress: s.percent_progress.and_then(|p| u8::try_from(p).ok()),
                        },
                        other => CopyStatus::Failed {
                            state: other.to_string(),
                        },
                    },
                    haven_made: s.tags.contains_key(SOURCE_TAG),
                    snapshot_ids: Vec::new(),
                },
                lineage: lineage(&s.tags),
                name: Some(s.identifier.clone()),
            })
            .collect(),
    }
}

/// A DB instance a cross-Region replica protects: not itself a replica, not a cluster member.
pub fn replicable(db: &DbInstance) -> bool {
    db.read_replica_source.is_none()
        && db.cluster_identifier.is_none()
        && !db.engine.starts_with("aurora")
}

fn replica_rows(
    topology: &Topology,
    source: &RegionTopology,
    destination: &str,
    policy: &DrPolicy,
    out: &mut Vec<DrRow>,
) {
    let links = topology.replica_links();
    let dest = topology.region(destination);
    for db in source
        .db_instances
        .iter()
        .filter(|d| replicable(d) && policy.scope.includes(&d.tags))
    {
        let replica = links
            .iter()
            .find(|l| {
                l.source.region == source.region
                    && l.source.identifier == db.identifier
                    && l.replica.region == destination
            })
            .and_then(|l| {
                dest?
                    .db_instances
                    .iter()
                    .find(|d| d.identifier == l.replica.identifier)
            });
        let stack = stack_of(&db.tags);
        let identifier = replica_identifier(&db.identifier, destination);
        let holder = dest.and_then(|r| r.db_instances.iter().find(|d| d.identifier == identifier));
        let note = match (replica, holder) {
            (Some(_), _) => None,
            (None, Some(holder)) if holder.read_replica_source.is_none() => Some(Note::Promoted {
                identifier: holder.identifier.clone(),
            }),
            (None, Some(holder)) => Some(Note::NameTaken {
                identifier: holder.identifier.clone(),
            }),
            (None, None) if db.backup_retention_days == 0 => Some(Note::BackupsOff),
            (None, None) if db.storage_encrypted && !policy.kms_keys.contains_key(destination) => {
                Some(Note::KmsKeyNeeded {
                    region: destination.to_string(),
                })
            }
            (None, None) if stack.as_deref().and_then(|s| network(dest?, s)).is_none() => {
                Some(Note::NoDrNetwork {
                    stack: stack.clone(),
                })
            }
            (None, None) => None,
        };
        out.push(DrRow {
            protection: Protection::ReadReplica,
            protects: db.identifier.clone(),
            stack,
            source: db.identifier.clone(),
            source_arn: db.arn.clone(),
            source_time: None,
            encrypted: db.storage_encrypted,
            source_region: source.region.clone(),
            region: destination.to_string(),
            copies: Vec::new(),
            usable: replica.map(|r| r.identifier.clone()),
            age_minutes: None,
            lag_seconds: replica.and_then(|r| r.replica_lag).map(|lag| lag.seconds),
            state: replica.map_or(DrState::Missing, |r| DrState::Replica {
                status: r.status.clone(),
            }),
            note,
            rpo_minutes: 0,
        });
    }
}

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

#[cfg(test)]
mod tests;
