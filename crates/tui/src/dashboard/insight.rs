//! The judged views: **Findings** (what is wrong, worst first), **AZ loss** (what each AZ's
//! failure and the primary Region's loss would do) and **DR** (every protected resource's copies
//! per DR Region, their age against the RPO, replica state). They are lists like the resource
//! lists, built from the topology and the policy when the topology changes.

use chrono::Duration;
use haven_model::Topology;
use haven_model::findings::{
    self, DbOutcome, Estimate, Finding, Policy, RegionLossImpact, ResourceKind, Severity,
};
use haven_model::replication::Operation;
use haven_replicate::DrPolicy;
use serde::Serialize;

use super::tables::{Cell, ListKind, ListModel, Row, RowRef, Tone, col, finish};

/// RPO of the DR view when the policy has no Region objective (as `haven replicate`'s default).
const DEFAULT_DR_RPO_MINUTES: i64 = 60;

/// Copies `haven replicate` keeps per resource and Region by default.
const DEFAULT_RETENTION: usize = 3;

fn region_index(topology: &Topology, code: Option<&str>) -> Option<usize> {
    let code = code?;
    topology.regions.iter().position(|r| r.region == code)
}

fn severity_tone(severity: Severity) -> Tone {
    match severity {
        Severity::Critical | Severity::High => Tone::Bad,
        Severity::Medium => Tone::Warn,
        Severity::Low | Severity::Informational => Tone::Dim,
    }
}

/// The Findings list.
pub fn findings(topology: &Topology, policy: &Policy) -> ListModel {
    let rows = findings::assess(topology, policy)
        .iter()
        .enumerate()
        .map(|(i, f)| Row {
            cells: vec![
                Cell::text(f.region.as_deref().unwrap_or("global")),
                Cell::toned(f.severity.as_str(), severity_tone(f.severity)),
                Cell::text(&f.id),
                Cell::text(f.resource.label()),
                Cell::text(&f.title),
            ],
            target: RowRef {
                region: region_index(topology, f.region.as_deref()),
                index: i,
                iam: None,
            },
            haystack: String::new(),
            key: format!(
                "{}/{}/{}",
                f.id,
                f.resource.id,
                f.region.as_deref().unwrap_or("")
            ),
        })
        .collect();
    finish(
        ListKind::Findings,
        vec![
            col("REGION", 15),
            col("SEVERITY", 14),
            col("CHECK", 16),
            col("RESOURCE", 28),
            col("FINDING", 40),
        ],
        rows,
    )
}

/// The list a finding's resource is shown in, and the text that finds it there.
pub fn finding_location(finding: &Finding) -> Option<(ListKind, String)> {
    let kind = match finding.resource.kind {
        ResourceKind::Vpc => ListKind::Vpc,
        ResourceKind::Subnet => ListKind::Subnet,
        ResourceKind::NatGateway => ListKind::Nat,
        ResourceKind::SecurityGroup => ListKind::Sg,
        ResourceKind::Instance => ListKind::Ec2,
        ResourceKind::LaunchTemplate => ListKind::Lt,
        ResourceKind::AutoScalingGroup => ListKind::Asg,
        ResourceKind::LoadBalancer => ListKind::Lb,
        ResourceKind::TargetGroup => ListKind::Tg,
        ResourceKind::DbInstance | ResourceKind::DbCluster => ListKind::Rds,
        ResourceKind::Image => ListKind::Ami,
        ResourceKind::Snapshot => ListKind::Snap,
        ResourceKind::IamUser | ResourceKind::Account => ListKind::Iam,
        ResourceKind::Volume | ResourceKind::Region => return None,
    };
    let text = match finding.resource.kind {
        // Load balancers and target groups are listed by name; their ids are ARNs.
        ResourceKind::LoadBalancer | ResourceKind::TargetGroup => finding
            .resource
            .name
            .clone()
            .unwrap_or_else(|| finding.resource.id.clone()),
        ResourceKind::Account => String::new(),
        _ => finding.resource.id.clone(),
    };
    Some((kind, text))
}

fn seconds(s: u64) -> String {
    match s {
        0 => "0s".into(),
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}

fn estimate(e: &Estimate) -> String {
    e.seconds.map_or_else(|| "?".into(), seconds)
}

fn achievable(a: &findings::Achievable) -> Cell {
    Cell::text(format!(
        "RTO {} / RPO {}",
        estimate(&a.rto),
        estimate(&a.rpo)
    ))
}

/// One row of the AZ-loss view: an AZ of the primary Region, or the primary Region itself.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Loss {
    /// Losing an AZ.
    Az(findings::AzLossImpact),
    /// Losing the primary Region.
    Region(RegionLossImpact),
}

