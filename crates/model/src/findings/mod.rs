//! HA, DR and security findings: what an expert names on first looking at a stack — its single
//! points of failure and its holes — computed from a [`Topology`] against a [`Policy`].
//!
//! Ids are the AWS Security Hub control ids where one exists (`AutoScaling.1`, `RDS.5`…), else
//! haven's own (`HA-NAT-AZ`, `SEC-CHAIN`, `DR-XR`…); see [`catalogue`]. Everything here is pure:
//! the caller supplies the clock through [`Policy::now`].

mod alarms;
#[cfg(test)]
mod alarms_tests;
mod asg_fleet;
#[cfg(test)]
mod asg_fleet_tests;
mod autoscaling;
mod backup;
#[cfg(test)]
mod backup_tests;
mod catalogue;
mod dr;
mod ebs;
#[cfg(test)]
mod ebs_network_tests;
mod ec2;
mod elb;
mod front_door;
#[cfg(test)]
mod front_door_tests;
mod help;
mod iam;
mod iam_access;
#[cfg(test)]
mod iam_access_tests;
#[cfg(test)]
mod id_table_tests;
mod index;
#[cfg(test)]
mod index_tests;
mod load_balancing;
#[cfg(test)]
mod load_balancing_tests;
mod network;
mod rds;
mod rds_ops;
#[cfg(test)]
mod rds_ops_tests;
mod reach;
#[cfg(test)]
mod reach_tests;
mod resilience;
#[cfg(test)]
mod test_fixtures;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::dr::DrPolicy;
use crate::topology::Topology;

pub use catalogue::{Category, Check, catalogue, check};
pub use help::{help_url, is_aws_control};
pub use resilience::{
    Achievable, AsgAzImpact, AzLossImpact, DbFailover, DbOutcome, DrTier, Estimate, LbAzImpact,
    NatEgressLoss, ObjectiveComparison, RegionLossImpact, ResilienceReport, az_loss, region_loss,
    resilience,
};

/// How bad a finding is; ordered from [`Severity::Informational`] up to [`Severity::Critical`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing to fix.
    Informational,
    /// Fix when convenient.
    Low,
    /// Fix soon.
    Medium,
    /// A single point of failure or an open door: fix now.
    High,
    /// An outage in progress or an account takeover risk.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Informational,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// A lowercase label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Informational => "informational",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a severity name that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a severity; expected critical, high, medium, low or informational")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "critical" => Ok(Self::Critical),
            "high" => Ok(Self::High),
            "medium" => Ok(Self::Medium),
            "low" => Ok(Self::Low),
            "informational" | "info" => Ok(Self::Informational),
            _ => Err(UnknownSeverity(text.to_string())),
        }
    }
}

pub use crate::resource::{ResourceKind, ResourceRef};

/// One thing wrong with the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Security Hub control id where one exists, else haven's (`HA-NAT-AZ`, `DR-XR`…).
    pub id: Cow<'static, str>,
    /// What is wrong, in a few words.
    pub title: Cow<'static, str>,
    /// How bad it is.
    pub severity: Severity,
    /// HA, DR or security.
    pub category: Category,
    /// The Region, for Regional resources.
    pub region: Option<String>,
    /// The resource.
    pub resource: ResourceRef,
    /// The concrete values seen.
    pub evidence: String,
    /// Why it matters.
    pub why: Cow<'static, str>,
    /// How to fix it.
    pub fix: Cow<'static, str>,
    /// The haven action that fixes it, where there is one.
    pub fix_action: Option<Cow<'static, str>>,
}

/// A recovery time and point objective, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objective {
    /// Recovery time objective: the longest acceptable outage.
    pub rto_seconds: u64,
    /// Recovery point objective: the most data (as time) that may be lost.
    pub rpo_seconds: u64,
}

/// The disruption types of the Resilience Hub model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disruption {
    /// Application (Resilience Hub `Software`).
    Application,
    /// Cloud infrastructure (`Hardware`): one instance or node.
    Infrastructure,
    /// Cloud infrastructure AZ (`AZ`): a whole Availability Zone.
    Az,
    /// Cloud infrastructure Region (`Region`): the primary Region.
    Region,
}

