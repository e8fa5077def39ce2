//! Teardown: everything tagged with a stack, in the order it can be deleted; what it keeps
//! (final DB snapshots, a Region a failover made the stack's home) and what it leaves behind (the
//! DR copies `haven replicate` made, which carry `haven:source` rather than `haven:stack`).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    Op, Plan, ResourceKind, ResourceRef, Retain, Step, describe_rule, iam_owned, in_stack,
    logical_of, owns_iam, r,
};
use crate::relations::{ASG_NAME_TAG, SOURCE_TAG};
use crate::replication::LINEAGE_TAG;
use crate::topology::{
    DbInstance, Iam, RegionTopology, RouteTarget, RulePeer, Tags, TargetGroup, Topology,
};

/// What `haven down` is asked to do beyond deleting what is tagged with the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeardownOptions {
    /// Keep a final snapshot and the automated backups of every database (the default;
    /// `--no-final-snapshot` turns it off).
    pub keep_data: bool,
    /// Regions the user named explicitly (`--region` / `--regions`): only there is a Region
    /// where a failover adopted the stack's database torn down.
    pub named_regions: Vec<String>,
    /// Also delete the cross-Region read replicas `haven replicate` made of the stack's
    /// databases (`--include-dr-copies`).
    pub include_dr_copies: bool,
}

impl Default for TeardownOptions {
    fn default() -> Self {
        Self {
            keep_data: true,
            named_regions: Vec::new(),
            include_dr_copies: false,
        }
    }
}

/// A teardown plan and what it deliberately does not delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Teardown {
    /// The deletes, in order.
    pub plan: Plan,
    /// Regions left untouched because a failover made them the stack's home, with why.
    pub kept_regions: Vec<String>,
    /// The stack's DR copies and cross-Region replicas that stay (and cost money).
    pub left_behind: Vec<DrCopy>,
}

/// A DR copy or cross-Region replica of the stack's resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrCopy {
    /// Its Region.
    pub region: String,
    /// What it is, e.g. `DB instance lab-db-us-east-1 (cross-Region read replica, db.t3.micro)`.
    pub what: String,
    /// What it costs while it exists.
    pub cost: String,
    /// The AWS CLI command that removes it.
    pub remove: String,
}

/// Everything tagged with `stack`, in every Region of the topology, in the order it can be
/// deleted: replicas before their source, targets deregistered, the Auto Scaling group, listener,
/// load balancer, target group, NAT and its Elastic IP, route-table associations, the internet
/// gateway detached, subnets, security-group cross-references revoked before the groups, the
/// VPC; then IAM entities under [`iam_path`](super::iam_path). Databases keep a final snapshot
/// and their automated backups.
pub fn teardown(topology: &Topology, stack: &str) -> Plan {
    teardown_with(topology, stack, &TeardownOptions::default()).plan
}

/// [`teardown`] with the user's choices. A Region whose database a failover adopted (tagged with
/// the stack *and* `haven:source`: the promoted DR replica) runs the stack for real: it is left
/// alone unless named in `options.named_regions`. The stack's DR copies are listed in
/// [`Teardown::left_behind`]; with `include_dr_copies` its cross-Region replicas are deleted
/// first instead.
pub fn teardown_with(topology: &Topology, stack: &str, options: &TeardownOptions) -> Teardown {
    let mut steps = Vec::new();
    let mut torn_down: Vec<String> = Vec::new();
    let mut kept_regions = Vec::new();
    let (replicas, left_behind) = dr_copies(topology, stack, options.include_dr_copies);
    for region in &topology.regions {
        let adopted: Vec<&DbInstance> = region
            .db_instances
            .iter()
            .filter(|d| adopted_by_failover(d, stack))
            .collect();
        if !adopted.is_empty() && !options.named_regions.contains(&region.region) {
            kept_regions.push(format!(
                "{}: left untouched, a failover made it the home of stack {stack} (database {} \
                 adopted from its DR replica); name it with --region {} to delete it there",
                region.region,
                adopted
                    .iter()
                    .map(|d| d.identifier.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                region.region
            ));
            continue;
        }
        // The DR network (VPC, subnets, DB subnet group, security groups) holds the DR replica
        // that stays: RDS refuses to delete a subnet group in use, and EC2 a security group
        // or subnet a network interface uses. It goes with the replica.
        let replicas_kept: Vec<&str> = region
            .db_instances
            .iter()
            .filter(|d| {
                left_behind.iter().any(|c| {
                    c.region == region.region
                        && c.what
                            .starts_with(&format!("DB instance {} ", d.identifier))
                })
            })
            .map(|d| d.identifier.as_str())
            .collect();
        if !replicas_kept.is_empty() {
            if region.vpcs.iter().any(|v| in_stack(&v.tags, stack)) {
                kept_regions.push(format!(
                    "{}: the DR network of stack {stack} (VPC, private subnets, DB subnet group, \
                     security groups) stays with the DR replica {} it holds; \
                     --include-dr-copies deletes both",
                    region.region,
                    replicas_kept.join(", ")
                ));
            }
            continue;
        }
        torn_down.push(region.region.clone());
        steps.extend(
            teardown_region(region, stack, options, topology.taken_at)
                .into_iter()
                .map(|(_, step)| step),
        );
    }
    let (before, after) = super::front_door::teardown_front_door(topology, stack, &torn_down);
    steps.splice(0..0, before);
    steps.extend(after);
    if let Some(iam) = &topology.iam {
        steps.extend(teardown_iam(iam, stack));
    }
    let mut all = replicas;
    all.extend(steps);
    Teardown {
        plan: Plan {
            stack: stack.to_string(),
            steps: all,
            conflicts: Vec::new(),
        },
        kept_regions,
        left_behind,
    }
}

/// The promoted DR replica `haven failover-region` adopted: tagged with the stack, and still
/// carrying the `haven:source` tag `haven replicate` gave it (a database `haven up` created
/// never has one).
pub fn adopted_by_failover(db: &DbInstance, stack: &str) -> bool {
    in_stack(&db.tags, stack) && db.tags.contains_key(SOURCE_TAG)
}

/// The name of the final snapshot of `identifier` taken by a teardown planned at `at`:
/// `<identifier>-final-<UTC yyyymmdd-hhmmss>`, within RDS's rules for snapshot identifiers
/// (letters, digits and hyphens, a letter first, no double or trailing hyphen, at most 255).
pub fn final_snapshot_name(identifier: &str, at: DateTime<Utc>) -> String {
    let raw = format!("{identifier}-final-{}", at.format("%Y%m%d-%H%M%S"));
    let mut name = String::new();
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        };
        if c == '-' && (name.is_empty() || name.ends_with('-')) {
            continue;
        }
        name.push(c);
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "db-");
    }
    name.truncate(255);
    name.trim_end_matches('-').to_string()
}