/// The AZ-loss rows: each AZ the primary's stack uses, then the Region.
pub fn losses(topology: &Topology, policy: &Policy) -> Vec<Loss> {
    let report = findings::resilience(topology, policy);
    let mut out: Vec<Loss> = report.az.into_iter().map(Loss::Az).collect();
    out.extend(report.region.map(Loss::Region));
    out
}

fn az_row(impact: &findings::AzLossImpact) -> Vec<Cell> {
    let lbs: Vec<String> = impact
        .load_balancers
        .iter()
        .map(|lb| {
            format!(
                "{} {} {}/{}",
                if lb.serves { "✓" } else { "✗" },
                lb.name,
                lb.healthy_after,
                lb.healthy_before
            )
        })
        .collect();
    let lb_tone = if impact.load_balancers.iter().all(|lb| lb.serves) {
        Tone::Good
    } else {
        Tone::Bad
    };
    let asgs: Vec<String> = impact
        .auto_scaling_groups
        .iter()
        .map(|g| format!("{} {}/{} left", g.name, g.remaining, g.desired))
        .collect();
    let asg_tone = if impact
        .auto_scaling_groups
        .iter()
        .all(|g| g.remaining > 0 && !g.other_azs.is_empty())
    {
        Tone::Good
    } else {
        Tone::Bad
    };
    let mut db_tone = Tone::Good;
    let dbs: Vec<String> = impact
        .databases
        .iter()
        .map(|d| match &d.outcome {
            DbOutcome::Unaffected => format!("{} unaffected", d.identifier),
            DbOutcome::FailsOver {
                to_az,
                estimate_seconds,
            } => {
                db_tone = db_tone.max_with(Tone::Warn);
                format!(
                    "{} fails over to {} (~{})",
                    d.identifier,
                    to_az.as_deref().unwrap_or("another AZ"),
                    seconds(*estimate_seconds)
                )
            }
            DbOutcome::Recreated { estimate_seconds } => {
                db_tone = db_tone.max_with(Tone::Warn);
                format!(
                    "{} writer recreated (~{})",
                    d.identifier,
                    seconds(*estimate_seconds)
                )
            }
            DbOutcome::ReaderLost => format!("{} reader lost", d.identifier),
            DbOutcome::Lost {
                promotable_replicas,
                ..
            } => {
                db_tone = Tone::Bad;
                match promotable_replicas.first() {
                    Some(r) => format!("{} LOST (promote {r})", d.identifier),
                    None => format!("{} LOST", d.identifier),
                }
            }
        })
        .collect();
    let (nat, nat_tone) = if impact.nat_egress_lost.is_empty() {
        ("kept".to_string(), Tone::Good)
    } else {
        (
            format!("✗ {} subnet(s) lose egress", impact.nat_egress_lost.len()),
            Tone::Bad,
        )
    };
    vec![
        Cell::text(&impact.region),
        Cell::text(&impact.az),
        achievable(&impact.achievable),
        Cell::toned(or_dash(&lbs), lb_tone),
        Cell::toned(or_dash(&asgs), asg_tone),
        Cell::toned(or_dash(&dbs), db_tone),
        Cell::toned(nat, nat_tone),
    ]
}

fn region_row(impact: &RegionLossImpact) -> Vec<Cell> {
    let dr = impact.dr_region.as_deref().unwrap_or("no DR Region");
    let serves = impact.missing.is_empty() && impact.dr_region.is_some();
    let tone = if serves { Tone::Good } else { Tone::Bad };
    let missing: Vec<String> = impact.missing.iter().map(|(_, m)| m.clone()).collect();
    vec![
        Cell::text(&impact.region),
        Cell::toned("whole Region", Tone::Warn),
        achievable(&impact.achievable),
        Cell::toned(format!("→ {dr}"), tone),
        Cell::text(format!("{} AMI copies", impact.image_copies.len())),
        Cell::toned(
            match impact.replicas_to_promote.first() {
                Some(r) => format!("promote {r}"),
                None => format!("{} DB snapshot copies", impact.db_snapshot_copies.len()),
            },
            if impact.replicas_to_promote.is_empty() {
                Tone::Warn
            } else {
                Tone::Good
            },
        ),
        Cell::toned(
            if missing.is_empty() {
                "nothing missing".to_string()
            } else {
                format!("missing: {}", missing.join("; "))
            },
            tone,
        ),
    ]
}

