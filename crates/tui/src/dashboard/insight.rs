//! The judged views: **Findings** (what is wrong, worst first), **AZ loss** (what each AZ's
//! failure and the primary Region's loss would do) and **DR** (every protected resource's copies
//! per DR Region, their age against the RPO, replica state). They are lists like the resource
//! lists, built from the topology and the policy when the topology changes.

use haven_model::Topology;
use haven_model::dr::{DrPolicy, DrRow, DrState};
use haven_model::findings::{
    self, DbOutcome, Estimate, Finding, Policy, RegionLossImpact, ResourceKind, Severity,
};
use haven_model::replication::Operation;
use serde::Serialize;

use crate::dr_table;

use super::rows::{Cell, ListKind, ListModel, Row, RowRef, col, finish};
use super::style::{Tone, status_tone};

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
                Cell::text(f.id.as_ref()),
                Cell::text(match (&f.resource.kind, &f.resource.name) {
                    // An ASG's instances share a name: the id tells them apart.
                    (ResourceKind::Instance, Some(name)) => format!("{name} {}", f.resource.id),
                    _ => f.resource.label().to_string(),
                }),
                Cell::text(f.title.as_ref()),
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
    resource_location(&finding.resource)
}

/// The list a resource is shown in, and the text that finds it there (load balancers, target
/// groups, records and certificates by their name when the reference has one).
pub fn resource_location(resource: &findings::ResourceRef) -> Option<(ListKind, String)> {
    let kind = match resource.kind {
        ResourceKind::Vpc => ListKind::Vpc,
        ResourceKind::Subnet => ListKind::Subnet,
        ResourceKind::NatGateway => ListKind::Nat,
        ResourceKind::SecurityGroup => ListKind::Sg,
        ResourceKind::Instance => ListKind::Ec2,
        ResourceKind::LaunchTemplate => ListKind::Lt,
        ResourceKind::AutoScalingGroup => ListKind::Asg,
        ResourceKind::LoadBalancer | ResourceKind::Listener | ResourceKind::ClassicLoadBalancer => {
            ListKind::Lb
        }
        ResourceKind::TargetGroup => ListKind::Tg,
        ResourceKind::DbInstance | ResourceKind::DbCluster => ListKind::Rds,
        ResourceKind::Image => ListKind::Ami,
        ResourceKind::Snapshot => ListKind::Snap,
        ResourceKind::DbSnapshot => ListKind::DbSnap,
        ResourceKind::IamUser | ResourceKind::IamPolicy | ResourceKind::Account => ListKind::Iam,
        ResourceKind::DnsRecord | ResourceKind::DnsHealthCheck => ListKind::Dns,
        ResourceKind::Certificate => ListKind::Certs,
        ResourceKind::Volume
        | ResourceKind::Region
        | ResourceKind::LaunchConfiguration
        | ResourceKind::NetworkAcl
        | ResourceKind::ElasticIp
        | ResourceKind::VpcEndpoint => return None,
    };
    let text = match resource.kind {
        // Load balancers and target groups are listed by name; their ids are ARNs.
        ResourceKind::LoadBalancer | ResourceKind::TargetGroup => {
            resource.name.clone().unwrap_or_else(|| resource.id.clone())
        }
        ResourceKind::Account => String::new(),
        // Records are listed by host name, certificates by domain.
        ResourceKind::DnsRecord | ResourceKind::Certificate => {
            resource.name.clone().unwrap_or_else(|| resource.id.clone())
        }
        _ => resource.id.clone(),
    };
    Some((kind, text))
}

use haven_model::duration::seconds;

fn estimate(e: &Estimate) -> String {
    e.seconds.map_or_else(|| "?".into(), seconds)
}

fn achievable(a: &findings::Achievable) -> Cell {
    // An unknown estimate is explained in the row's describe (its basis names what is unknown).
    let why = if a.rto.seconds.is_none() || a.rpo.seconds.is_none() {
        " (d: why)"
    } else {
        ""
    };
    Cell::text(format!(
        "RTO {} / RPO {}{why}",
        estimate(&a.rto),
        estimate(&a.rpo)
    ))
}

