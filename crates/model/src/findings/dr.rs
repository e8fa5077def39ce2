//! Cross-Region DR checks: a copy of every tier in each DR Region (DR-XR), its age against the
//! Region RPO (DR-RPO), KMS keys for encrypted sources (DR-KMS), and replica sources with
//! backups off (DR-RR-SRC).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::{Finding, Policy, ResourceKind, ResourceRef, finding};
use crate::arn::Arn;
use crate::relations::{CopyLink, ReplicaLink};
use crate::topology::{DbCluster, DbInstance, RegionTopology, Topology, name_tag};

/// The primary Region, its DR Regions and the cross-Region links between them.
pub(crate) struct DrContext<'a> {
    pub primary: &'a RegionTopology,
    /// DR Regions present in the topology.
    pub dr: Vec<&'a RegionTopology>,
    /// DR Regions the policy names that were not discovered.
    pub undiscovered: Vec<String>,
    pub replica_links: Vec<ReplicaLink>,
    pub image_copies: Vec<CopyLink>,
    pub snapshot_copies: Vec<CopyLink>,
}

impl<'a> DrContext<'a> {
    pub fn new(topology: &'a Topology, policy: &Policy) -> Option<Self> {
        let primary_code = policy.primary(topology)?;
        let primary = topology.region(primary_code)?;
        let replica_links = topology.replica_links();
        // A copy still in progress (or failed) cannot be restored from.
        let ready: HashSet<(&str, &str)> = topology
            .regions
            .iter()
            .flat_map(|r| {
                let images = r
                    .images
                    .iter()
                    .filter(|i| i.state == "available")
                    .map(move |i| (r.region.as_str(), i.id.as_str()));
                let snapshots = r
                    .snapshots
                    .iter()
                    .filter(|s| s.state == "completed")
                    .map(move |s| (r.region.as_str(), s.id.as_str()));
                images.chain(snapshots)
            })
            .collect();
        let ready = |region: &str, id: &str, _images: bool| ready.contains(&(region, id));
        let image_copies: Vec<CopyLink> = topology
            .image_copies()
            .into_iter()
            .filter(|c| ready(&c.copy.region, &c.copy.id, true))
            .collect();
        let snapshot_copies: Vec<CopyLink> = topology
            .snapshot_copies()
            .into_iter()
            .filter(|c| ready(&c.copy.region, &c.copy.id, false))
            .collect();
        // The one DR-Region rule (crate::dr::dr_regions); a named Region may be undiscovered.
        let mut dr = Vec::new();
        let mut undiscovered = Vec::new();
        for code in crate::dr::dr_regions(topology, primary_code, &policy.dr_regions) {
            match topology.region(&code) {
                Some(r) => dr.push(r),
                None => undiscovered.push(code),
            }
        }
        Some(Self {
            primary,
            dr,
            undiscovered,
            replica_links,
            image_copies,
            snapshot_copies,
        })
    }

    /// The primary holds a stack worth recovering.
    pub fn primary_has_stack(&self) -> bool {
        let p = self.primary;
        !p.auto_scaling_groups.is_empty()
            || !p.load_balancers.is_empty()
            || !p.db_instances.is_empty()
            || !p.db_clusters.is_empty()
    }