/// What `haven down` does next with a database RDS reports in `status` (`None`: not found).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbDeleteMove {
    /// It is gone: nothing to do.
    Gone,
    /// RDS is already deleting it (an earlier, interrupted run asked): wait until it is gone.
    WaitUntilGone,
    /// RDS is busy with it (`creating`, `modifying`, `backing-up`, `rebooting`, …) and refuses a
    /// delete meanwhile with `InvalidDBInstanceState`: wait until it settles, then look again.
    WaitUntilSettled,
    /// Delete it now.
    Delete,
    /// Delete it now, but RDS only accepts the delete with no final snapshot: a `failed`,
    /// `incompatible-restore` or `incompatible-network` instance cannot be snapshotted.
    DeleteWithoutSnapshotOnly,
}

/// The states in which RDS works on an instance and refuses `DeleteDBInstance` (and
/// `ModifyDBInstance`) with `InvalidDBInstanceState` until they end.
pub fn db_is_busy(status: &str) -> bool {
    matches!(
        status,
        "creating"
            | "modifying"
            | "backing-up"
            | "rebooting"
            | "starting"
            | "stopping"
            | "upgrading"
            | "renaming"
            | "maintenance"
            | "resetting-master-credentials"
            | "moving-to-vpc"
            | "converting-to-vpc"
    ) || status.starts_with("configuring-")
}

/// The next move of a delete, from the instance's status: the delete can be interrupted and
/// run again whatever state RDS is in (DeleteDBInstance: "If you request a final DB snapshot,
/// the status of the Amazon RDS DB instance is `deleting` until the DB snapshot is created";
/// "When a DB instance is in a failure state and has a status of `failed`,
/// `incompatible-restore`, or `incompatible-network`, you can only delete it when you skip
/// creation of the final snapshot").
pub fn db_delete_move(status: Option<&str>) -> DbDeleteMove {
    match status {
        None => DbDeleteMove::Gone,
        Some("deleting") => DbDeleteMove::WaitUntilGone,
        Some("failed" | "incompatible-restore" | "incompatible-network") => {
            DbDeleteMove::DeleteWithoutSnapshotOnly
        }
        Some(status) if db_is_busy(status) => DbDeleteMove::WaitUntilSettled,
        Some(_) => DbDeleteMove::Delete,
    }
}

/// The databases of `plan` that have deletion protection on, as `identifier (Region)`: `haven
/// down` refuses them unless `--force`.
pub fn deletion_protected(topology: &Topology, plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .filter(|s| {
            s.op == Op::Delete
                && matches!(
                    s.resource.kind,
                    ResourceKind::DbInstance | ResourceKind::DbReadReplica
                )
        })
        .filter_map(|s| {
            let region = s.region.as_deref()?;
            let db = topology
                .region(region)?
                .db_instances
                .iter()
                .find(|d| Some(d.identifier.as_str()) == s.id.as_deref())?;
            db.deletion_protection
                .then(|| format!("{} ({region})", db.identifier))
        })
        .collect()
}

