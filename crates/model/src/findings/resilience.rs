//! "What if this AZ (or this Region) fails": what keeps serving, what fails over and how long
//! it takes, and how that compares with the policy's RTO/RPO objectives. Estimates come from
//! the AWS documented figures in `ha-dr-security.md`; drills measure the real ones.

use std::collections::BTreeSet;

use serde::Serialize;

use super::dr::{DrContext, age_seconds, db_snapshot_copies, human, replica_clusters};
use super::index::RegionIndex;
use super::{Disruption, Objective, Policy};
use crate::topology::{RegionTopology, Topology, name_tag};

/// Seconds for the load balancer to stop routing to a dead AZ: 2 failed checks × 30 s.
const LB_DETECTION_SECONDS: u64 = 60;
/// RDS Multi-AZ instance failover, "typically 60–120 seconds".
const MULTI_AZ_INSTANCE_FAILOVER_SECONDS: u64 = 120;
/// RDS Multi-AZ DB cluster failover, "typically under 35 seconds".
const MULTI_AZ_CLUSTER_FAILOVER_SECONDS: u64 = 35;
/// Aurora failover to a replica, "typically … less than 60 seconds".
const AURORA_FAILOVER_SECONDS: u64 = 60;
/// Aurora without a replica: the writer is recreated, "typically … less than 10 minutes".
const AURORA_RECREATE_SECONDS: u64 = 600;
/// Promoting a read replica takes "several minutes" (haven's estimate: 10).
const PROMOTION_SECONDS: u64 = 600;
/// Launching an instance before its grace period starts (haven's estimate).
const LAUNCH_SECONDS: u64 = 120;
/// A new target needs 5 healthy checks × 30 s before it takes traffic.
const LB_RECOVERY_SECONDS: u64 = 150;
/// Point-in-time restore is possible up to about 5 minutes ago.
const PITR_RPO_SECONDS: u64 = 300;
/// Restoring a DB from a snapshot copy (haven's estimate).
const SNAPSHOT_RESTORE_SECONDS: u64 = 1800;
/// Building a load balancer and an Auto Scaling group from a copied AMI (haven's estimate).
const PROVISION_COMPUTE_SECONDS: u64 = 1800;
/// Scaling out an existing Auto Scaling group in the DR Region (haven's estimate).
const SCALE_OUT_SECONDS: u64 = 300;

/// A time estimate with what it rests on; `seconds: None` when it cannot be estimated (a
/// manual rebuild, an unmeasured lag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Estimate {
    /// Seconds, when they can be estimated.
    pub seconds: Option<u64>,
    /// What the estimate rests on, one entry per part of the stack.
    pub basis: Vec<String>,
}

impl Estimate {
    fn new() -> Self {
        Self {
            seconds: Some(0),
            basis: Vec::new(),
        }
    }

    /// Adds a component: the whole is as slow as its slowest part, unknown if any part is.
    fn add(&mut self, seconds: Option<u64>, basis: String) {
        self.seconds = match (self.seconds, seconds) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        self.basis.push(basis);
    }
}

/// Achievable recovery time and point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Achievable {
    /// Recovery time.
    pub rto: Estimate,
    /// Recovery point (data lost, as time).
    pub rpo: Estimate,
}

/// A load balancer after losing the AZ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LbAzImpact {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Healthy targets in enabled AZs now.
    pub healthy_before: usize,
    /// Healthy targets left in the other enabled AZs.
    pub healthy_after: usize,
    /// It still has an enabled AZ with a healthy target.
    pub serves: bool,
}

/// An Auto Scaling group after losing the AZ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AsgAzImpact {
    /// Name.
    pub name: String,
    /// Desired capacity.
    pub desired: i32,
    /// Live instances outside the AZ.
    pub remaining: usize,
    /// Live instances in the AZ.
    pub lost: usize,
    /// AZs it can relaunch into.
    pub other_azs: Vec<String>,
}

