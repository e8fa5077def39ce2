//! Teardown: everything tagged with a stack, in the order it can be deleted.

use std::collections::BTreeSet;

use super::{
    Op, Plan, ResourceKind, ResourceRef, Step, describe_rule, iam_owned, in_stack, logical_of, r,
};
use crate::relations::ASG_NAME_TAG;
use crate::topology::{Iam, RegionTopology, RouteTarget, RulePeer, Tags, Topology};

/// Everything tagged with `stack`, in every Region of the topology, in the order it can be
/// deleted: replicas before their source, targets deregistered, the Auto Scaling group, listener,
/// load balancer, target group, NAT and its Elastic IP, route-table associations, the internet
/// gateway detached, subnets, security-group cross-references revoked before the groups, the
/// VPC; then IAM entities under [`iam_path`](super::iam_path).
pub fn teardown(topology: &Topology, stack: &str) -> Plan {
    let mut steps: Vec<Step> = topology
        .regions
        .iter()
        .flat_map(|region| teardown_region(region, stack))
        .map(|(_, step)| step)
        .collect();
    if let Some(iam) = &topology.iam {
        steps.extend(teardown_iam(iam, stack));
    }
    Plan {
        stack: stack.to_string(),
        steps,
    }
}

/// Deletion steps for one Region, each with the resource it belongs to (the owner of a link
/// step such as a route-table association is its route table).
pub(super) fn teardown_region(region: &RegionTopology, stack: &str) -> Vec<(ResourceRef, Step)> {
    use ResourceKind::*;
    let mut out: Vec<(ResourceRef, Step)> = Vec::new();
    let mut add = |owner: ResourceRef,
                   kind: ResourceKind,
                   logical: String,
                   name: String,
                   id: String,
                   detail: String| {
        let step = Step {
            op: Op::Delete,
            resource: ResourceRef::new(kind, logical),
            name,
            id: Some(id),
            region: Some(region.region.clone()),
            depends_on: Vec::new(),
            detail,
        };
        out.push((owner, step));
    };
    let vpc_ids: Vec<&str> = region
        .vpcs
        .iter()
        .filter(|v| in_stack(&v.tags, stack))
        .map(|v| v.id.as_str())
        .collect();
    let in_vpc = |id: &Option<String>| id.as_deref().is_some_and(|id| vpc_ids.contains(&id));
    let name_of = |tags: &Tags, fallback: &str| {
        tags.get("Name")
            .cloned()
            .unwrap_or_else(|| fallback.to_string())
    };

    // Databases: replicas first, then their sources, then the subnet group.
    let dbs: Vec<&crate::topology::DbInstance> = region
        .db_instances
        .iter()
        .filter(|d| in_stack(&d.tags, stack))
        .collect();
    for db in dbs.iter().filter(|d| d.read_replica_source.is_some()) {
        let logical = logical_of(&db.tags);
        add(
            r(DbReadReplica, &logical),
            DbReadReplica,
            logical,
            db.identifier.clone(),
            db.identifier.clone(),
            format!(
                "delete replica of {} (no final snapshot)",
                db.read_replica_source.as_deref().unwrap_or("?")
            ),
        );
    }
    for db in dbs.iter().filter(|d| d.read_replica_source.is_none()) {
        let logical = logical_of(&db.tags);
        let mut detail = String::new();
        if db.deletion_protection {
            detail.push_str("turn deletion protection off, then ");
        }
        detail.push_str("delete (no final snapshot; automated backups deleted)");
        add(
            r(DbInstance, &logical),
            DbInstance,
            logical,
            db.identifier.clone(),
            db.identifier.clone(),
            detail,
        );
    }
    for group in region
        .db_subnet_groups
        .iter()
        .filter(|g| g.name == format!("{stack}-db-subnets") && in_vpc(&g.vpc_id))
    {
        add(
            r(DbSubnetGroup, "db-subnet-group"),
            DbSubnetGroup,
            "db-subnet-group".to_string(),
            group.name.clone(),
            group.name.clone(),
            "delete".to_string(),
        );
    }

    // Compute and load balancing.
    let tgs: Vec<_> = region
        .target_groups
        .iter()
        .filter(|t| t.name == format!("{stack}-tg") && in_vpc(&t.vpc_id))
        .collect();
    for tg in &tgs {
        if !tg.targets.is_empty() {
            add(
                r(TargetGroup, "target-group"),
                TargetRegistration,
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
        .filter(|a| in_stack(&a.tags, stack))
        .collect();
    for asg in &asgs {
        let logical = logical_of(&asg.tags);
        add(
            r(AutoScalingGroup, &logical),
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
        in_stack(&i.tags, stack)
            && !i.state.is_gone()
            && !i
                .tags
                .get(ASG_NAME_TAG)
                .is_some_and(|name| asgs.iter().any(|a| a.name == *name))
    }) {
        add(
            r(Instance, &instance.id),
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
        .filter(|t| in_stack(&t.tags, stack))
    {
        let logical = logical_of(&template.tags);
        add(
            r(LaunchTemplate, &logical),
            LaunchTemplate,
            logical,
            template.name.clone(),
            template.id.clone(),
            format!("delete with its {} version(s)", template.versions.len()),
        );
    }
    let lbs: Vec<_> = region
        .load_balancers
        .iter()
        .filter(|l| l.name == format!("{stack}-alb") && in_vpc(&l.vpc_id))
        .collect();
    for lb in &lbs {
        for listener in &lb.listeners {
            let logical = format!("listener-{}", listener.port.unwrap_or_default());
            add(
                r(Listener, &logical),
                Listener,
                logical,
                format!("{}:{}", lb.name, listener.port.unwrap_or_default()),
                listener.arn.clone(),
                "delete".to_string(),
            );
        }
    }
    for lb in &lbs {
        add(
            r(LoadBalancer, "load-balancer"),
            LoadBalancer,
            "load-balancer".to_string(),
            lb.name.clone(),
            lb.arn.clone(),
            "delete and wait until it is gone (it holds network interfaces in the subnets)"
                .to_string(),
        );
    }
    for tg in &tgs {
        add(
            r(TargetGroup, "target-group"),
            TargetGroup,
            "target-group".to_string(),
            tg.name.clone(),
            tg.arn.clone(),
            "delete".to_string(),
        );
    }

    // Network.
    for nat in region
        .nat_gateways
        .iter()
        .filter(|n| in_stack(&n.tags, stack) && n.state != "deleted")
    {
        let logical = logical_of(&nat.tags);
        add(
            r(NatGateway, &logical),
            NatGateway,
            logical.clone(),
            name_of(&nat.tags, &nat.id),
            nat.id.clone(),
            "delete and wait until deleted".to_string(),
        );
    }
    for eip in region
        .elastic_ips
        .iter()
        .filter(|e| in_stack(&e.tags, stack))
    {
        let logical = logical_of(&eip.tags);
        add(
            r(ElasticIp, &logical),
            ElasticIp,
            logical,
            eip.public_ip.clone(),
            eip.allocation_id.clone(),
            format!("release {}", eip.public_ip),
        );
    }
    let tables: Vec<_> = region
        .route_tables
        .iter()
        .filter(|t| in_stack(&t.tags, stack) && !t.associations.iter().any(|a| a.main))
        .collect();
    let mut endpoints = BTreeSet::new();
    for table in &tables {
        for route in &table.routes {
            if let RouteTarget::VpcEndpoint(id) = &route.target
                && endpoints.insert(id.clone())
            {
                add(
                    r(VpcEndpoint, "s3-endpoint"),
                    VpcEndpoint,
                    "s3-endpoint".to_string(),
                    id.clone(),
                    id.clone(),
                    "delete".to_string(),
                );
            }
        }
    }
    for table in &tables {
        let logical = logical_of(&table.tags);
        for association in table.associations.iter().filter(|a| a.subnet_id.is_some()) {
            let subnet = association.subnet_id.clone().unwrap_or_default();
            add(
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
        let logical = logical_of(&table.tags);
        add(
            r(RouteTable, &logical),
            RouteTable,
            logical,
            name_of(&table.tags, &table.id),
            table.id.clone(),
            "delete".to_string(),
        );
    }
    for igw in region
        .internet_gateways
        .iter()
        .filter(|g| in_stack(&g.tags, stack))
    {
        let logical = logical_of(&igw.tags);
        for vpc in &igw.attached_vpc_ids {
            add(
                r(InternetGateway, &logical),
                IgwAttachment,
                logical.clone(),
                name_of(&igw.tags, &igw.id),
                igw.id.clone(),
                format!("detach from {vpc}"),
            );
        }
        add(
            r(InternetGateway, &logical),
            InternetGateway,
            logical,
            name_of(&igw.tags, &igw.id),
            igw.id.clone(),
            "delete".to_string(),
        );
    }
    for subnet in region.subnets.iter().filter(|s| in_stack(&s.tags, stack)) {
        let logical = logical_of(&subnet.tags);
        add(
            r(Subnet, &logical),
            Subnet,
            logical,
            name_of(&subnet.tags, &subnet.id),
            subnet.id.clone(),
            format!("delete {}", subnet.cidr_block),
        );
    }
    let groups: Vec<_> = region
        .security_groups
        .iter()
        .filter(|g| in_stack(&g.tags, stack) && g.name != "default")
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
            .map(|(direction, rule)| format!("{direction} {}", describe_rule(rule, region, stack)))
            .collect();
        if !references.is_empty() {
            let logical = logical_of(&group.tags);
            add(
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
        let logical = logical_of(&group.tags);
        add(
            r(SecurityGroup, &logical),
            SecurityGroup,
            logical,
            group.name.clone(),
            group.id.clone(),
            "delete".to_string(),
        );
    }
    for vpc in region.vpcs.iter().filter(|v| in_stack(&v.tags, stack)) {
        let logical = logical_of(&vpc.tags);
        add(
            r(Vpc, &logical),
            Vpc,
            logical,
            name_of(&vpc.tags, &vpc.id),
            vpc.id.clone(),
            "delete".to_string(),
        );
    }
    link_dependencies(&mut out);
    out
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
            },
        ));
    };
    for profile in iam
        .instance_profiles
        .iter()
        .filter(|p| iam_owned(&p.arn, stack))
    {
        add(
            InstanceProfile,
            &profile.name,
            &profile.arn,
            format!("remove {}, then delete", profile.role_names.join(", ")),
        );
    }
    for role in iam.roles.iter().filter(|r| iam_owned(&r.arn, stack)) {
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
    for user in iam.users.iter().filter(|u| iam_owned(&u.arn, stack)) {
        add(
            IamUser,
            &user.name,
            &user.arn,
            "delete its login profile, access keys and MFA devices, then the user".to_string(),
        );
    }
    link_dependencies(&mut steps);
    steps.into_iter().map(|(_, s)| s).collect()
}