fn or_dash(parts: &[String]) -> String {
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

/// The AZ-loss list.
pub fn az_loss(topology: &Topology, policy: &Policy) -> ListModel {
    let rows = losses(topology, policy)
        .iter()
        .enumerate()
        .map(|(i, loss)| {
            let (cells, region, key) = match loss {
                Loss::Az(impact) => (
                    az_row(impact),
                    impact.region.as_str(),
                    format!("az/{}", impact.az),
                ),
                Loss::Region(impact) => (
                    region_row(impact),
                    impact.region.as_str(),
                    format!("region/{}", impact.region),
                ),
            };
            Row {
                cells,
                target: RowRef {
                    region: region_index(topology, Some(region)),
                    index: i,
                    iam: None,
                },
                haystack: String::new(),
                key,
            }
        })
        .collect();
    finish(
        ListKind::AzLoss,
        // The short judgement first and the free text last, so 160 columns show every column
        // (`d` shows the whole analysis).
        vec![
            col("REGION", 15),
            col("IF LOST", 16),
            col("ACHIEVABLE", 22),
            col("HEALTHY LEFT", 18),
            col("CAPACITY LEFT", 18),
            col("DATABASE", 36),
            col("NAT EGRESS / MISSING", 24),
        ],
        rows,
    )
}

/// The replication policy the DR view judges against: the policy's primary and DR Regions (every
/// other Region when it names none) and its Region RPO.
pub fn dr_policy(topology: &Topology, policy: &Policy) -> Option<DrPolicy> {
    let source = policy.primary(topology)?.to_string();
    let destinations: Vec<String> = if policy.dr_regions.is_empty() {
        topology
            .regions
            .iter()
            .map(|r| r.region.clone())
            .filter(|r| *r != source)
            .collect()
    } else {
        policy.dr_regions.clone()
    };
    if destinations.is_empty() {
        return None;
    }
    let rpo = policy
        .objectives
        .region
        .map_or(Duration::minutes(DEFAULT_DR_RPO_MINUTES), |o| {
            Duration::seconds(i64::try_from(o.rpo_seconds).unwrap_or(i64::MAX / 1000))
        });
    Some(DrPolicy {
        source_region: source,
        destinations,
        retention: DEFAULT_RETENTION,
        replicas: true,
        rpo,
        kms_keys: Default::default(),
    })
}

/// One row of the DR view: a protected resource in one DR Region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrEntry {
    /// What protects it (`AMI`, `EBS snapshot`, `DB snapshot`, `read replica`).
    pub kind: String,
    /// What is protected (launch template, volume, DB instance or cluster).
    pub protects: String,
    /// The newest source (or the source DB for a replica).
    pub source: String,
    /// The primary Region.
    pub source_region: String,
    /// The DR Region.
    pub region: String,
    /// The newest copy (or the replica), if any.
    pub copy: Option<String>,
    /// Its age in minutes, for copies.
    pub age_minutes: Option<i64>,
    /// `fresh`, `stale`, `missing`, or the replica's status.
    pub status: String,
    /// The RPO, in minutes.
    pub rpo_minutes: i64,
    /// What `haven replicate` would do for it now (the DR action).
    pub operation: Option<Operation>,
    /// Why replication does nothing for it although it is missing or stale (the plan's note,
    /// e.g. an encrypted DB that needs a KMS key in the DR Region).
    pub note: Option<String>,
}

impl DrEntry {
    fn tone(&self) -> Tone {
        match self.status.as_str() {
            "fresh" => Tone::Good,
            "stale" => Tone::Warn,
            "missing" => Tone::Bad,
            other => super::tables::status_tone(other),
        }
    }
}