/// What happens to a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DbOutcome {
    /// Not in the AZ (or only its standby is, which RDS replaces).
    Unaffected,
    /// Fails over to a standby or a replica.
    FailsOver {
        /// Where the new writer will be.
        to_az: Option<String>,
        /// Typical failover time.
        estimate_seconds: u64,
    },
    /// Aurora without a replica: the writer is recreated.
    Recreated {
        /// Typical time.
        estimate_seconds: u64,
    },
    /// A reader or replica is lost; the writer keeps going.
    ReaderLost,
    /// A single-AZ writer is lost: restore or promote by hand.
    Lost {
        /// In-Region replicas outside the AZ that could be promoted.
        promotable_replicas: Vec<String>,
        /// Automated backups allow a point-in-time restore.
        backups: bool,
        /// The smallest replica lag CloudWatch measured among them, seconds: what promoting
        /// loses.
        replica_lag_seconds: Option<u64>,
    },
}

/// A DB instance or cluster after losing the AZ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DbFailover {
    /// Identifier.
    pub identifier: String,
    /// `instance` or `cluster`.
    pub kind: String,
    /// What happens.
    pub outcome: DbOutcome,
}

/// A private subnet outside the failed AZ whose NAT gateway is in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NatEgressLoss {
    /// Subnet id.
    pub subnet_id: String,
    /// Its `Name` tag.
    pub subnet_name: Option<String>,
    /// Its AZ.
    pub subnet_az: String,
    /// The NAT gateway in the failed AZ.
    pub nat_id: String,
}

/// The effect of losing one Availability Zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AzLossImpact {
    /// Region.
    pub region: String,
    /// The AZ lost.
    pub az: String,
    /// Load balancers.
    pub load_balancers: Vec<LbAzImpact>,
    /// Auto Scaling groups.
    pub auto_scaling_groups: Vec<AsgAzImpact>,
    /// Databases.
    pub databases: Vec<DbFailover>,
    /// Private subnets elsewhere losing internet egress.
    pub nat_egress_lost: Vec<NatEgressLoss>,
    /// Achievable RTO/RPO for this loss.
    pub achievable: Achievable,
}

/// A tier of the stack, for Region loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DrTier {
    /// Load balancer, Auto Scaling group, AMI.
    Compute,
    /// EBS data volumes.
    Volume,
    /// RDS / Aurora.
    Database,
    /// NAT egress.
    Network,
}

/// The effect of losing a whole Region: what the DR Region can serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionLossImpact {
    /// The Region lost.
    pub region: String,
    /// The DR Region judged (the first one), if any.
    pub dr_region: Option<String>,
    /// Read replicas (and replica clusters) there to promote.
    pub replicas_to_promote: Vec<String>,
    /// AMI copies there (of AMIs in use).
    pub image_copies: Vec<String>,
    /// EBS snapshot copies there.
    pub snapshot_copies: Vec<String>,
    /// DB snapshot copies there.
    pub db_snapshot_copies: Vec<String>,
    /// What the DR Region lacks, per tier.
    pub missing: Vec<(DrTier, String)>,
    /// Achievable RTO/RPO.
    pub achievable: Achievable,
}

/// An objective compared with what the stack can achieve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectiveComparison {
    /// The disruption type.
    pub disruption: Disruption,
    /// What was lost (the worst AZ, or the Region).
    pub scope: String,
    /// The policy's objective, if it has one.
    pub objective: Option<Objective>,
    /// What the stack achieves.
    pub achievable: Achievable,
    /// RTO met; `None` when unknown.
    pub rto_met: Option<bool>,
    /// RPO met; `None` when unknown.
    pub rpo_met: Option<bool>,
}

/// AZ and Region loss for the primary Region, with the objectives compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResilienceReport {
    /// The primary Region.
    pub primary: Option<String>,
    /// One entry per AZ the primary's stack uses.
    pub az: Vec<AzLossImpact>,
    /// Losing the primary Region.
    pub region: Option<RegionLossImpact>,
    /// Achievable against objectives (AZ and Region; application and infrastructure need drills).
    pub comparisons: Vec<ObjectiveComparison>,
}