/// The stack's DR copies: resources `haven replicate` made (`haven:source` / `haven:lineage`)
/// from the stack's databases, launch templates and instance volumes, or from `<stack>-db` when
/// the source is already gone. The cross-Region replicas become delete steps when `include`,
/// everything else is listed with its cost.
fn dr_copies(topology: &Topology, stack: &str, include: bool) -> (Vec<Step>, Vec<DrCopy>) {
    let mut lineages: BTreeSet<String> = BTreeSet::from([format!("{stack}-db")]);
    for region in &topology.regions {
        let instances: Vec<&str> = region
            .instances
            .iter()
            .filter(|i| in_stack(&i.tags, stack))
            .map(|i| i.id.as_str())
            .collect();
        lineages.extend(
            region
                .db_instances
                .iter()
                .filter(|d| in_stack(&d.tags, stack))
                .map(|d| d.identifier.clone()),
        );
        lineages.extend(
            region
                .launch_templates
                .iter()
                .filter(|t| in_stack(&t.tags, stack))
                .map(|t| t.id.clone()),
        );
        lineages.extend(
            region
                .volumes
                .iter()
                .filter(|v| {
                    v.attached_instance_ids
                        .iter()
                        .any(|i| instances.contains(&i.as_str()))
                })
                .map(|v| v.id.clone()),
        );
    }
    let ours = |tags: &Tags| {
        !in_stack(tags, stack)
            && tags.contains_key(SOURCE_TAG)
            && tags.get(LINEAGE_TAG).is_some_and(|l| lineages.contains(l))
    };
    let mut steps = Vec::new();
    let mut left = Vec::new();
    for region in &topology.regions {
        let at = &region.region;
        for db in region.db_instances.iter().filter(|d| ours(&d.tags)) {
            if include {
                steps.push(Step {
                    op: Op::Delete,
                    resource: r(ResourceKind::DbReadReplica, &db.identifier),
                    name: db.identifier.clone(),
                    id: Some(db.identifier.clone()),
                    region: Some(at.clone()),
                    depends_on: Vec::new(),
                    detail: format!(
                        "delete the DR replica of {} (--include-dr-copies)",
                        db.tags.get(LINEAGE_TAG).map_or("?", String::as_str)
                    ),
                    retain: Some(Retain {
                        final_snapshot: None,
                        automated_backups: false,
                    }),
                });
                continue;
            }
            left.push(DrCopy {
                region: at.clone(),
                what: format!(
                    "DB instance {} (cross-Region read replica, {}, {})",
                    db.identifier, db.class, db.status
                ),
                cost: format!(
                    "a running {} billed per hour like the primary, plus its storage",
                    db.class
                ),
                remove: format!(
                    "haven down --stack {stack} --include-dr-copies, or aws rds \
                     delete-db-instance --region {at} --db-instance-identifier {} \
                     --skip-final-snapshot",
                    db.identifier
                ),
            });
        }
        for image in region.images.iter().filter(|i| ours(&i.tags)) {
            left.push(DrCopy {
                region: at.clone(),
                what: format!(
                    "AMI {} with {} snapshot(s)",
                    image.id,
                    image.snapshot_ids.len()
                ),
                cost: "EBS snapshot storage, billed per GB-month".to_string(),
                remove: format!(
                    "aws ec2 deregister-image --region {at} --image-id {}, then aws ec2 \
                     delete-snapshot --region {at} --snapshot-id for {}",
                    image.id,
                    image.snapshot_ids.join(", ")
                ),
            });
        }
        for snapshot in region.snapshots.iter().filter(|s| ours(&s.tags)) {
            left.push(DrCopy {
                region: at.clone(),
                what: format!(
                    "EBS snapshot {} ({} GiB)",
                    snapshot.id,
                    snapshot.volume_size_gib.unwrap_or_default()
                ),
                cost: "EBS snapshot storage, billed per GB-month".to_string(),
                remove: format!(
                    "aws ec2 delete-snapshot --region {at} --snapshot-id {}",
                    snapshot.id
                ),
            });
        }
        for snapshot in region.db_snapshots.iter().filter(|s| ours(&s.tags)) {
            left.push(DrCopy {
                region: at.clone(),
                what: format!("DB snapshot {}", snapshot.identifier),
                cost: "RDS snapshot storage, billed per GB-month".to_string(),
                remove: format!(
                    "aws rds delete-db-snapshot --region {at} --db-snapshot-identifier {}",
                    snapshot.identifier
                ),
            });
        }
    }
    (steps, left)
}

/// Deletion steps for one Region, each with the resource it belongs to (the owner of a link
/// step such as a route-table association is its route table).
pub(super) fn teardown_region(
    region: &RegionTopology,
    stack: &str,
    options: &TeardownOptions,
    at: DateTime<Utc>,
) -> Vec<(ResourceRef, Step)> {
    let td = RegionTeardown {
        region,
        stack,
        vpc_ids: region
            .vpcs
            .iter()
            .filter(|v| in_stack(&v.tags, stack))
            .map(|v| v.id.as_str())
            .collect(),
    };
    let mut out = Deletes {
        region: &region.region,
        steps: Vec::new(),
    };
    td.databases(&mut out, options, at);
    td.compute(&mut out);
    td.load_balancing(&mut out);
    td.nat_gateways(&mut out);
    td.route_tables(&mut out);
    td.internet_gateways_and_subnets(&mut out);
    td.security_groups(&mut out);
    td.vpcs(&mut out);
    link_dependencies(&mut out.steps);
    out.steps
}

/// The deletes of one Region, each with the resource it belongs to.
struct Deletes<'a> {
    region: &'a str,
    steps: Vec<(ResourceRef, Step)>,
}

impl Deletes<'_> {
    /// Adds the delete of `kind`/`logical`, a part of `owner`; returns it for what RDS keeps.
    fn delete_part(
        &mut self,
        owner: ResourceRef,
        kind: ResourceKind,
        logical: String,
        name: String,
        id: String,
        detail: String,
    ) -> &mut Step {
        let step = Step {
            op: Op::Delete,
            resource: ResourceRef::new(kind, logical),
            name,
            id: Some(id),
            region: Some(self.region.to_string()),
            depends_on: Vec::new(),
            detail,
            retain: None,
        };
        self.steps.push((owner, step));
        &mut self.steps.last_mut().expect("just pushed").1
    }

    /// Adds the delete of `kind`/`logical`, a resource of its own.
    fn delete(
        &mut self,
        kind: ResourceKind,
        logical: String,
        name: String,
        id: String,
        detail: String,
    ) -> &mut Step {
        self.delete_part(r(kind, &logical), kind, logical, name, id, detail)
    }
}