/// Every protected resource per DR Region, with what replication would do for it.
pub fn dr_entries(topology: &Topology, policy: &Policy) -> Vec<DrEntry> {
    let Some(dr) = dr_policy(topology, policy) else {
        return Vec::new();
    };
    let plan = haven_replicate::plan(topology, &dr);
    let rpo_minutes = dr.rpo.num_minutes();
    // The plan's notes name the resource they are about; a note that names another Region is
    // not about this row.
    let note_for = |id: &str, region: &str, operation: &Option<Operation>, status: &str| {
        if operation.is_some() || !matches!(status, "missing" | "stale") {
            return None;
        }
        plan.notes
            .iter()
            .find(|n| {
                n.contains(id)
                    && dr
                        .destinations
                        .iter()
                        .all(|d| d == region || !n.contains(d.as_str()))
            })
            .cloned()
    };
    let mut out = Vec::new();
    for p in &plan.protected {
        for c in &p.copies {
            let operation = plan
                .operations
                .iter()
                .find(|op| match op {
                    Operation::Copy(copy) => {
                        copy.destination_region == c.region && copy.source_id == p.source
                    }
                    _ => false,
                })
                .cloned();
            let status = match (&c.copy, c.fresh) {
                (None, _) => "missing",
                (Some(_), true) => "fresh",
                (Some(_), false) => "stale",
            };
            out.push(DrEntry {
                kind: p.kind.as_str().to_string(),
                protects: p.lineage.clone(),
                source: p.source.clone(),
                source_region: dr.source_region.clone(),
                region: c.region.clone(),
                copy: c.copy.clone(),
                age_minutes: c.age_minutes,
                status: status.to_string(),
                rpo_minutes,
                note: note_for(&p.source, &c.region, &operation, status).or_else(|| {
                    // A copy of the newest source that is still stale: the source is old.
                    (status == "stale" && operation.is_none()).then(|| {
                        format!(
                            "the newest source {} is itself older than the RPO: make a new one \
                             in {}, then `haven replicate` copies it",
                            p.source, dr.source_region
                        )
                    })
                }),
                operation,
            });
        }
    }
    // Cross-Region read replicas of every DB instance that is not itself a replica.
    let Some(source) = topology.region(&dr.source_region) else {
        return out;
    };
    for db in source
        .db_instances
        .iter()
        .filter(|d| d.read_replica_source.is_none() && d.cluster_identifier.is_none())
    {
        for region in &dr.destinations {
            let replica = topology.region(region).and_then(|r| {
                r.db_instances.iter().find(|d| {
                    d.read_replica_source
                        .as_deref()
                        .is_some_and(|s| s == db.arn || s == db.identifier)
                })
            });
            let operation = plan
                .operations
                .iter()
                .find(|op| match op {
                    Operation::Replica(r) => {
                        r.destination_region == *region && r.source_arn == db.arn
                    }
                    _ => false,
                })
                .cloned();
            out.push(DrEntry {
                kind: "read replica".into(),
                protects: db.identifier.clone(),
                source: db.identifier.clone(),
                source_region: dr.source_region.clone(),
                region: region.clone(),
                copy: replica.map(|r| r.identifier.clone()),
                age_minutes: None,
                status: replica.map_or_else(|| "missing".to_string(), |r| r.status.clone()),
                rpo_minutes,
                note: match replica {
                    Some(_) => None,
                    None => note_for(&db.identifier, region, &operation, "missing"),
                },
                operation,
            });
        }
    }
    out
}

/// The DR list.
pub fn dr(topology: &Topology, policy: &Policy) -> ListModel {
    let rows = dr_entries(topology, policy)
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let age = match e.age_minutes {
                Some(m) => format!("{} / RPO {}", minutes(m), minutes(e.rpo_minutes)),
                None if e.kind == "read replica" && e.copy.is_some() => "replicating".into(),
                None => "-".into(),
            };
            Row {
                cells: vec![
                    Cell::text(&e.region),
                    Cell::text(&e.kind),
                    Cell::text(&e.protects),
                    Cell::text(&e.source),
                    Cell::text(e.copy.as_deref().unwrap_or("-")),
                    Cell::toned(age, e.tone()),
                    Cell::toned(
                        match (&e.operation, &e.note, e.status.as_str()) {
                            (Some(_), _, s) => format!("{s} (a: copy now)"),
                            (None, Some(_), s) => format!("{s} (d: why)"),
                            (None, None, s) => s.to_string(),
                        },
                        e.tone(),
                    ),
                ],
                target: RowRef {
                    region: region_index(topology, Some(&e.region)),
                    index: i,
                    iam: None,
                },
                haystack: String::new(),
                key: format!("{}/{}/{}", e.kind, e.protects, e.region),
            }
        })
        .collect();
    finish(
        ListKind::Dr,
        vec![
            col("DR REGION", 15),
            col("KIND", 14),
            col("PROTECTS", 26),
            col("NEWEST SOURCE", 26),
            col("COPY IN DR", 26),
            col("AGE / RPO", 18),
            col("STATE", 20),
        ],
        rows,
    )
}

fn minutes(m: i64) -> String {
    if m < 120 {
        format!("{m}m")
    } else if m < 48 * 60 {
        format!("{}h", m / 60)
    } else {
        format!("{}d", m / (24 * 60))
    }
}

impl Tone {
    /// The worse of two tones (for a cell summing up several things).
    fn max_with(self, other: Tone) -> Tone {
        let rank = |t: Tone| match t {
            Tone::Bad => 3,
            Tone::Warn => 2,
            Tone::Busy => 1,
            _ => 0,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}