/// What happens if `az` of `region` fails.
pub fn az_loss(topology: &Topology, region: &str, az: &str) -> AzLossImpact {
    let mut impact = AzLossImpact {
        region: region.to_string(),
        az: az.to_string(),
        load_balancers: Vec::new(),
        auto_scaling_groups: Vec::new(),
        databases: Vec::new(),
        nat_egress_lost: Vec::new(),
        achievable: Achievable {
            rto: Estimate::new(),
            rpo: Estimate::new(),
        },
    };
    let Some(r) = topology.region(region) else {
        return impact;
    };
    let index = RegionIndex::new(r);
    let mut rto = Estimate::new();
    let mut rpo = Estimate::new();
    for lb in &r.load_balancers {
        let health = index.load_balancer_health_by_az(lb);
        let enabled: BTreeSet<&str> = lb
            .zones
            .iter()
            .map(|z| z.availability_zone.as_str())
            .collect();
        let healthy_in = |keep: &dyn Fn(&str) -> bool| -> usize {
            health
                .iter()
                .filter(|(a, _)| enabled.contains(a.as_str()) && keep(a))
                .map(|(_, c)| c.healthy)
                .sum()
        };
        let before = healthy_in(&|_| true);
        let after = healthy_in(&|a| a != az);
        let serves = after > 0;
        if serves {
            if before > after {
                rto.add(
                    Some(LB_DETECTION_SECONDS),
                    format!(
                        "{}: {after} healthy target(s) left; ~60 s to stop routing to {az}",
                        lb.name
                    ),
                );
            }
        } else if before > 0 {
            let relaunch = index
                .target_groups_of(lb)
                .iter()
                .flat_map(|tg| {
                    r.auto_scaling_groups
                        .iter()
                        .filter(|g| g.target_group_arns.contains(&tg.arn))
                })
                .filter(|g| g.availability_zones.iter().any(|a| a != az))
                .map(|g| {
                    LAUNCH_SECONDS
                        + u64::try_from(g.health_check_grace_period.unwrap_or(0)).unwrap_or(0)
                        + LB_RECOVERY_SECONDS
                })
                .min();
            rto.add(
                relaunch,
                match relaunch {
                    Some(s) => format!(
                        "{}: no healthy target left; the group relaunches elsewhere (~{})",
                        lb.name,
                        human(s)
                    ),
                    None => format!(
                        "{}: no healthy target left and no group to relaunch them",
                        lb.name
                    ),
                },
            );
        }
        impact.load_balancers.push(LbAzImpact {
            name: lb.name.clone(),
            arn: lb.arn.clone(),
            healthy_before: before,
            healthy_after: after,
            serves,
        });
    }
    for asg in &r.auto_scaling_groups {
        let by_az = index.asg_instances_by_az(asg);
        let lost = by_az.get(az).map_or(0, Vec::len);
        let remaining = by_az
            .iter()
            .filter(|(a, _)| a.as_str() != az)
            .map(|(_, v)| v.len())
            .sum();
        impact.auto_scaling_groups.push(AsgAzImpact {
            name: asg.name.clone(),
            desired: asg.desired_capacity,
            remaining,
            lost,
            other_azs: asg
                .availability_zones
                .iter()
                .filter(|a| a.as_str() != az)
                .cloned()
                .collect(),
        });
    }
    for db in &r.db_instances {
        if db.cluster_identifier.is_some() {
            continue;
        }
        let in_az = db.availability_zone.as_deref() == Some(az);
        let outcome = if db.read_replica_source.is_some() {
            if in_az {
                DbOutcome::ReaderLost
            } else {
                DbOutcome::Unaffected
            }
        } else if !in_az {
            DbOutcome::Unaffected
        } else if db.multi_az {
            DbOutcome::FailsOver {
                to_az: db.secondary_availability_zone.clone(),
                estimate_seconds: MULTI_AZ_INSTANCE_FAILOVER_SECONDS,
            }
        } else {
            let promotable_replicas: Vec<String> = db
                .read_replica_identifiers
                .iter()
                .filter(|id| !id.starts_with("arn:"))
                .filter(|id| {
                    index
                        .db_instance(id)
                        .is_some_and(|x| x.availability_zone.as_deref() != Some(az))
                })
                .cloned()
                .collect();
            let replica_lag_seconds = promotable_replicas
                .iter()
                .filter_map(|id| index.db_instance(id)?.replica_lag)
                .map(|lag| lag.seconds)
                .min();
            DbOutcome::Lost {
                promotable_replicas,
                backups: db.backup_retention_days > 0,
                replica_lag_seconds,
            }
        };
        account_db(&db.identifier, &outcome, &mut rto, &mut rpo);
        impact.databases.push(DbFailover {
            identifier: db.identifier.clone(),
            kind: "instance".to_string(),
            outcome,
        });
    }
    for cluster in &r.db_clusters {
        let az_of = |id: &str| {
            index
                .db_instance(id)
                .and_then(|d| d.availability_zone.clone())
        };
        let writer = cluster.members.iter().find(|m| m.is_writer);
        let writer_in_az =
            writer.is_some_and(|w| az_of(&w.instance_identifier).as_deref() == Some(az));
        let reader_in_az = cluster
            .members
            .iter()
            .any(|m| !m.is_writer && az_of(&m.instance_identifier).as_deref() == Some(az));
        let outcome = if writer_in_az {
            let mut candidates: Vec<_> = cluster
                .members
                .iter()
                .filter(|m| !m.is_writer && az_of(&m.instance_identifier).as_deref() != Some(az))
                .collect();
            candidates.sort_by_key(|m| m.promotion_tier.unwrap_or(1));
            match candidates.first() {
                Some(m) => DbOutcome::FailsOver {
                    to_az: az_of(&m.instance_identifier),
                    estimate_seconds: if cluster.engine.starts_with("aurora") {
                        AURORA_FAILOVER_SECONDS
                    } else {
                        MULTI_AZ_CLUSTER_FAILOVER_SECONDS
                    },
                },
                None if cluster.engine.starts_with("aurora") => DbOutcome::Recreated {
                    estimate_seconds: AURORA_RECREATE_SECONDS,
                },
                None => DbOutcome::Lost {
                    promotable_replicas: Vec::new(),
                    replica_lag_seconds: None,
                    backups: cluster.backup_retention_days > 0,
                },
            }
        } else if reader_in_az {
            DbOutcome::ReaderLost
        } else {
            DbOutcome::Unaffected
        };
        // Aurora storage spans three AZs: nothing committed is lost on failover or recreation.
        account_db(&cluster.identifier, &outcome, &mut rto, &mut rpo);
        impact.databases.push(DbFailover {
            identifier: cluster.identifier.clone(),
            kind: "cluster".to_string(),
            outcome,
        });
    }
    for subnet in &r.subnets {
        if subnet.availability_zone == az
            || index.is_default_vpc(&subnet.vpc_id)
            || index.subnet_is_public(&subnet.id)
        {
            continue;
        }
        if let Some((nat_id, Some(nat))) = index.nat_route(&subnet.id)
            && index.nat_az(nat) == Some(az)
        {
            impact.nat_egress_lost.push(NatEgressLoss {
                subnet_id: subnet.id.clone(),
                subnet_name: name_tag(&subnet.tags).map(str::to_string),
                subnet_az: subnet.availability_zone.clone(),
                nat_id: nat_id.to_string(),
            });
        }
    }
    if !impact.nat_egress_lost.is_empty() {
        rto.add(
            None,
            format!(
                "{} private subnet(s) outside {az} lose internet egress until a NAT gateway is added",
                impact.nat_egress_lost.len()
            ),
        );
    }
    impact.achievable = Achievable { rto, rpo };
    impact
}