/// What one Region's teardown reads: the Region, the stack, its VPCs there. Each tier adds its
/// deletes in the order they can be carried out: the data tier, compute, load balancing, then
/// the network inwards.
struct RegionTeardown<'a> {
    region: &'a RegionTopology,
    stack: &'a str,
    /// The stack's VPCs in the Region.
    vpc_ids: Vec<&'a str>,
}

impl<'a> RegionTeardown<'a> {
    /// A resource whose VPC id is `id` is in one of the stack's VPCs.
    fn in_vpc(&self, id: &Option<String>) -> bool {
        id.as_deref().is_some_and(|id| self.vpc_ids.contains(&id))
    }

    fn in_stack(&self, tags: &Tags) -> bool {
        in_stack(tags, self.stack)
    }

    /// Databases: replicas first, then their sources, then the subnet group. What RDS keeps is
    /// in each step, and said in its detail.
    fn databases(&self, out: &mut Deletes<'_>, options: &TeardownOptions, at: DateTime<Utc>) {
        use ResourceKind::{DbReadReplica, DbSubnetGroup};
        let region = self.region;
        let dbs: Vec<&DbInstance> = region
            .db_instances
            .iter()
            .filter(|d| self.in_stack(&d.tags))
            .collect();
        // A promoted replica may still name its old source for a while (moto keeps it for
        // good): the database a failover adopted is a primary, and gets its final snapshot.
        let is_replica =
            |d: &DbInstance| d.read_replica_source.is_some() && !adopted_by_failover(d, self.stack);
        let (replicas, primaries): (Vec<&DbInstance>, Vec<&DbInstance>) =
            dbs.into_iter().partition(|d| is_replica(d));
        for db in replicas {
            let (retain, detail) = replica_delete(db, options);
            let logical = logical_of(&db.tags);
            let id = db.identifier.clone();
            out.delete(DbReadReplica, logical, id.clone(), id, detail)
                .retain = Some(retain);
        }
        for db in primaries {
            let (retain, detail) = primary_delete(db, options, at);
            let logical = logical_of(&db.tags);
            let id = db.identifier.clone();
            out.delete(ResourceKind::DbInstance, logical, id.clone(), id, detail)
                .retain = Some(retain);
        }
        let group_name = format!("{}-db-subnets", self.stack);
        for group in region
            .db_subnet_groups
            .iter()
            .filter(|g| g.name == group_name && self.in_vpc(&g.vpc_id))
        {
            out.delete(
                DbSubnetGroup,
                "db-subnet-group".to_string(),
                group.name.clone(),
                group.name.clone(),
                "delete".to_string(),
            );
        }
    }