/// The Region RPO the views judge against, and where it comes from.
pub fn rpo_objective(policy: &Policy) -> String {
    let default = findings::Objectives::default().region;
    match policy.objectives.region {
        Some(o) if Some(o) == default => format!(
            "RPO {} (haven's default; policy.toml [objectives.region] rpo_seconds sets another)",
            seconds(o.rpo_seconds)
        ),
        Some(o) => format!(
            "RPO {} (the policy's Region objective)",
            seconds(o.rpo_seconds)
        ),
        None => format!(
            "RPO {} (haven's default: the policy sets no Region objective)",
            seconds(haven_model::dr::DEFAULT_RPO_MINUTES.unsigned_abs() * 60)
        ),
    }
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
        Cell::text(count(impact.image_copies.len(), "AMI copy", "AMI copies")),
        Cell::toned(
            match impact.replicas_to_promote.first() {
                Some(r) => format!("promote {r}"),
                None => count(
                    impact.db_snapshot_copies.len(),
                    "DB snapshot copy",
                    "DB snapshot copies",
                ),
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

/// `1 AMI copy`, `2 AMI copies`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
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
    let mut model = finish(
        ListKind::AzLoss,
        // The short judgement first and the free text last, so 160 columns show every column
        // (`d` shows the whole analysis).
        vec![
            col("REGION", 15),
            col("IF LOST", 16),
            col("ACHIEVABLE", 26),
            col("HEALTHY LEFT", 18),
            col("CAPACITY LEFT", 18),
            col("DATABASE", 36),
            col("NAT EGRESS / MISSING", 24),
        ],
        rows,
    );
    model.note = Some(rpo_objective(policy));
    model
}

/// The replication policy the DR view judges against (the model's one DR-Region rule).
pub fn dr_policy(topology: &Topology, policy: &Policy) -> Option<DrPolicy> {
    policy.dr(topology)
}

/// What an empty DR view says: there is no DR Region yet, or nothing in scope to protect.
pub fn dr_empty_reason(topology: &Topology, policy: &Policy) -> String {
    let primary = policy.primary(topology).unwrap_or("the primary Region");
    match dr_policy(topology, policy) {
        None => format!(
            "no DR Region for {primary}: none is named (dr_regions in the config) and no other \
             Region holds a copy, a replica or a DR network of its resources; `haven up` with a \
             [dr] section, or `haven replicate --to REGION`, makes one"
        ),
        Some(dr) => format!(
            "nothing to protect in {primary} ({}): no launch template, volume snapshot or \
             database",
            dr.scope
        ),
    }
}

/// One row of the DR view: a protected resource in one DR Region, what replication would do
/// for it now, and what stands in the way.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrEntry {
    /// The row, as `haven replicate` shows it.
    #[serde(flatten)]
    pub row: DrRow,
    /// What `haven replicate` would make for it now (the DR action).
    pub operation: Option<Operation>,
    /// Everything `haven replicate` would do for it, in order (a failed copy's removal first).
    #[serde(skip)]
    pub operations: Vec<Operation>,
    /// Why it stays unprotected, in a sentence.
    pub why: Option<String>,
}

impl DrEntry {
    fn tone(&self) -> Tone {
        match &self.row.state {
            DrState::Fresh => Tone::Good,
            DrState::Stale => Tone::Warn,
            DrState::Copying { .. } => Tone::Busy,
            DrState::Missing | DrState::Failed => Tone::Bad,
            DrState::Replica { status } => status_tone(status),
        }
    }
}

/// Every protected resource per DR Region, with what replication would do for it.
pub fn dr_entries(topology: &Topology, policy: &Policy) -> Vec<DrEntry> {
    let Some(dr) = dr_policy(topology, policy) else {
        return Vec::new();
    };
    let plan = haven_replicate::plan(topology, &dr);
    dr_entries_of(&plan)
}

/// The entries of a plan.
pub fn dr_entries_of(plan: &haven_replicate::Plan) -> Vec<DrEntry> {
    plan.status
        .rows
        .iter()
        .map(|row| DrEntry {
            operation: plan.creation_for(&row.key()).cloned(),
            operations: plan.operations_for(&row.key()).cloned().collect(),
            why: row.note.as_ref().map(|n| n.sentence(row)),
            row: row.clone(),
        })
        .collect()
}

/// The DR list.
pub fn dr(topology: &Topology, policy: &Policy) -> ListModel {
    let rows = dr_entries(topology, policy)
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let tone = e.tone();
            let [region, kind, protects, source, copy, age, state] = dr_table::cells(&e.row);
            let state = match (&e.operation, &e.why) {
                (Some(_), _) => format!("{state} (a: copy now)"),
                (None, Some(_)) => format!("{state} (d: why)"),
                (None, None) => state,
            };
            Row {
                cells: vec![
                    Cell::text(region),
                    Cell::text(kind),
                    Cell::text(protects),
                    Cell::text(source),
                    Cell::text(copy),
                    Cell::toned(age, tone),
                    Cell::toned(state, tone),
                ],
                target: RowRef {
                    region: region_index(topology, Some(&e.row.region)),
                    index: i,
                    iam: None,
                },
                haystack: String::new(),
                key: format!("{}/{}/{}", e.row.protection, e.row.protects, e.row.region),
            }
        })
        .collect();
    let [h0, h1, h2, h3, h4, h5, h6] = dr_table::HEADERS;
    let mut model = finish(
        ListKind::Dr,
        vec![
            col(h0, 15),
            col(h1, 14),
            col(h2, 26),
            col(h3, 26),
            col(h4, 26),
            col(h5, 18),
            col(h6, 20),
        ],
        rows,
    );
    model.note = Some(rpo_objective(policy));
    model
}