fn account_db(id: &str, outcome: &DbOutcome, rto: &mut Estimate, rpo: &mut Estimate) {
    match outcome {
        DbOutcome::Unaffected | DbOutcome::ReaderLost => {}
        DbOutcome::FailsOver {
            estimate_seconds,
            to_az,
        } => {
            rto.add(
                Some(*estimate_seconds),
                format!(
                    "{id}: fails over to {} (typically {})",
                    to_az.as_deref().unwrap_or("a standby"),
                    human(*estimate_seconds)
                ),
            );
            rpo.add(
                Some(0),
                format!("{id}: synchronous standby / shared storage"),
            );
        }
        DbOutcome::Recreated { estimate_seconds } => {
            rto.add(
                Some(*estimate_seconds),
                format!(
                    "{id}: writer recreated (typically < {})",
                    human(*estimate_seconds)
                ),
            );
            rpo.add(Some(0), format!("{id}: shared storage across AZs"));
        }
        DbOutcome::Lost {
            promotable_replicas,
            backups,
            replica_lag_seconds,
        } => {
            if promotable_replicas.is_empty() {
                rto.add(
                    None,
                    format!("{id}: single-AZ writer lost; restore from backup by hand"),
                );
            } else {
                rto.add(
                    Some(PROMOTION_SECONDS),
                    format!(
                        "{id}: promote {} (several minutes)",
                        promotable_replicas.join(" or ")
                    ),
                );
            }
            // The better of promoting (loses the measured lag) and a point-in-time restore.
            match (replica_lag_seconds, backups) {
                (Some(lag), true) if *lag > PITR_RPO_SECONDS => rpo.add(
                    Some(PITR_RPO_SECONDS),
                    format!(
                        "{id}: point-in-time restore to ~5 min ago (replica lag measured at {})",
                        human(*lag)
                    ),
                ),
                (Some(lag), _) => rpo.add(
                    Some(*lag),
                    format!("{id}: promote; replica lag measured at {}", human(*lag)),
                ),
                (None, true) => rpo.add(
                    Some(PITR_RPO_SECONDS),
                    format!("{id}: point-in-time restore to ~5 min ago"),
                ),
                (None, false) => rpo.add(None, format!("{id}: no automated backups")),
            }
        }
    }
}