/// Objectives per disruption type, as Resilience Hub's resiliency policy holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Objectives {
    /// A bad deploy or a crashed process.
    pub application: Objective,
    /// One instance or node lost.
    pub infrastructure: Objective,
    /// One Availability Zone lost.
    pub az: Objective,
    /// The primary Region lost; `None` when there is no Region objective.
    pub region: Option<Objective>,
}

impl Default for Objectives {
    /// haven's defaults (not AWS's): 15 min / 5 min inside a Region, 4 h / 1 h for a Region.
    fn default() -> Self {
        let in_region = Objective {
            rto_seconds: 900,
            rpo_seconds: 300,
        };
        Self {
            application: in_region,
            infrastructure: in_region,
            az: in_region,
            // One RPO everywhere: `haven replicate`, `:dr` and the findings share it.
            region: Some(Objective {
                rto_seconds: 4 * 3600,
                rpo_seconds: crate::dr::DEFAULT_RPO_MINUTES as u64 * 60,
            }),
        }
    }
}

impl Objectives {
    /// The objective for a disruption type.
    pub fn get(&self, disruption: Disruption) -> Option<Objective> {
        match disruption {
            Disruption::Application => Some(self.application),
            Disruption::Infrastructure => Some(self.infrastructure),
            Disruption::Az => Some(self.az),
            Disruption::Region => self.region,
        }
    }
}

/// A finding the owner has accepted, by check id and resource id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptedException {
    /// Check id, e.g. `HA-IR-LATEST`.
    pub id: String,
    /// Resource id as findings report it; `*` for every resource.
    pub resource: String,
    /// Why it is accepted.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The Remote-administration and database ports the catalogue calls high-risk (EC2.19).
pub const HIGH_RISK_PORTS: [u16; 24] = [
    20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500,
    5601, 8080, 8088, 8888, 9200, 9300,
];

/// What the stack is held to: objectives, DR Regions, limits and accepted exceptions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// RTO/RPO per disruption type.
    pub objectives: Objectives,
    /// The primary Region; `None` = the topology's first Region.
    pub primary_region: Option<String>,
    /// DR Regions; empty = every other Region holding copies or replicas of the primary's.
    pub dr_regions: Vec<String>,
    /// Access keys older than this many days fail IAM.3.
    pub max_access_key_age_days: i64,
    /// Ports that may be open to the world (EC2.18).
    pub authorized_public_ports: Vec<u16>,
    /// Ports that must never be open to the world (EC2.19).
    pub high_risk_ports: Vec<u16>,
    /// The time ages are measured at; `None` = the topology's `taken_at`.
    pub now: Option<DateTime<Utc>>,
    /// Accepted findings, left out of [`assess`]'s result.
    pub exceptions: Vec<AcceptedException>,
    /// When live signals (CPU, errors, latency, lag, storage) are coloured as a warning or
    /// critical.
    pub thresholds: crate::signals::Thresholds,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            objectives: Objectives::default(),
            primary_region: None,
            dr_regions: Vec::new(),
            max_access_key_age_days: 90,
            authorized_public_ports: vec![80, 443],
            high_risk_ports: HIGH_RISK_PORTS.to_vec(),
            now: None,
            exceptions: Vec::new(),
            thresholds: crate::signals::Thresholds::default(),
        }
    }
}

impl Policy {
    /// The time ages are measured at.
    pub fn now_for(&self, topology: &Topology) -> DateTime<Utc> {
        self.now.unwrap_or(topology.taken_at)
    }

    /// The primary Region's code, if the topology has any Region.
    pub fn primary<'a>(&'a self, topology: &'a Topology) -> Option<&'a str> {
        self.primary_region
            .as_deref()
            .or_else(|| topology.regions.first().map(|r| r.region.as_str()))
    }