    /// Owned AMIs the primary's Auto Scaling groups launch from.
    pub fn primary_amis(&self) -> BTreeSet<&'a str> {
        let index = super::index::RegionIndex::new(self.primary);
        let owned: HashSet<&str> = self.primary.images.iter().map(|i| i.id.as_str()).collect();
        self.primary
            .auto_scaling_groups
            .iter()
            .filter_map(|g| {
                let (_, v) = index.launch_template_version(g.launch_template.as_ref()?)?;
                v.image_id.as_deref()
            })
            .filter(|id| owned.contains(id))
            .collect()
    }

    /// The AMI has a copy in the Region.
    pub fn image_copied(&self, ami: &str, region: &str) -> Option<&CopyLink> {
        self.image_copies.iter().find(|c| {
            c.source.region == self.primary.region && c.source.id == ami && c.copy.region == region
        })
    }

    /// Data snapshots of the primary grouped by volume (AMI-backing snapshots and copies left out).
    pub fn primary_volume_snapshots(
        &self,
    ) -> BTreeMap<&'a str, Vec<&'a crate::topology::Snapshot>> {
        let ami_backing: HashSet<&str> = self
            .primary
            .images
            .iter()
            .flat_map(|i| i.snapshot_ids.iter().map(String::as_str))
            .collect();
        let copies_here: HashSet<&str> = self
            .snapshot_copies
            .iter()
            .filter(|c| c.copy.region == self.primary.region)
            .map(|c| c.copy.id.as_str())
            .collect();
        let mut by_volume: BTreeMap<&str, Vec<&crate::topology::Snapshot>> = BTreeMap::new();
        for s in &self.primary.snapshots {
            let from_image = s.description.as_deref().is_some_and(|d| {
                d.starts_with("Created by CreateImage")
                    || d.starts_with("Copied for DestinationAmi")
            });
            if ami_backing.contains(s.id.as_str())
                || copies_here.contains(s.id.as_str())
                || from_image
            {
                continue;
            }
            by_volume
                .entry(s.volume_id.as_deref().unwrap_or(s.id.as_str()))
                .or_default()
                .push(s);
        }
        by_volume
    }

    /// The complete copies in `dr` of a volume's snapshots, and when the data of the newest was
    /// taken (the source's time when the source is still there, else the copy's own).
    pub fn volume_copies(
        &self,
        snapshots: &[&crate::topology::Snapshot],
        dr: &RegionTopology,
    ) -> (Vec<&CopyLink>, Option<DateTime<Utc>>) {
        let ids: HashSet<&str> = snapshots.iter().map(|s| s.id.as_str()).collect();
        let copies: Vec<&CopyLink> = self
            .snapshot_copies
            .iter()
            .filter(|c| {
                c.copy.region == dr.region
                    && c.source.region == self.primary.region
                    && ids.contains(c.source.id.as_str())
            })
            .collect();
        let time_of = |region: &RegionTopology, id: &str| {
            region
                .snapshots
                .iter()
                .find(|s| s.id == id)
                .and_then(|s| s.started_at)
        };
        let newest = copies
            .iter()
            .filter_map(|c| time_of(self.primary, &c.source.id).or_else(|| time_of(dr, &c.copy.id)))
            .max();
        (copies, newest)
    }

    /// Cross-Region replicas of a DB instance in a Region.
    pub fn replicas_in<'s>(
        &'s self,
        db: &'s DbInstance,
        region: &'s str,
    ) -> impl Iterator<Item = &'s ReplicaLink> {
        self.replica_links
            .iter()
            .filter(move |l| l.source.arn == db.arn && l.replica.region == region)
    }

    /// Standalone writers of the primary (not replicas, not cluster members).
    pub fn primary_writers(&self) -> impl Iterator<Item = &'a DbInstance> {
        self.primary
            .db_instances
            .iter()
            .filter(|d| d.read_replica_source.is_none() && d.cluster_identifier.is_none())
    }

    /// Source clusters of the primary.
    pub fn primary_clusters(&self) -> impl Iterator<Item = &'a DbCluster> {
        self.primary
            .db_clusters
            .iter()
            .filter(|c| c.replication_source.is_none())
    }
}

/// Snapshot copies of a DB instance or cluster in a DR Region, newest first.
pub(crate) fn db_snapshot_copies<'a>(
    dr: &'a RegionTopology,
    primary: &str,
    instance: Option<&str>,
    cluster: Option<&str>,
) -> Vec<&'a crate::topology::DbSnapshot> {
    let mut found: Vec<_> = dr
        .db_snapshots
        .iter()
        .filter(|s| s.source_region.as_deref() == Some(primary) && s.status == "available")
        .filter(|s| {
            (instance.is_some() && s.instance_identifier.as_deref() == instance)
                || (cluster.is_some() && s.cluster_identifier.as_deref() == cluster)
        })
        .collect();
    found.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    found
}