/// What the DR Region can serve if `region` is lost (DR Regions derived as in [`Policy`]).
pub fn region_loss(topology: &Topology, region: &str) -> RegionLossImpact {
    let policy = Policy {
        primary_region: Some(region.to_string()),
        ..Policy::default()
    };
    region_loss_with(topology, &policy)
}

fn region_loss_with(topology: &Topology, policy: &Policy) -> RegionLossImpact {
    let region = policy.primary(topology).unwrap_or_default().to_string();
    let mut impact = RegionLossImpact {
        region: region.clone(),
        dr_region: None,
        replicas_to_promote: Vec::new(),
        image_copies: Vec::new(),
        snapshot_copies: Vec::new(),
        db_snapshot_copies: Vec::new(),
        missing: Vec::new(),
        achievable: Achievable {
            rto: Estimate::new(),
            rpo: Estimate::new(),
        },
    };
    let Some(ctx) = DrContext::new(topology, policy) else {
        return impact;
    };
    let mut rto = Estimate::new();
    let mut rpo = Estimate::new();
    let Some(dr) = ctx.dr.first().copied() else {
        rto.add(None, format!("no DR Region holds a copy of {region}"));
        rpo.add(None, format!("no DR Region holds a copy of {region}"));
        impact
            .missing
            .push((DrTier::Compute, "no DR Region".to_string()));
        impact.achievable = Achievable { rto, rpo };
        return impact;
    };
    let d = dr.region.as_str();
    impact.dr_region = Some(d.to_string());
    let now = policy.now_for(topology);
    compute_tier(&ctx, dr, &mut impact, &mut rto);
    // EBS data volumes.
    for (volume, snapshots) in ctx.primary_volume_snapshots() {
        let (copies, newest) = ctx.volume_copies(&snapshots, dr);
        if copies.is_empty() {
            impact
                .missing
                .push((DrTier::Volume, format!("no snapshot copy of {volume}")));
            rpo.add(None, format!("{volume}: no copy in {d}"));
            continue;
        }
        impact
            .snapshot_copies
            .extend(copies.iter().map(|c| c.copy.id.clone()));
        let age = newest.map(|t| age_seconds(now, t));
        rpo.add(
            age,
            match age {
                Some(a) => format!("{volume}: newest copy holds data from {} ago", human(a)),
                None => format!("{volume}: copy time unknown"),
            },
        );
    }
    // Databases.
    for db in ctx.primary_writers() {
        let replicas: Vec<String> = ctx
            .replicas_in(db, d)
            .map(|l| l.replica.identifier.clone())
            .collect();
        let lag = ctx
            .replicas_in(db, d)
            .filter_map(|l| {
                let replica = dr
                    .db_instances
                    .iter()
                    .find(|x| x.identifier == l.replica.identifier)?;
                replica.replica_lag.map(|lag| lag.seconds)
            })
            .min();
        let copies = db_snapshot_copies(dr, &region, Some(&db.identifier), None);
        impact
            .db_snapshot_copies
            .extend(copies.iter().map(|s| s.identifier.clone()));
        database_tier(
            &db.identifier,
            replicas,
            lag,
            copies.first().and_then(|s| s.created_at),
            now,
            &mut impact,
            &mut rto,
            &mut rpo,
        );
    }
    for cluster in ctx.primary_clusters() {
        let replicas: Vec<String> = replica_clusters(dr, cluster)
            .map(|c| c.identifier.clone())
            .collect();
        let copies = db_snapshot_copies(dr, &region, None, Some(&cluster.identifier));
        impact
            .db_snapshot_copies
            .extend(copies.iter().map(|s| s.identifier.clone()));
        database_tier(
            &cluster.identifier,
            replicas,
            None,
            copies.first().and_then(|s| s.created_at),
            now,
            &mut impact,
            &mut rto,
            &mut rpo,
        );
    }
    if !ctx.primary.nat_gateways.is_empty() && dr.nat_gateways.is_empty() {
        impact
            .missing
            .push((DrTier::Network, format!("no NAT gateway in {d}")));
    }
    impact.achievable = Achievable { rto, rpo };
    impact
}