    /// The stack's target group(s): found by name in its VPC, and those its groups register
    /// with (a blue/green deploy's green target group has another name).
    fn target_groups(&self) -> Vec<&'a TargetGroup> {
        let name = format!("{}-tg", self.stack);
        let registered: Vec<&String> = self
            .region
            .auto_scaling_groups
            .iter()
            .filter(|a| self.in_stack(&a.tags))
            .flat_map(|a| &a.target_group_arns)
            .collect();
        self.region
            .target_groups
            .iter()
            .filter(|t| (t.name == name || registered.contains(&&t.arn)) && self.in_vpc(&t.vpc_id))
            .collect()
    }

    /// Targets deregistered, the Auto Scaling groups (with their instances), the instances
    /// outside them, the launch templates.
    fn compute(&self, out: &mut Deletes<'_>) {
        use ResourceKind::{AutoScalingGroup, Instance, LaunchTemplate, TargetGroup};
        let region = self.region;
        for tg in self.target_groups() {
            if !tg.targets.is_empty() {
                out.delete_part(
                    r(TargetGroup, "target-group"),
                    ResourceKind::TargetRegistration,
                    "target-group".to_string(),
                    tg.name.clone(),
                    tg.arn.clone(),
                    format!("deregister {} target(s)", tg.targets.len()),
                );
            }
        }
        let asgs: Vec<_> = region
            .auto_scaling_groups
            .iter()
            .filter(|a| self.in_stack(&a.tags))
            .collect();
        // The group a blue/green deploy left in the blueprint's group's place plays its role.
        let deployed = crate::deploy::deployed_group(region, self.stack).map(|g| g.name.as_str());
        for asg in &asgs {
            let logical = match logical_of(&asg.tags) {
                none if none.is_empty() && deployed == Some(asg.name.as_str()) => "asg".into(),
                logical => logical,
            };
            out.delete(
                AutoScalingGroup,
                logical,
                asg.name.clone(),
                asg.name.clone(),
                format!(
                    "force-delete (terminates its {} instance(s) and its scaling policies)",
                    asg.instances.len()
                ),
            );
        }
        for instance in region.instances.iter().filter(|i| {
            self.in_stack(&i.tags)
                && !i.state.is_gone()
                && !i
                    .tags
                    .get(ASG_NAME_TAG)
                    .is_some_and(|name| asgs.iter().any(|a| a.name == *name))
        }) {
            out.delete(
                Instance,
                instance.id.clone(),
                name_of(&instance.tags, &instance.id),
                instance.id.clone(),
                "terminate".to_string(),
            );
        }
        for template in region
            .launch_templates
            .iter()
            .filter(|t| self.in_stack(&t.tags))
        {
            out.delete(
                LaunchTemplate,
                logical_of(&template.tags),
                template.name.clone(),
                template.id.clone(),
                format!("delete with its {} version(s)", template.versions.len()),
            );
        }
    }

    /// The listeners, the load balancer, then the target group.
    fn load_balancing(&self, out: &mut Deletes<'_>) {
        use ResourceKind::{Listener, LoadBalancer, TargetGroup};
        let name = format!("{}-alb", self.stack);
        let lbs: Vec<_> = self
            .region
            .load_balancers
            .iter()
            .filter(|l| l.name == name && self.in_vpc(&l.vpc_id))
            .collect();
        for lb in &lbs {
            for listener in &lb.listeners {
                let port = listener.port.unwrap_or_default();
                out.delete(
                    Listener,
                    format!("listener-{port}"),
                    format!("{}:{port}", lb.name),
                    listener.arn.clone(),
                    "delete".to_string(),
                );
            }
        }
        for lb in &lbs {
            out.delete(
                LoadBalancer,
                "load-balancer".to_string(),
                lb.name.clone(),
                lb.arn.clone(),
                "delete and wait until it is gone (it holds network interfaces in the subnets)"
                    .to_string(),
            );
        }
        for tg in self.target_groups() {
            let (name, arn) = (tg.name.clone(), tg.arn.clone());
            let logical = "target-group".to_string();
            out.delete(TargetGroup, logical, name, arn, "delete".to_string());
        }
    }

    /// The NAT gateways, then their Elastic IPs.
    fn nat_gateways(&self, out: &mut Deletes<'_>) {
        let region = self.region;
        for nat in region
            .nat_gateways
            .iter()
            .filter(|n| self.in_stack(&n.tags) && n.state != "deleted")
        {
            out.delete(
                ResourceKind::NatGateway,
                logical_of(&nat.tags),
                name_of(&nat.tags, &nat.id),
                nat.id.clone(),
                "delete and wait until deleted".to_string(),
            );
        }
        for eip in region.elastic_ips.iter().filter(|e| self.in_stack(&e.tags)) {
            out.delete(
                ResourceKind::ElasticIp,
                logical_of(&eip.tags),
                eip.public_ip.clone(),
                eip.allocation_id.clone(),
                format!("release {}", eip.public_ip),
            );
        }
    }

    /// The stack's route tables (not a VPC's main one): the gateway endpoints they route to,
    /// their subnet associations, then the tables.
    fn route_tables(&self, out: &mut Deletes<'_>) {
        use ResourceKind::{RouteTable, RouteTableAssociation, VpcEndpoint};
        let tables: Vec<_> = self
            .region
            .route_tables
            .iter()
            .filter(|t| self.in_stack(&t.tags) && !t.associations.iter().any(|a| a.main))
            .collect();
        let mut endpoints = BTreeSet::new();
        for table in &tables {
            for route in &table.routes {
                if let RouteTarget::VpcEndpoint(id) = &route.target
                    && endpoints.insert(id.clone())
                {
                    let logical = "s3-endpoint".to_string();
                    out.delete(
                        VpcEndpoint,
                        logical,
                        id.clone(),
                        id.clone(),
                        "delete".into(),
                    );
                }
            }
        }
        for table in &tables {
            let logical = logical_of(&table.tags);
            for association in table.associations.iter().filter(|a| a.subnet_id.is_some()) {
                let subnet = association.subnet_id.clone().unwrap_or_default();
                out.delete_part(
                    r(RouteTable, &logical),
                    RouteTableAssociation,
                    format!("{logical}/{subnet}"),
                    association.id.clone(),
                    association.id.clone(),
                    format!("disassociate {subnet}"),
                );
            }
        }
        for table in &tables {
            out.delete(
                RouteTable,
                logical_of(&table.tags),
                name_of(&table.tags, &table.id),
                table.id.clone(),
                "delete".to_string(),
            );
        }
    }

    /// Each internet gateway detached then deleted; the subnets.
    fn internet_gateways_and_subnets(&self, out: &mut Deletes<'_>) {
        use ResourceKind::{IgwAttachment, InternetGateway, Subnet};
        let region = self.region;
        for igw in region
            .internet_gateways
            .iter()
            .filter(|g| self.in_stack(&g.tags))
        {
            let logical = logical_of(&igw.tags);
            let name = name_of(&igw.tags, &igw.id);
            for vpc in &igw.attached_vpc_ids {
                out.delete_part(
                    r(InternetGateway, &logical),
                    IgwAttachment,
                    logical.clone(),
                    name.clone(),
                    igw.id.clone(),
                    format!("detach from {vpc}"),
                );
            }
            let (id, detail) = (igw.id.clone(), "delete".to_string());
            out.delete(InternetGateway, logical, name, id, detail);
        }
        for subnet in region.subnets.iter().filter(|s| self.in_stack(&s.tags)) {
            out.delete(
                Subnet,
                logical_of(&subnet.tags),
                name_of(&subnet.tags, &subnet.id),
                subnet.id.clone(),
                format!("delete {}", subnet.cidr_block),
            );
        }
    }

    /// Rules referencing another group of the stack revoked first, then the groups (not a
    /// VPC's `default`).
    fn security_groups(&self, out: &mut Deletes<'_>) {
        use ResourceKind::{SecurityGroup, SecurityGroupReferences};
        let (region, stack) = (self.region, self.stack);
        let groups: Vec<_> = region
            .security_groups
            .iter()
            .filter(|g| self.in_stack(&g.tags) && g.name != "default")
            .collect();
        let group_ids: Vec<&str> = groups.iter().map(|g| g.id.as_str()).collect();
        for group in &groups {
            let references: Vec<String> = group
                .ingress
                .iter()
                .map(|rule| ("ingress", rule))
                .chain(group.egress.iter().map(|rule| ("egress", rule)))
                .filter(|(_, rule)| {
                    matches!(&rule.peer, RulePeer::SecurityGroup(id) if group_ids.contains(&id.as_str()))
                })
                .map(|(direction, rule)| {
                    format!("{direction} {}", describe_rule(rule, region, stack))
                })
                .collect();
            if !references.is_empty() {
                let logical = logical_of(&group.tags);
                out.delete_part(
                    r(SecurityGroup, &logical),
                    SecurityGroupReferences,
                    logical,
                    group.name.clone(),
                    group.id.clone(),
                    format!("revoke {}", references.join(", ")),
                );
            }
        }
        for group in &groups {
            out.delete(
                SecurityGroup,
                logical_of(&group.tags),
                group.name.clone(),
                group.id.clone(),
                "delete".to_string(),
            );
        }
    }

    fn vpcs(&self, out: &mut Deletes<'_>) {
        let region = self.region;
        for vpc in region.vpcs.iter().filter(|v| self.in_stack(&v.tags)) {
            out.delete(
                ResourceKind::Vpc,
                logical_of(&vpc.tags),
                name_of(&vpc.tags, &vpc.id),
                vpc.id.clone(),
                "delete".to_string(),
            );
        }
    }
}

