//! SEC-REACH on the lab fixture: each hop of the path closes it on its own.

use super::*;
use crate::topology::{
    NaclEntry, NetworkAcl, RegionTopology, RulePeer, SecurityGroupRule, TargetHealthState,
};

fn lab() -> Topology {
    let mut t = Topology::from_json(include_str!("../../../../assets/fixtures/lab-healthy.json"))
        .expect("fixture");
    for region in &mut t.regions {
        // AWS's default ACL: everything in and out (rule 100), then the `*` deny.
        if region.network_acls.is_empty() {
            region.network_acls = region
                .vpcs
                .iter()
                .map(|v| NetworkAcl {
                    id: format!("acl-{}", &v.id[4..]),
                    vpc_id: v.id.clone(),
                    is_default: true,
                    subnet_ids: Vec::new(),
                    entries: [false, true]
                        .into_iter()
                        .flat_map(|egress| {
                            [
                                entry(100, egress, true, None),
                                entry(32767, egress, false, None),
                            ]
                        })
                        .collect(),
                    tags: Default::default(),
                })
                .collect();
        }
    }
    t
}

fn entry(rule_number: i32, egress: bool, allow: bool, port: Option<i32>) -> NaclEntry {
    NaclEntry {
        rule_number,
        egress,
        protocol: if port.is_some() { "6" } else { "-1" }.into(),
        allow,
        cidr_block: Some("0.0.0.0/0".into()),
        ipv6_cidr_block: None,
        from_port: port,
        to_port: port,
    }
}

fn primary(t: &mut Topology) -> &mut RegionTopology {
    &mut t.regions[0]
}

fn subnet(r: &RegionTopology, name: &str) -> String {
    r.subnets
        .iter()
        .find(|s| s.tags.get("Name").map(String::as_str) == Some(name))
        .expect("subnet")
        .id
        .clone()
}

fn world(port: i32) -> SecurityGroupRule {
    SecurityGroupRule {
        protocol: "tcp".into(),
        from_port: Some(port),
        to_port: Some(port),
        peer: RulePeer::Cidr("0.0.0.0/0".into()),
        description: None,
    }
}

fn open_group(r: &mut RegionTopology, name: &str, rule: SecurityGroupRule) -> String {
    let g = r
        .security_groups
        .iter_mut()
        .find(|g| g.name == name)
        .expect("group");
    g.ingress.push(rule);
    g.id.clone()
}

fn reach(t: &Topology) -> Vec<Finding> {
    assess(t, &Policy::default())
        .into_iter()
        .filter(|f| f.id == "SEC-REACH")
        .collect()
}

/// The first app instance, given a public address in a public subnet, its group open to 22.
fn exposed_instance() -> (Topology, String, String) {
    let mut t = lab();
    let r = primary(&mut t);
    let public_a = subnet(r, "lab-public-a");
    let group = open_group(r, "lab-app", world(22));
    let instance = &mut r.instances[0];
    instance.public_ip = Some("3.35.10.20".into());
    instance.subnet_id = Some(public_a.clone());
    let id = instance.id.clone();
    (t, id, group)
}

#[test]
fn the_healthy_lab_is_not_reachable_on_a_sensitive_port() {
    assert!(reach(&lab()).is_empty());
}

#[test]
fn an_instance_open_on_every_hop_is_reported_with_the_whole_path() {
    let (t, id, group) = exposed_instance();
    let found = reach(&t);
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    assert_eq!(f.resource.id, id);
    assert_eq!(f.severity, Severity::Critical);
    for hop in [
        "internet → 3.35.10.20:22",
        "igw-",
        "rtb-",
        "acl-",
        "rule 100 allows in",
        &group,
    ] {
        assert!(
            f.evidence.contains(hop),
            "{hop} missing from {}",
            f.evidence
        );
    }
}

#[test]
fn each_hop_closes_the_path_on_its_own() {
    // A network ACL entry denying 22 ahead of the allow-all.
    let (mut t, _, _) = exposed_instance();
    for acl in &mut primary(&mut t).network_acls {
        acl.entries.push(entry(90, false, false, Some(22)));
    }
    assert!(reach(&t).is_empty());
    // A stateless ACL that lets 22 in but no answer out.
    let (mut t, _, _) = exposed_instance();
    for acl in &mut primary(&mut t).network_acls {
        acl.entries.retain(|e| !(e.egress && e.allow));
    }
    assert!(reach(&t).is_empty());
    // No public address.
    let (mut t, _, _) = exposed_instance();
    primary(&mut t).instances[0].public_ip = None;
    assert!(reach(&t).is_empty());
    // A subnet without a route to the internet gateway.
    let (mut t, _, _) = exposed_instance();
    let r = primary(&mut t);
    r.instances[0].subnet_id = Some(subnet(r, "lab-private-a"));
    assert!(reach(&t).is_empty());
    // Network ACLs not read: nothing is proven, nothing is reported.
    let (mut t, _, _) = exposed_instance();
    primary(&mut t).network_acls.clear();
    assert!(reach(&t).is_empty());
}

#[test]
fn a_public_database_open_to_the_world_is_reachable_on_its_port() {
    let mut t = lab();
    let r = primary(&mut t);
    let public: Vec<String> = ["lab-public-a", "lab-public-b"]
        .iter()
        .map(|n| subnet(r, n))
        .collect();
    let db = r
        .db_instances
        .iter()
        .find(|d| d.read_replica_source.is_none() && d.cluster_identifier.is_none())
        .expect("writer")
        .clone();
    let group_name = db.subnet_group_name.clone().expect("subnet group");
    for g in r
        .db_subnet_groups
        .iter_mut()
        .filter(|g| g.name == group_name)
    {
        g.subnet_ids = public.clone();
    }
    let port = db.endpoint.as_ref().and_then(|e| e.port).expect("port");
    let sg = db.vpc_security_group_ids[0].clone();
    for g in r.security_groups.iter_mut().filter(|g| g.id == sg) {
        g.ingress.push(world(port));
    }
    // Not publicly accessible: no public address, no path.
    assert!(reach(&t).is_empty());
    for d in primary(&mut t)
        .db_instances
        .iter_mut()
        .filter(|d| d.identifier == db.identifier)
    {
        d.publicly_accessible = true;
    }
    let found = reach(&t);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].resource.id, db.identifier);
    assert!(found[0].evidence.contains(&format!(":{port} via igw-")));
}

#[test]
fn an_internet_facing_load_balancer_forwarding_to_a_sensitive_port_is_a_path() {
    let mut t = lab();
    let r = primary(&mut t);
    let alb_sg = r
        .load_balancers
        .iter()
        .find(|l| l.scheme == "internet-facing")
        .expect("alb")
        .security_group_ids[0]
        .clone();
    let tg = &mut r.target_groups[0];
    tg.port = Some(3306);
    for target in &mut tg.targets {
        target.port = Some(3306);
        target.health = TargetHealthState::Healthy;
    }
    let target = tg.targets[0].id.clone();
    open_group(
        r,
        "lab-app",
        SecurityGroupRule {
            peer: RulePeer::SecurityGroup(alb_sg),
            ..world(3306)
        },
    );
    let found = reach(&t);
    let f = found
        .iter()
        .find(|f| f.resource.id == target)
        .unwrap_or_else(|| panic!("{found:?}"));
    assert!(
        f.evidence.contains("(internet-facing) → target port 3306"),
        "{}",
        f.evidence
    );
}