fn compute_tier(
    ctx: &DrContext,
    dr: &RegionTopology,
    impact: &mut RegionLossImpact,
    rto: &mut Estimate,
) {
    let d = dr.region.as_str();
    let amis = ctx.primary_amis();
    if amis.is_empty() && ctx.primary.auto_scaling_groups.is_empty() {
        return;
    }
    let mut all_copied = true;
    for ami in &amis {
        match ctx.image_copied(ami, d) {
            Some(copy) => impact.image_copies.push(copy.copy.id.clone()),
            None => {
                all_copied = false;
                impact
                    .missing
                    .push((DrTier::Compute, format!("no copy of {ami}")));
            }
        }
    }
    let has_lb = !dr.load_balancers.is_empty();
    let has_asg = !dr.auto_scaling_groups.is_empty();
    if !ctx.primary.load_balancers.is_empty() && !has_lb {
        impact
            .missing
            .push((DrTier::Compute, format!("no load balancer in {d}")));
    }
    if !has_asg {
        impact
            .missing
            .push((DrTier::Compute, format!("no Auto Scaling group in {d}")));
    }
    let (seconds, basis) = match (all_copied, has_lb && has_asg) {
        (true, true) => (
            Some(SCALE_OUT_SECONDS),
            "compute: scale out the DR group (estimate)".to_string(),
        ),
        (true, false) => (
            Some(PROVISION_COMPUTE_SECONDS),
            "compute: build a load balancer and group from the copied AMI (estimate)".to_string(),
        ),
        (false, _) => (
            None,
            "compute: an AMI in use has no copy in the DR Region".to_string(),
        ),
    };
    rto.add(seconds, basis);
}