/// What RDS keeps of a read replica it deletes, and the step's detail saying so.
fn replica_delete(db: &DbInstance, options: &TeardownOptions) -> (Retain, String) {
    // RDS takes no final snapshot of a read replica: its data is the source's.
    let retain = Retain {
        final_snapshot: None,
        automated_backups: options.keep_data,
    };
    let mut detail = format!(
        "delete replica of {} (a replica gets no final snapshot",
        db.read_replica_source.as_deref().unwrap_or("?")
    );
    detail.push_str(if options.keep_data && db.backup_retention_days > 0 {
        "; its automated backups are kept)"
    } else {
        ")"
    });
    if db.deletion_protection {
        detail.insert_str(0, "turn deletion protection off (--force), then ");
    }
    (retain, detail)
}

/// What RDS keeps of a primary it deletes (a final snapshot named for `at`, unless
/// `--no-final-snapshot`), and the step's detail saying so.
fn primary_delete(
    db: &DbInstance,
    options: &TeardownOptions,
    at: DateTime<Utc>,
) -> (Retain, String) {
    let retain = Retain {
        final_snapshot: options
            .keep_data
            .then(|| final_snapshot_name(&db.identifier, at)),
        automated_backups: options.keep_data,
    };
    let mut detail = String::new();
    if db.deletion_protection {
        detail.push_str("turn deletion protection off (--force), then ");
    }
    match &retain.final_snapshot {
        Some(name) => detail.push_str(&format!(
            "delete, keeping a final snapshot {name} and the automated backups"
        )),
        None => detail.push_str(
            "delete with no final snapshot and its automated backups deleted \
             (--no-final-snapshot): its data is gone for good",
        ),
    }
    (retain, detail)
}

/// A resource's `Name` tag, or `fallback`.
fn name_of(tags: &Tags, fallback: &str) -> String {
    tags.get("Name")
        .cloned()
        .unwrap_or_else(|| fallback.to_string())
}

/// Each deletion depends on the earlier deletions of the kinds that block it.
fn link_dependencies(steps: &mut [(ResourceRef, Step)]) {
    for i in 0..steps.len() {
        let blockers = steps[i].1.resource.kind.blocked_by();
        let mut depends: Vec<ResourceRef> = steps[..i]
            .iter()
            .filter(|(_, s)| blockers.contains(&s.resource.kind))
            .map(|(_, s)| s.resource.clone())
            .collect();
        depends.dedup();
        steps[i].1.depends_on = depends;
    }
}