/// Replica clusters of a cluster in a DR Region.
pub(crate) fn replica_clusters<'a>(
    dr: &'a RegionTopology,
    source: &'a DbCluster,
) -> impl Iterator<Item = &'a DbCluster> {
    dr.db_clusters.iter().filter(move |c| {
        c.replication_source.as_deref().is_some_and(|s| {
            s == source.arn || Arn::parse(s).is_some_and(|a| a.resource_id() == source.identifier)
        })
    })
}

pub(crate) fn age_seconds(now: DateTime<Utc>, then: DateTime<Utc>) -> u64 {
    u64::try_from((now - then).num_seconds()).unwrap_or(0)
}

pub(crate) fn human(seconds: u64) -> String {
    crate::duration::seconds(seconds)
}

pub(crate) fn check(topology: &Topology, policy: &Policy, out: &mut Vec<Finding>) {
    let Some(ctx) = DrContext::new(topology, policy) else {
        return;
    };
    let now = policy.now_for(topology);
    let rpo = policy.objectives.region.map(|o| o.rpo_seconds);
    let primary = ctx.primary.region.as_str();
    let p = Some(primary);
    for code in &ctx.undiscovered {
        out.push(finding(
            "DR-XR",
            Some(code),
            ResourceRef::new(ResourceKind::Region, code),
            format!(
                "DR Region {code} named by the policy was not discovered (add it to --regions)"
            ),
        ));
    }
    if ctx.dr.is_empty() && ctx.undiscovered.is_empty() && ctx.primary_has_stack() {
        out.push(finding(
            "DR-XR",
            p,
            ResourceRef::new(ResourceKind::Region, primary),
            format!("no other Region holds a copy or replica of {primary}'s resources"),
        ));
    }
    let amis = ctx.primary_amis();
    let volumes = ctx.primary_volume_snapshots();
    for dr in &ctx.dr {
        let d = dr.region.as_str();
        for ami in &amis {
            if ctx.image_copied(ami, d).is_none() {
                let name = ctx
                    .primary
                    .images
                    .iter()
                    .find(|i| i.id == *ami)
                    .and_then(|i| i.name.as_deref());
                out.push(finding(
                    "DR-XR",
                    p,
                    ResourceRef::new(ResourceKind::Image, *ami).named(name),
                    format!("AMI in use by an Auto Scaling group has no copy in {d}"),
                ));
            }
        }
        for (volume, snapshots) in &volumes {
            let (copies, newest) = ctx.volume_copies(snapshots, dr);
            let name = snapshots
                .iter()
                .find_map(|s| name_tag(&s.tags).or(s.description.as_deref()));
            let resource = || ResourceRef::new(ResourceKind::Volume, *volume).named(name);
            if copies.is_empty() {
                out.push(finding(
                    "DR-XR",
                    p,
                    resource(),
                    format!(
                        "{} snapshot(s) in {primary}, none copied to {d}",
                        snapshots.len()
                    ),
                ));
                continue;
            }
            if let (Some(rpo), Some(newest)) = (rpo, newest) {
                let age = age_seconds(now, newest);
                if age > rpo {
                    out.push(finding(
                        "DR-RPO",
                        p,
                        resource(),
                        format!(
                            "newest copy in {d} holds data from {} ago (RPO {})",
                            human(age),
                            human(rpo)
                        ),
                    ));
                }
            }
        }
        let keys_in_dr = dr
            .db_instances
            .iter()
            .filter_map(|x| x.kms_key_id.as_deref())
            .any(|k| Arn::parse(k).is_some_and(|a| a.region == d));
        for db in ctx.primary_writers() {
            let resource = || {
                ResourceRef::new(ResourceKind::DbInstance, &db.identifier).with_arn(Some(&db.arn))
            };
            let replicas: Vec<&ReplicaLink> = ctx.replicas_in(db, d).collect();
            let copies = db_snapshot_copies(dr, primary, Some(&db.identifier), None);
            if replicas.is_empty() && copies.is_empty() {
                out.push(finding(
                    "DR-XR",
                    p,
                    resource(),
                    format!("no cross-Region read replica or snapshot copy in {d}"),
                ));
            }
            if replicas.is_empty()
                && let (Some(rpo), Some(newest)) = (rpo, copies.first().and_then(|s| s.created_at))
            {
                let age = age_seconds(now, newest);
                if age > rpo {
                    out.push(finding(
                        "DR-RPO",
                        p,
                        resource(),
                        format!(
                            "newest snapshot copy in {d} is {} old (RPO {})",
                            human(age),
                            human(rpo)
                        ),
                    ));
                }
            }
            if db.storage_encrypted {
                let mut problems = Vec::new();
                for link in &replicas {
                    let replica = dr.db_instances.iter().find(|x| x.arn == link.replica.arn);
                    if let Some(replica) = replica {
                        let key_here = replica
                            .kms_key_id
                            .as_deref()
                            .and_then(Arn::parse)
                            .is_some_and(|a| a.region == d);
                        if !replica.storage_encrypted || !key_here {
                            problems.push(format!(
                                "replica {} encrypted={} kms_key_id={}",
                                replica.identifier,
                                replica.storage_encrypted,
                                replica.kms_key_id.as_deref().unwrap_or("none")
                            ));
                        }
                    }
                }
                let encrypted_copy = copies.iter().any(|s| s.encrypted);
                if replicas.is_empty() && !encrypted_copy && !keys_in_dr {
                    problems.push(format!("storage_encrypted=true; no KMS key seen in {d}"));
                }
                if !problems.is_empty() {
                    out.push(finding("DR-KMS", p, resource(), problems.join("; ")));
                }
            }
            if db.backup_retention_days == 0 && replicas.is_empty() {
                out.push(finding(
                    "DR-RR-SRC",
                    p,
                    resource(),
                    format!("backup_retention_days=0: no read replica can be created in {d}"),
                ));
            }
        }
        for cluster in ctx.primary_clusters() {
            let resource = || {
                ResourceRef::new(ResourceKind::DbCluster, &cluster.identifier)
                    .with_arn(Some(&cluster.arn))
            };
            let replicas: Vec<&DbCluster> = replica_clusters(dr, cluster).collect();
            let copies = db_snapshot_copies(dr, primary, None, Some(&cluster.identifier));
            if replicas.is_empty() && copies.is_empty() {
                out.push(finding(
                    "DR-XR",
                    p,
                    resource(),
                    format!("no replica cluster or cluster snapshot copy in {d}"),
                ));
            }
            if replicas.is_empty()
                && let (Some(rpo), Some(newest)) = (rpo, copies.first().and_then(|s| s.created_at))
            {
                let age = age_seconds(now, newest);
                if age > rpo {
                    out.push(finding(
                        "DR-RPO",
                        p,
                        resource(),
                        format!(
                            "newest cluster snapshot copy in {d} is {} old (RPO {})",
                            human(age),
                            human(rpo)
                        ),
                    ));
                }
            }
            if cluster.storage_encrypted {
                let unencrypted: Vec<&str> = replicas
                    .iter()
                    .filter(|r| !r.storage_encrypted)
                    .map(|r| r.identifier.as_str())
                    .collect();
                if !unencrypted.is_empty() {
                    out.push(finding(
                        "DR-KMS",
                        p,
                        resource(),
                        format!(
                            "replica cluster(s) not encrypted: {}",
                            unencrypted.join(",")
                        ),
                    ));
                }
            }
        }
    }
    // Sources of existing replicas with backups off, in any Region.
    let dbs: HashMap<&str, (&str, &DbInstance)> = topology
        .regions
        .iter()
        .flat_map(|r| {
            r.db_instances
                .iter()
                .map(move |d| (d.arn.as_str(), (r.region.as_str(), d)))
        })
        .collect();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for link in &ctx.replica_links {
        if let Some((region, source)) = dbs.get(link.source.arn.as_str())
            && source.backup_retention_days == 0
            && seen.insert(source.arn.as_str())
        {
            out.push(finding(
                "DR-RR-SRC",
                Some(region),
                ResourceRef::new(ResourceKind::DbInstance, &source.identifier)
                    .with_arn(Some(&source.arn)),
                format!(
                    "backup_retention_days=0 on the source of {}",
                    link.replica.identifier
                ),
            ));
        }
    }
}