    /// The DR policy the judged views use: this policy's primary Region, its DR Regions
    /// ([`crate::dr::dr_regions`]), its Region RPO, haven's default retention, replicas on,
    /// every haven stack (or, in a Region no haven stack runs in, a stack built by hand, every
    /// resource). `None` without a primary or a DR Region.
    pub fn dr(&self, topology: &Topology) -> Option<DrPolicy> {
        let source = self.primary(topology)?.to_string();
        let destinations = crate::dr::dr_regions(topology, &source, &self.dr_regions);
        if destinations.is_empty() {
            return None;
        }
        let rpo = self.objectives.region.map_or(
            chrono::Duration::minutes(crate::dr::DEFAULT_RPO_MINUTES),
            |o| chrono::Duration::seconds(i64::try_from(o.rpo_seconds).unwrap_or(i64::MAX / 1000)),
        );
        let by_hand = topology
            .region(&source)
            .is_some_and(|r| crate::dr::stacks(r).is_empty());
        Some(DrPolicy {
            source_region: source,
            destinations,
            retention: crate::dr::DEFAULT_RETENTION,
            replicas: true,
            rpo,
            kms_keys: std::collections::BTreeMap::new(),
            scope: if by_hand {
                crate::dr::Scope::All
            } else {
                crate::dr::Scope::HavenStacks
            },
        })
    }

    /// The finding is accepted.
    pub fn accepts(&self, finding: &Finding) -> bool {
        self.exceptions
            .iter()
            .any(|e| e.id == finding.id && (e.resource == "*" || e.resource == finding.resource.id))
    }
}

/// Every finding for the topology under the policy, accepted exceptions left out, sorted by
/// severity (worst first), then id, then resource, then Region.
pub fn assess(topology: &Topology, policy: &Policy) -> Vec<Finding> {
    let mut findings = Vec::new();
    let partition = topology
        .caller_arn
        .as_deref()
        .and_then(|arn| arn.split(':').nth(1))
        .unwrap_or("aws");
    let account = topology.account_id.as_deref().map(|id| (partition, id));
    for region in &topology.regions {
        let index = index::RegionIndex::new(region);
        backup::check(&index, account, &mut findings);
        ec2::check(&index, policy, &mut findings);
        autoscaling::check(&index, &mut findings);
        elb::check(&index, &mut findings);
        rds::check(&index, &mut findings);
        reach::check(&index, policy, &mut findings);
        rds_ops::check(&index, policy.now_for(topology), &mut findings);
        load_balancing::check(&index, &mut findings);
        asg_fleet::check(&index, &mut findings);
        ebs::check(&index, &mut findings);
        network::check(&index, &mut findings);
    }
    if let Some(iam) = &topology.iam {
        iam::check(iam, policy, policy.now_for(topology), &mut findings);
        iam_access::check(iam, policy.now_for(topology), &mut findings);
    }
    dr::check(topology, policy, &mut findings);
    front_door::check(topology, policy, &mut findings);
    alarms::check(topology, &mut findings);
    findings.retain(|f| !policy.accepts(f));
    sort(&mut findings);
    findings
}

/// Sorts findings: severity (worst first), id, resource, Region.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.resource.id.cmp(&b.resource.id))
            .then_with(|| a.region.cmp(&b.region))
            .then_with(|| a.evidence.cmp(&b.evidence))
    });
}

/// Findings per severity.
pub fn count_by_severity(findings: &[Finding]) -> std::collections::BTreeMap<Severity, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for f in findings {
        *counts.entry(f.severity).or_insert(0) += 1;
    }
    counts
}

/// Builds a finding from its catalogue entry.
pub(crate) fn finding(
    id: &str,
    region: Option<&str>,
    resource: ResourceRef,
    evidence: String,
) -> Finding {
    let entry = check(id);
    // The catalogue's texts are shared by every finding of a check, not copied into each:
    // thousands of findings on a large account (5,000 for the bench's 1,000 instances).
    Finding {
        id: entry.map_or_else(|| Cow::Owned(id.to_string()), |c| Cow::Borrowed(c.id)),
        title: entry.map_or_else(|| Cow::Owned(id.to_string()), |c| Cow::Borrowed(c.title)),
        severity: entry.map_or(Severity::Medium, |c| c.severity),
        category: entry.map_or(Category::Security, |c| c.category),
        region: region.map(str::to_string),
        resource,
        evidence,
        why: Cow::Borrowed(entry.map(|c| c.why).unwrap_or_default()),
        fix: Cow::Borrowed(entry.map(|c| c.fix).unwrap_or_default()),
        fix_action: entry.and_then(|c| c.fix_action).map(Cow::Borrowed),
    }
}