fn teardown_iam(iam: &Iam, stack: &str) -> Vec<Step> {
    use ResourceKind::*;
    let mut steps: Vec<(ResourceRef, Step)> = Vec::new();
    let mut add = |kind: ResourceKind, name: &str, arn: &str, detail: String| {
        steps.push((
            r(kind, name),
            Step {
                op: Op::Delete,
                resource: r(kind, name),
                name: name.to_string(),
                id: Some(arn.to_string()),
                region: None,
                depends_on: Vec::new(),
                detail,
                retain: None,
            },
        ));
    };
    for profile in iam
        .instance_profiles
        .iter()
        .filter(|p| owns_iam(&p.arn, &p.tags, stack))
    {
        add(
            InstanceProfile,
            &profile.name,
            &profile.arn,
            format!("remove {}, then delete", profile.role_names.join(", ")),
        );
    }
    for role in iam
        .roles
        .iter()
        .filter(|r| owns_iam(&r.arn, &r.tags, stack))
    {
        add(
            IamRole,
            &role.name,
            &role.arn,
            format!(
                "detach {} policy(ies), then delete",
                role.attached_policy_arns.len()
            ),
        );
    }
    for group in iam.groups.iter().filter(|g| iam_owned(&g.arn, stack)) {
        add(
            IamGroup,
            &group.name,
            &group.arn,
            "remove its users, detach its policies, then delete".to_string(),
        );
    }
    for user in iam
        .users
        .iter()
        .filter(|u| owns_iam(&u.arn, &u.tags, stack))
    {
        add(
            IamUser,
            &user.name,
            &user.arn,
            "delete its login profile, access keys, MFA devices, SSH keys, signing \
             certificates and service credentials, then the user"
                .to_string(),
        );
    }
    link_dependencies(&mut steps);
    steps.into_iter().map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{LOGICAL_TAG, STACK_TAG};

    const HEALTHY: &str = include_str!("../../../../assets/fixtures/lab-healthy.json");

    /// The healthy lab fixture with its databases tagged as `haven up` tags them, and its DR
    /// replica in us-east-1 tagged as `haven replicate` tags it.
    fn lab() -> Topology {
        let mut topology = Topology::from_json(HEALTHY).expect("fixture");
        for region in &mut topology.regions {
            for db in &mut region.db_instances {
                let logical = match db.identifier.as_str() {
                    "lab-db" => "db",
                    "lab-db-replica-1" => "lab-db-replica-1",
                    _ => {
                        db.tags.insert(
                            SOURCE_TAG.into(),
                            "arn:aws:rds:ap-northeast-2:123456789012:db:lab-db".into(),
                        );
                        db.tags.insert(LINEAGE_TAG.into(), "lab-db".into());
                        continue;
                    }
                };
                db.tags.insert(STACK_TAG.into(), "lab".into());
                db.tags.insert(LOGICAL_TAG.into(), logical.into());
                db.deletion_protection = false;
            }
        }
        topology
    }

    fn db_step<'a>(plan: &'a Plan, identifier: &str) -> &'a Step {
        plan.steps
            .iter()
            .find(|s| s.id.as_deref() == Some(identifier))
            .unwrap_or_else(|| panic!("no step for {identifier}: {:#?}", plan.steps))
    }

    #[test]
    fn b4_final_snapshot_name_follows_the_rds_identifier_rules() {
        let at = "2026-03-02T09:00:05Z".parse().expect("time");
        assert_eq!(
            final_snapshot_name("lab-db", at),
            "lab-db-final-20260302-090005"
        );
        // A letter first, no double or trailing hyphen, only letters, digits and hyphens.
        let odd = final_snapshot_name("9Odd--Name-", at);
        assert_eq!(odd, "db-9odd-name-final-20260302-090005");
        let long = final_snapshot_name(&"a".repeat(300), at);
        assert!(long.len() <= 255 && !long.ends_with('-'), "{long}");
    }

    #[test]
    fn b4_down_keeps_a_final_snapshot_and_the_backups_and_says_the_name() {
        let topology = lab();
        let plan = teardown(&topology, "lab");
        let primary = db_step(&plan, "lab-db");
        let name = "lab-db-final-20260302-090000";
        assert_eq!(
            primary.retain,
            Some(Retain {
                final_snapshot: Some(name.to_string()),
                automated_backups: true,
            })
        );
        assert!(primary.detail.contains(name), "{}", primary.detail);
        // RDS refuses a final snapshot of a read replica.
        let replica = db_step(&plan, "lab-db-replica-1");
        assert_eq!(
            replica
                .retain
                .as_ref()
                .and_then(|r| r.final_snapshot.clone()),
            None
        );
        assert!(
            replica.detail.contains("no final snapshot"),
            "{}",
            replica.detail
        );
    }

    #[test]
    fn b4_no_final_snapshot_deletes_the_data_and_says_so() {
        let options = TeardownOptions {
            keep_data: false,
            ..TeardownOptions::default()
        };
        let plan = teardown_with(&lab(), "lab", &options).plan;
        let primary = db_step(&plan, "lab-db");
        assert_eq!(
            primary.retain,
            Some(Retain {
                final_snapshot: None,
                automated_backups: false,
            })
        );
        assert!(
            primary.detail.contains("gone for good"),
            "{}",
            primary.detail
        );
    }

    #[test]
    fn b4_databases_with_deletion_protection_are_named() {
        let mut topology = lab();
        let plan = teardown(&topology, "lab");
        assert_eq!(deletion_protected(&topology, &plan), Vec::<String>::new());
        topology.regions[0].db_instances[0].deletion_protection = true;
        let plan = teardown(&topology, "lab");
        assert_eq!(
            deletion_protected(&topology, &plan),
            vec!["lab-db (ap-northeast-2)".to_string()]
        );
    }

    #[test]
    fn b4_a_region_whose_database_a_failover_adopted_is_kept_unless_named() {
        let mut topology = lab();
        // failover-region promoted the DR replica and tagged it (and built the app tier).
        let dr = topology
            .regions
            .iter_mut()
            .find(|r| r.region == "us-east-1")
            .expect("DR Region");
        let db = &mut dr.db_instances[0];
        db.read_replica_source = None;
        db.tags.insert(STACK_TAG.into(), "lab".into());
        db.tags.insert(LOGICAL_TAG.into(), "db".into());
        assert!(adopted_by_failover(db, "lab"));
        let kept = teardown_with(&topology, "lab", &TeardownOptions::default());
        assert!(
            !kept
                .plan
                .steps
                .iter()
                .any(|s| s.region.as_deref() == Some("us-east-1")),
            "{:#?}",
            kept.plan.steps
        );
        assert_eq!(kept.kept_regions.len(), 1);
        assert!(
            !kept.kept_regions[0].contains("  "),
            "one space between words: {}",
            kept.kept_regions[0]
        );
        assert!(
            kept.kept_regions[0].contains("lab-db-dr")
                && kept.kept_regions[0].contains("--region us-east-1"),
            "{}",
            kept.kept_regions[0]
        );
        // The primary Region is still torn down.
        assert!(
            kept.plan
                .steps
                .iter()
                .any(|s| s.id.as_deref() == Some("lab-db"))
        );
        let named = teardown_with(
            &topology,
            "lab",
            &TeardownOptions {
                named_regions: vec!["us-east-1".into()],
                ..TeardownOptions::default()
            },
        );
        assert!(named.kept_regions.is_empty());
        let step = db_step(&named.plan, "lab-db-dr");
        assert_eq!(
            step.retain
                .as_ref()
                .and_then(|r| r.final_snapshot.as_deref()),
            Some("lab-db-dr-final-20260302-090000")
        );
    }

    #[test]
    fn b5_the_next_move_follows_what_rds_is_doing() {
        assert_eq!(db_delete_move(None), DbDeleteMove::Gone);
        assert_eq!(
            db_delete_move(Some("deleting")),
            DbDeleteMove::WaitUntilGone
        );
        for busy in [
            "creating",
            "modifying",
            "backing-up",
            "rebooting",
            "configuring-log-exports",
        ] {
            assert_eq!(
                db_delete_move(Some(busy)),
                DbDeleteMove::WaitUntilSettled,
                "{busy}"
            );
        }
        for ready in ["available", "stopped", "storage-full"] {
            assert_eq!(db_delete_move(Some(ready)), DbDeleteMove::Delete, "{ready}");
        }
        assert_eq!(
            db_delete_move(Some("incompatible-restore")),
            DbDeleteMove::DeleteWithoutSnapshotOnly
        );
    }

    #[test]
    fn b7_down_lists_the_dr_replica_with_its_cost_or_deletes_it_when_asked() {
        let topology = lab();
        let teardown = teardown_with(&topology, "lab", &TeardownOptions::default());
        assert!(
            !teardown
                .plan
                .steps
                .iter()
                .any(|s| s.id.as_deref() == Some("lab-db-dr"))
        );
        let replica = teardown
            .left_behind
            .iter()
            .find(|c| c.what.contains("lab-db-dr"))
            .unwrap_or_else(|| panic!("{:#?}", teardown.left_behind));
        assert_eq!(replica.region, "us-east-1");
        assert!(replica.cost.contains("per hour"), "{}", replica.cost);
        assert!(
            replica.remove.contains("--include-dr-copies"),
            "{}",
            replica.remove
        );
        let included = teardown_with(
            &topology,
            "lab",
            &TeardownOptions {
                include_dr_copies: true,
                ..TeardownOptions::default()
            },
        );
        assert!(
            !included
                .left_behind
                .iter()
                .any(|c| c.what.contains("lab-db-dr"))
        );
        let step = db_step(&included.plan, "lab-db-dr");
        assert_eq!(step.region.as_deref(), Some("us-east-1"));
        assert_eq!(step.resource.kind, ResourceKind::DbReadReplica);
    }

    #[test]
    fn a2_the_dr_network_stays_while_its_dr_replica_stays_and_goes_with_it() {
        let mut topology = lab();
        let dr = topology
            .regions
            .iter_mut()
            .find(|r| r.region == "us-east-1")
            .expect("DR Region");
        dr.vpcs.push(crate::topology::Vpc {
            id: "vpc-dr".into(),
            cidr_block: "10.0.0.0/16".into(),
            is_default: false,
            state: "available".into(),
            tags: super::super::haven_tags("lab", "vpc", "lab-vpc"),
        });
        let vpc_delete = |plan: &Plan| {
            plan.steps
                .iter()
                .any(|s| s.id.as_deref() == Some("vpc-dr") && s.op == Op::Delete)
        };
        let kept = teardown_with(&topology, "lab", &TeardownOptions::default());
        assert!(!vpc_delete(&kept.plan), "{:#?}", kept.plan.steps);
        assert!(
            kept.kept_regions
                .iter()
                .any(|k| k.starts_with("us-east-1: the DR network")
                    && !k.contains("  ")
                    && k.contains("lab-db-dr")
                    && k.contains("--include-dr-copies")),
            "{:?}",
            kept.kept_regions
        );
        let all = teardown_with(
            &topology,
            "lab",
            &TeardownOptions {
                include_dr_copies: true,
                ..TeardownOptions::default()
            },
        );
        assert!(vpc_delete(&all.plan), "{:#?}", all.plan.steps);
        let position = |id: &str| {
            all.plan
                .steps
                .iter()
                .position(|s| s.id.as_deref() == Some(id))
                .unwrap_or_else(|| panic!("no step for {id}"))
        };
        assert!(position("lab-db-dr") < position("vpc-dr"));
    }
}