#[allow(clippy::too_many_arguments)]
fn database_tier(
    id: &str,
    replicas: Vec<String>,
    replica_lag: Option<u64>,
    newest_copy: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
    impact: &mut RegionLossImpact,
    rto: &mut Estimate,
    rpo: &mut Estimate,
) {
    let copy_age = newest_copy.map(|t| age_seconds(now, t));
    if !replicas.is_empty() {
        rto.add(
            Some(PROMOTION_SECONDS),
            format!("{id}: promote {} (several minutes)", replicas.join(" or ")),
        );
        // The measured lag is what promotion loses; without it, the newest copy bounds the
        // loss if there is one.
        match replica_lag {
            Some(lag) => rpo.add(
                Some(lag),
                format!("{id}: replica lag measured at {}", human(lag)),
            ),
            None => rpo.add(
                copy_age,
                match copy_age {
                    Some(a) => format!(
                        "{id}: replica lag not measured; newest snapshot copy {} old",
                        human(a)
                    ),
                    None => format!("{id}: replica lag not measured"),
                },
            ),
        }
        impact.replicas_to_promote.extend(replicas);
    } else if let Some(age) = copy_age {
        rto.add(
            Some(SNAPSHOT_RESTORE_SECONDS),
            format!("{id}: restore from a snapshot copy (estimate)"),
        );
        rpo.add(
            Some(age),
            format!("{id}: newest snapshot copy {} old", human(age)),
        );
    } else {
        impact.missing.push((
            DrTier::Database,
            format!("no replica or snapshot copy of {id}"),
        ));
        rto.add(None, format!("{id}: nothing to restore from"));
        rpo.add(None, format!("{id}: nothing to restore from"));
    }
}

fn met(objective: Option<u64>, achieved: Option<u64>) -> Option<bool> {
    Some(achieved? <= objective?)
}

fn compare(
    disruption: Disruption,
    scope: String,
    objective: Option<Objective>,
    achievable: Achievable,
) -> ObjectiveComparison {
    ObjectiveComparison {
        disruption,
        rto_met: met(objective.map(|o| o.rto_seconds), achievable.rto.seconds),
        rpo_met: met(objective.map(|o| o.rpo_seconds), achievable.rpo.seconds),
        scope,
        objective,
        achievable,
    }
}

/// AZ loss for every AZ the primary's stack uses, Region loss, and both compared with the
/// policy's objectives.
pub fn resilience(topology: &Topology, policy: &Policy) -> ResilienceReport {
    let Some(primary) = policy.primary(topology).and_then(|p| topology.region(p)) else {
        return ResilienceReport {
            primary: None,
            az: Vec::new(),
            region: None,
            comparisons: Vec::new(),
        };
    };
    let code = primary.region.as_str();
    let azs = stack_azs(primary);
    let az: Vec<AzLossImpact> = azs.iter().map(|a| az_loss(topology, code, a)).collect();
    let mut comparisons = Vec::new();
    // The worst AZ: unknown beats any number, then the slowest.
    let worst = az.iter().max_by_key(|i| {
        (
            i.achievable.rto.seconds.is_none(),
            i.achievable.rto.seconds,
            i.achievable.rpo.seconds.is_none(),
            i.achievable.rpo.seconds,
        )
    });
    if let Some(worst) = worst {
        comparisons.push(compare(
            Disruption::Az,
            worst.az.clone(),
            policy.objectives.get(Disruption::Az),
            worst.achievable.clone(),
        ));
    }
    let region = region_loss_with(
        topology,
        &Policy {
            primary_region: Some(code.to_string()),
            ..policy.clone()
        },
    );
    comparisons.push(compare(
        Disruption::Region,
        code.to_string(),
        policy.objectives.get(Disruption::Region),
        region.achievable.clone(),
    ));
    ResilienceReport {
        primary: Some(code.to_string()),
        az,
        region: Some(region),
        comparisons,
    }
}

/// AZs the stack uses: load balancer zones, group AZs, database AZs, non-default subnets.
fn stack_azs(r: &RegionTopology) -> BTreeSet<String> {
    let defaults: BTreeSet<&str> = r
        .vpcs
        .iter()
        .filter(|v| v.is_default)
        .map(|v| v.id.as_str())
        .collect();
    let mut azs: BTreeSet<String> = BTreeSet::new();
    azs.extend(
        r.load_balancers
            .iter()
            .flat_map(|l| l.zones.iter().map(|z| z.availability_zone.clone())),
    );
    azs.extend(
        r.auto_scaling_groups
            .iter()
            .flat_map(|g| g.availability_zones.iter().cloned()),
    );
    azs.extend(
        r.db_instances
            .iter()
            .filter_map(|d| d.availability_zone.clone()),
    );
    azs.extend(
        r.subnets
            .iter()
            .filter(|s| !defaults.contains(s.vpc_id.as_str()))
            .map(|s| s.availability_zone.clone()),
    );
    azs
}
