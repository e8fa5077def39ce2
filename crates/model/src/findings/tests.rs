//! Every check has a fixture where it passes and one where it fails. Fixtures are the lab
//! topologies of `assets/fixtures/`, mutated per check.

use std::collections::BTreeSet;

use super::*;
use crate::topology::{
    DbCluster, DbClusterMember, DbInstance, DbSnapshot, PasswordPolicy, RegionTopology, RulePeer,
    SecurityGroupRule, TargetHealthState,
};

const PRIMARY: &str = "ap-northeast-2";
const DR: &str = "us-east-1";

fn fixture(name: &str) -> Topology {
    let text = match name {
        "healthy" => include_str!("../../../../assets/fixtures/lab-healthy.json"),
        "degraded" => include_str!("../../../../assets/fixtures/lab-degraded.json"),
        "two" => include_str!("../../../../assets/fixtures/two-regions.json"),
        _ => include_str!("../../../../assets/fixtures/large-10k.json"),
    };
    Topology::from_json(text).expect("fixture")
}

fn healthy() -> Topology {
    fixture("healthy")
}

fn primary(t: &mut Topology) -> &mut RegionTopology {
    t.regions
        .iter_mut()
        .find(|r| r.region == PRIMARY)
        .expect("primary")
}

fn dr(t: &mut Topology) -> &mut RegionTopology {
    t.regions.iter_mut().find(|r| r.region == DR).expect("dr")
}

fn run(t: &Topology) -> Vec<Finding> {
    assess(t, &Policy::default())
}

fn pairs(findings: &[Finding]) -> BTreeSet<(String, String)> {
    findings
        .iter()
        .map(|f| (f.id.to_string(), f.resource.id.clone()))
        .collect()
}

fn has(findings: &[Finding], id: &str, resource: &str) -> bool {
    findings
        .iter()
        .any(|f| f.id == id && f.resource.id == resource)
}

fn any(findings: &[Finding], id: &str) -> bool {
    findings.iter().any(|f| f.id == id)
}

/// Asserts the check fails on the mutated topology, on that resource, and not on the lab.
fn fails_after(id: &str, resource: &str, mutate: impl FnOnce(&mut Topology)) -> Finding {
    assert!(
        !has(&run(&healthy()), id, resource),
        "{id} on {resource} already fails"
    );
    let mut t = healthy();
    mutate(&mut t);
    let findings = run(&t);
    findings
        .iter()
        .find(|f| f.id == id && f.resource.id == resource)
        .cloned()
        .unwrap_or_else(|| panic!("{id} on {resource} expected; got {:?}", pairs(&findings)))
}

fn subnet_id(r: &RegionTopology, name: &str) -> String {
    r.subnets
        .iter()
        .find(|s| s.tags.get("Name").map(String::as_str) == Some(name))
        .map(|s| s.id.clone())
        .expect("subnet")
}

fn sg_mut<'a>(r: &'a mut RegionTopology, name: &str) -> &'a mut crate::topology::SecurityGroup {
    r.security_groups
        .iter_mut()
        .find(|g| g.name == name)
        .expect("sg")
}

fn sg_id(r: &RegionTopology, name: &str) -> String {
    r.security_groups
        .iter()
        .find(|g| g.name == name)
        .expect("sg")
        .id
        .clone()
}

fn open(port: i32, cidr: &str) -> SecurityGroupRule {
    SecurityGroupRule {
        protocol: "tcp".into(),
        from_port: Some(port),
        to_port: Some(port),
        peer: if cidr.contains(':') {
            RulePeer::Ipv6Cidr(cidr.into())
        } else {
            RulePeer::Cidr(cidr.into())
        },
        description: None,
    }
}

fn db_mut<'a>(r: &'a mut RegionTopology, id: &str) -> &'a mut DbInstance {
    r.db_instances
        .iter_mut()
        .find(|d| d.identifier == id)
        .expect("db")
}

// ---- The lab as a whole --------------------------------------------------------------------

/// The healthy lab passes every HA check except one accepted exception: the lab's group follows
/// `$Latest` so that `haven up` can roll new template versions without a Terraform state.
#[test]
fn the_healthy_lab_passes_every_ha_check() {
    let t = healthy();
    let ha: BTreeSet<(String, String)> = pairs(&run(&t))
        .into_iter()
        .filter(|(id, _)| id.starts_with("HA-"))
        .collect();
    let expected: BTreeSet<(String, String)> =
        [("HA-IR-LATEST".to_string(), "lab-asg".to_string())].into();
    assert_eq!(ha, expected);
    let policy = Policy {
        exceptions: vec![AcceptedException {
            id: "HA-IR-LATEST".into(),
            resource: "lab-asg".into(),
            reason: Some("the lab rolls $Latest on purpose".into()),
        }],
        ..Policy::default()
    };
    assert!(!assess(&t, &policy).iter().any(|f| f.id.starts_with("HA-")));
}

#[test]
fn the_degraded_lab_fails_exactly_the_expected_checks() {
    let before = pairs(&run(&healthy()));
    let degraded = fixture("degraded");
    let after = pairs(&run(&degraded));
    let private_b = subnet_id(&degraded.regions[0], "lab-private-b");
    let new: BTreeSet<(String, String)> = after.difference(&before).cloned().collect();
    let expected: BTreeSet<(String, String)> = [
        ("HA-ALB-AZ", "lab-alb"),
        ("HA-NAT-AZ", private_b.as_str()),
        ("RDS.5", "lab-db"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(new, expected);
    assert!(before.is_subset(&after));
}

/// Single NAT, one-AZ group, single-AZ DB, SSH open to the world: exactly these fail.
#[test]
fn a_weakened_lab_fails_exactly_the_expected_checks() {
    let before = pairs(&run(&healthy()));
    let mut t = healthy();
    let r = primary(&mut t);
    let private_a = subnet_id(r, "lab-private-a");
    let private_b = subnet_id(r, "lab-private-b");
    let nat_a = r.nat_gateways[0].id.clone();
    for rt in &mut r.route_tables {
        if rt
            .associations
            .iter()
            .any(|a| a.subnet_id.as_deref() == Some(&private_b))
        {
            for route in &mut rt.routes {
                if route.destination == "0.0.0.0/0" {
                    route.target = crate::topology::RouteTarget::NatGateway(nat_a.clone());
                }
            }
        }
    }
    let asg = &mut r.auto_scaling_groups[0];
    asg.availability_zones = vec!["ap-northeast-2a".into()];
    asg.subnet_ids = vec![private_a];
    db_mut(r, "lab-db").multi_az = false;
    sg_mut(r, "lab-app").ingress.push(open(22, "0.0.0.0/0"));
    let app = sg_id(r, "lab-app");
    let after = pairs(&run(&t));
    let new: BTreeSet<(String, String)> = after.difference(&before).cloned().collect();
    let expected: BTreeSet<(String, String)> = [
        ("HA-NAT-AZ", private_b.as_str()),
        ("AutoScaling.2", "lab-asg"),
        ("RDS.5", "lab-db"),
        ("EC2.13", app.as_str()),
        ("EC2.18", app.as_str()),
        ("EC2.19", app.as_str()),
        ("SEC-CHAIN", app.as_str()),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(new, expected);
}

#[test]
fn findings_are_sorted_worst_first_then_by_id() {
    let findings = run(&fixture("degraded"));
    for pair in findings.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(a.severity > b.severity || (a.severity == b.severity && a.id <= b.id));
    }
}

#[test]
fn every_finding_comes_from_the_catalogue() {
    let ids: BTreeSet<&str> = catalogue().iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), catalogue().len(), "duplicate ids");
    for c in catalogue() {
        assert!(
            !c.why.is_empty() && !c.fix.is_empty() && !c.source.is_empty(),
            "{}",
            c.id
        );
    }
    for name in ["healthy", "degraded", "two", "large"] {
        for f in run(&fixture(name)) {
            assert!(ids.contains(f.id.as_ref()), "{} not in the catalogue", f.id);
            assert!(!f.why.is_empty() && !f.evidence.is_empty());
        }
    }
}

#[test]
fn the_large_fixture_is_assessed_in_one_pass() {
    let t = fixture("large");
    let findings = run(&t);
    assert!(!findings.is_empty());
    // Every Region of the large fixture is assessed.
    let regions: BTreeSet<&str> = findings
        .iter()
        .filter_map(|f| f.region.as_deref())
        .collect();
    assert_eq!(regions.len(), t.regions.len());
}

#[test]
fn accepted_exceptions_match_by_id_and_resource_or_wildcard() {
    let t = fixture("degraded");
    let only = |resource: &str| Policy {
        exceptions: vec![AcceptedException {
            id: "RDS.8".into(),
            resource: resource.into(),
            reason: None,
        }],
        ..Policy::default()
    };
    let one = assess(&t, &only("lab-db-dr"));
    assert!(!has(&one, "RDS.8", "lab-db-dr"));
    assert!(has(&one, "RDS.8", "lab-db-replica-1"));
    assert!(!any(&assess(&t, &only("*")), "RDS.8"));
}

#[test]
fn policy_and_findings_round_trip_as_json() {
    let policy: Policy = serde_json::from_str("{}").expect("empty policy");
    assert_eq!(policy, Policy::default());
    let partial: Policy =
        serde_json::from_str(r#"{"objectives":{"az":{"rto_seconds":60,"rpo_seconds":0}}}"#)
            .expect("partial policy");
    assert_eq!(partial.objectives.az.rto_seconds, 60);
    assert_eq!(partial.objectives.region, Objectives::default().region);
    assert!(serde_json::from_str::<Policy>(r#"{"max_key_age":3}"#).is_err());
    let findings = run(&fixture("degraded"));
    let text = serde_json::to_string(&findings).expect("json");
    let back: Vec<Finding> = serde_json::from_str(&text).expect("back");
    assert_eq!(back, findings);
    assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
    assert!("severe".parse::<Severity>().is_err());
}

// ---- Auto Scaling ----------------------------------------------------------------------------

#[test]
fn autoscaling_1_wants_elb_health_checks_behind_a_load_balancer() {
    let f = fails_after("AutoScaling.1", "lab-asg", |t| {
        primary(t).auto_scaling_groups[0].health_check_type = "EC2".into();
    });
    assert_eq!(f.severity, Severity::Low);
    assert_eq!(f.fix_action, None);
}

#[test]
fn autoscaling_2_wants_two_azs() {
    fails_after("AutoScaling.2", "lab-asg", |t| {
        primary(t).auto_scaling_groups[0]
            .availability_zones
            .truncate(1);
    });
}

#[test]
fn sec_asg_public_ip_and_ec2_25_flag_public_ips_from_the_template() {
    let mut lt_id = String::new();
    fails_after("SEC-ASG-PUBLIC-IP", "lab-asg", |t| {
        let lt = &mut primary(t).launch_templates[0];
        lt.versions[0].associate_public_ip = Some(true);
        lt_id = lt.id.clone();
    });
    fails_after("EC2.25", &lt_id, |t| {
        primary(t).launch_templates[0].versions[0].associate_public_ip = Some(true);
    });
}

#[test]
fn autoscaling_9_wants_a_launch_template() {
    fails_after("AutoScaling.9", "lab-asg", |t| {
        let asg = &mut primary(t).auto_scaling_groups[0];
        asg.launch_template = None;
        asg.launch_configuration = Some("lab-lc".into());
    });
}

#[test]
fn ha_asg_grace_flags_zero_and_excessive_grace() {
    let zero = fails_after("HA-ASG-GRACE", "lab-asg", |t| {
        primary(t).auto_scaling_groups[0].health_check_grace_period = Some(0);
    });
    assert_eq!(zero.severity, Severity::Medium);
    let long = fails_after("HA-ASG-GRACE", "lab-asg", |t| {
        primary(t).auto_scaling_groups[0].health_check_grace_period = Some(7200);
    });
    assert_eq!(long.severity, Severity::Low);
}

#[test]
fn ha_asg_cap_wants_one_instance_per_az_at_minimum() {
    fails_after("HA-ASG-CAP", "lab-asg", |t| {
        primary(t).auto_scaling_groups[0].min_size = 1;
    });
}

#[test]
fn ha_asg_alb_az_flags_an_az_the_load_balancer_does_not_serve() {
    fails_after("HA-ASG-ALB-AZ", "lab-asg", |t| {
        primary(t).auto_scaling_groups[0]
            .availability_zones
            .push("ap-northeast-2c".into());
    });
}

#[test]
fn ha_ir_latest_passes_with_a_pinned_version() {
    let mut t = healthy();
    assert!(has(&run(&t), "HA-IR-LATEST", "lab-asg"));
    if let Some(lt) = &mut primary(&mut t).auto_scaling_groups[0].launch_template {
        lt.version = Some("1".into());
    }
    assert!(!any(&run(&t), "HA-IR-LATEST"));
}

// ---- EC2 / VPC -----------------------------------------------------------------------------

#[test]
fn ec2_2_flags_the_default_group_of_every_vpc_as_security_hub_does() {
    let mut t = healthy();
    let r = primary(&mut t);
    let lab_vpc = r
        .vpcs
        .iter()
        .find(|v| !v.is_default)
        .expect("vpc")
        .id
        .clone();
    let default_vpc = r
        .vpcs
        .iter()
        .find(|v| v.is_default)
        .expect("vpc")
        .id
        .clone();
    let sg_of = |r: &RegionTopology, vpc: &str| {
        r.security_groups
            .iter()
            .find(|g| g.name == "default" && g.vpc_id.as_deref() == Some(vpc))
            .expect("default sg")
            .id
            .clone()
    };
    let lab_default = sg_of(r, &lab_vpc);
    let unused_default = sg_of(r, &default_vpc);
    let findings = run(&t);
    assert!(has(&findings, "EC2.2", &lab_default));
    // Security Hub judges the default VPC's group too, used or not.
    assert!(has(&findings, "EC2.2", &unused_default));
    let r = primary(&mut t);
    for g in r.security_groups.iter_mut().filter(|g| g.id == lab_default) {
        g.egress.clear();
    }
    assert!(!has(&run(&t), "EC2.2", &lab_default));
}

#[test]
fn ec2_8_and_ec2_9_judge_running_instances() {
    let t = healthy();
    let id = t.regions[0].instances[0].id.clone();
    fails_after("EC2.8", &id, |t| {
        if let Some(m) = &mut primary(t).instances[0].metadata_options {
            m.http_tokens = Some("optional".into());
        }
    });
    fails_after("EC2.9", &id, |t| {
        primary(t).instances[0].public_ip = Some("3.35.1.1".into());
    });
}

#[test]
fn ec2_13_14_18_19_flag_ports_open_to_the_world() {
    let t = healthy();
    let app = sg_id(&t.regions[0], "lab-app");
    let alb = sg_id(&t.regions[0], "lab-alb");
    // The ALB's 80/443 from anywhere is authorized.
    let lab = run(&t);
    for id in ["EC2.13", "EC2.14", "EC2.18", "EC2.19"] {
        assert!(!has(&lab, id, &alb), "{id}");
    }
    fails_after("EC2.13", &app, |t| {
        sg_mut(primary(t), "lab-app")
            .ingress
            .push(open(22, "0.0.0.0/0"))
    });
    fails_after("EC2.14", &app, |t| {
        sg_mut(primary(t), "lab-app")
            .ingress
            .push(open(3389, "::/0"))
    });
    let risky = fails_after("EC2.19", &app, |t| {
        sg_mut(primary(t), "lab-app")
            .ingress
            .push(open(3306, "::/0"))
    });
    assert!(risky.evidence.contains("3306"));
    // 8443 is neither authorized nor high-risk: EC2.18 only.
    let mut t = healthy();
    sg_mut(primary(&mut t), "lab-alb")
        .ingress
        .push(open(8443, "0.0.0.0/0"));
    let findings = run(&t);
    assert!(has(&findings, "EC2.18", &alb));
    assert!(!has(&findings, "EC2.19", &alb));
    // A narrow CIDR is not "the world".
    let mut t = healthy();
    sg_mut(primary(&mut t), "lab-app")
        .ingress
        .push(open(22, "203.0.113.0/24"));
    assert!(!any(&run(&t), "EC2.13"));
}

#[test]
fn ec2_15_flags_every_subnet_that_maps_public_ips_as_security_hub_does() {
    let t = healthy();
    let public_a = subnet_id(&t.regions[0], "lab-public-a");
    let private_a = subnet_id(&t.regions[0], "lab-private-a");
    let findings = run(&t);
    // The blueprint leaves auto-assign off, public subnets included.
    assert!(!has(&findings, "EC2.15", &public_a));
    assert!(!has(&findings, "EC2.15", &private_a));
    // The default VPC's subnets auto-assign, and Security Hub flags them.
    let default_subnet = t.regions[0]
        .subnets
        .iter()
        .find(|s| s.default_for_az)
        .expect("default subnet")
        .id
        .clone();
    let f = findings
        .iter()
        .find(|f| f.id == "EC2.15" && f.resource.id == default_subnet)
        .expect("default subnet flagged");
    assert!(f.evidence.contains("default subnet"), "{}", f.evidence);
    // A public subnet that auto-assigns fails it too.
    let f = fails_after("EC2.15", &public_a, |t| {
        let r = primary(t);
        let id = subnet_id(r, "lab-public-a");
        for s in r.subnets.iter_mut().filter(|s| s.id == id) {
            s.map_public_ip_on_launch = true;
        }
    });
    assert!(f.evidence.contains("public subnet"), "{}", f.evidence);
}

#[test]
fn ec2_170_wants_imdsv2_in_the_template_in_use() {
    let t = healthy();
    let lt = t.regions[0].launch_templates[0].id.clone();
    fails_after("EC2.170", &lt, |t| {
        if let Some(m) = &mut primary(t).launch_templates[0].versions[0].metadata_options {
            m.http_tokens = Some("optional".into());
        }
    });
}

#[test]
fn ha_nat_az_passes_with_a_nat_per_az_and_fails_on_a_shared_one() {
    assert!(!any(&run(&healthy()), "HA-NAT-AZ"));
    let t = fixture("degraded");
    let private_b = subnet_id(&t.regions[0], "lab-private-b");
    let f = run(&t);
    let nat = f.iter().find(|f| f.id == "HA-NAT-AZ").expect("finding");
    assert_eq!(nat.resource.id, private_b);
    assert_eq!(nat.severity, Severity::High);
}

#[test]
fn sec_chain_wants_app_from_alb_and_db_from_app_on_its_port() {
    let t = healthy();
    assert!(!any(&run(&t), "SEC-CHAIN"));
    let db = sg_id(&t.regions[0], "lab-db");
    let app = sg_id(&t.regions[0], "lab-app");
    fails_after("SEC-CHAIN", &db, |t| {
        sg_mut(primary(t), "lab-db")
            .ingress
            .push(open(3306, "10.0.0.0/16"));
    });
    // From the app tier, but on every port.
    fails_after("SEC-CHAIN", &db, |t| {
        let app = sg_id(primary(t), "lab-app");
        let rule = &mut sg_mut(primary(t), "lab-db").ingress[0];
        rule.peer = RulePeer::SecurityGroup(app);
        rule.protocol = "-1".into();
        rule.from_port = None;
        rule.to_port = None;
    });
    // The app tier reachable from another group than the ALB's.
    fails_after("SEC-CHAIN", &app, |t| {
        let db = sg_id(primary(t), "lab-db");
        let mut rule = open(80, "x");
        rule.peer = RulePeer::SecurityGroup(db);
        sg_mut(primary(t), "lab-app").ingress.push(rule);
    });
}

// ---- Load balancing ------------------------------------------------------------------------

#[test]
fn elb_6_wants_deletion_protection() {
    let mut t = healthy();
    assert!(has(&run(&t), "ELB.6", "lab-alb"));
    primary(&mut t).load_balancers[0]
        .attributes
        .insert("deletion_protection.enabled".into(), "true".into());
    assert!(!any(&run(&t), "ELB.6"));
}

#[test]
fn elb_13_and_ha_alb_az_want_two_azs() {
    let f = fails_after("ELB.13", "lab-alb", |t| {
        primary(t).load_balancers[0].zones.truncate(1);
    });
    assert_eq!(f.resource.kind, ResourceKind::LoadBalancer);
    fails_after("HA-ALB-AZ", "lab-alb", |t| {
        primary(t).load_balancers[0].zones.truncate(1);
    });
}

#[test]
fn ha_tg_open_flags_every_target_unhealthy() {
    let t = healthy();
    let tg = t.regions[0].target_groups[0].name.clone();
    let f = fails_after("HA-TG-OPEN", &tg, |t| {
        for target in &mut primary(t).target_groups[0].targets {
            target.health = TargetHealthState::Unhealthy;
        }
    });
    assert_eq!(f.severity, Severity::Critical);
    // One unhealthy of two is not fail-open.
    let mut t = healthy();
    primary(&mut t).target_groups[0].targets[0].health = TargetHealthState::Unhealthy;
    assert!(!any(&run(&t), "HA-TG-OPEN"));
}

#[test]
fn ha_tg_xz_informs_when_cross_zone_is_off() {
    let t = healthy();
    let tg = t.regions[0].target_groups[0].name.clone();
    let f = fails_after("HA-TG-XZ", &tg, |t| {
        primary(t).target_groups[0]
            .attributes
            .insert("load_balancing.cross_zone.enabled".into(), "false".into());
    });
    assert_eq!(f.severity, Severity::Informational);
}

// ---- RDS -----------------------------------------------------------------------------------

#[test]
fn rds_instance_checks_pass_on_the_lab_writer_and_fail_when_weakened() {
    let lab = run(&healthy());
    for id in ["RDS.2", "RDS.5", "RDS.8", "RDS.11"] {
        assert!(!has(&lab, id, "lab-db"), "{id}");
    }
    let f = fails_after("RDS.2", "lab-db", |t| {
        db_mut(primary(t), "lab-db").publicly_accessible = true
    });
    assert_eq!(f.severity, Severity::Critical);
    fails_after("RDS.5", "lab-db", |t| {
        db_mut(primary(t), "lab-db").multi_az = false
    });
    fails_after("RDS.8", "lab-db", |t| {
        db_mut(primary(t), "lab-db").deletion_protection = false
    });
    fails_after("RDS.11", "lab-db", |t| {
        db_mut(primary(t), "lab-db").backup_retention_days = 1
    });
    // Replicas are judged through their source: single-AZ replicas are not RDS.5.
    assert!(!has(&lab, "RDS.5", "lab-db-replica-1"));
}

fn aurora(t: &mut Topology, readers: &[(&str, &str)], protected: bool) {
    let r = primary(t);
    let template = r.db_instances[0].clone();
    let mut members = vec![DbClusterMember {
        instance_identifier: "aur-1".into(),
        is_writer: true,
        promotion_tier: Some(1),
    }];
    let mut instances = vec![("aur-1", "ap-northeast-2a")];
    for (id, az) in readers {
        members.push(DbClusterMember {
            instance_identifier: (*id).into(),
            is_writer: false,
            promotion_tier: Some(1),
        });
        instances.push((id, az));
    }
    for (id, az) in instances {
        r.db_instances.push(DbInstance {
            identifier: id.into(),
            arn: format!("arn:aws:rds:{PRIMARY}:123456789012:db:{id}"),
            engine: "aurora-mysql".into(),
            multi_az: false,
            availability_zone: Some(az.into()),
            cluster_identifier: Some("aur".into()),
            read_replica_identifiers: Vec::new(),
            read_replica_source: None,
            deletion_protection: false,
            ..template.clone()
        });
    }
    r.db_clusters.push(DbCluster {
        identifier: "aur".into(),
        arn: format!("arn:aws:rds:{PRIMARY}:123456789012:cluster:aur"),
        engine: "aurora-mysql".into(),
        engine_version: None,
        status: "available".into(),
        multi_az: !readers.is_empty(),
        availability_zones: vec!["ap-northeast-2a".into(), "ap-northeast-2b".into()],
        endpoint: None,
        reader_endpoint: None,
        port: Some(3306),
        members,
        storage_encrypted: true,
        backup_retention_days: 7,
        deletion_protection: protected,
        replication_source: None,
        read_replica_identifiers: Vec::new(),
        subnet_group_name: None,
        vpc_security_group_ids: Vec::new(),
        tags: Default::default(),
        security: Default::default(),
    });
}

#[test]
fn cluster_checks_want_protection_multi_az_and_a_replica_elsewhere() {
    let mut good = healthy();
    aurora(&mut good, &[("aur-2", "ap-northeast-2b")], true);
    let findings = run(&good);
    for id in ["RDS.7", "RDS.15", "HA-AUR-REP"] {
        assert!(!has(&findings, id, "aur"), "{id}");
    }
    let mut alone = healthy();
    aurora(&mut alone, &[], false);
    let findings = run(&alone);
    for id in ["RDS.7", "RDS.15", "HA-AUR-REP"] {
        assert!(has(&findings, id, "aur"), "{id}");
    }
    let mut same_az = healthy();
    aurora(&mut same_az, &[("aur-2", "ap-northeast-2a")], true);
    assert!(has(&run(&same_az), "HA-AUR-REP", "aur"));
}

// ---- IAM -----------------------------------------------------------------------------------

#[test]
fn the_lab_account_passes_iam() {
    assert!(!run(&healthy()).iter().any(|f| f.id.starts_with("IAM.")));
}

#[test]
fn root_and_user_checks() {
    fails_after("IAM.4", "root", |t| {
        if let Some(iam) = &mut t.iam {
            iam.account.root_access_keys_present = Some(true);
        }
    });
    fails_after("IAM.9", "root", |t| {
        if let Some(iam) = &mut t.iam {
            iam.account.root_mfa_enabled = Some(false);
        }
    });
    fails_after("IAM.5", "lab-alice", |t| {
        if let Some(iam) = &mut t.iam {
            iam.users[0].mfa_devices.clear();
        }
    });
}

#[test]
fn iam_3_measures_key_age_at_the_policy_time() {
    let t = healthy();
    let later = Policy {
        now: Some(t.taken_at + chrono::Duration::days(70)),
        ..Policy::default()
    };
    assert!(!has(&run(&t), "IAM.3", "lab-alice"));
    assert!(has(&assess(&t, &later), "IAM.3", "lab-alice"));
    let lenient = Policy {
        max_access_key_age_days: 365,
        ..later
    };
    assert!(!has(&assess(&t, &lenient), "IAM.3", "lab-alice"));
}

#[test]
fn password_policy_checks() {
    let all = [
        "IAM.7", "IAM.11", "IAM.12", "IAM.13", "IAM.14", "IAM.15", "IAM.16", "IAM.17",
    ];
    let mut none = healthy();
    if let Some(iam) = &mut none.iam {
        iam.password_policy = None;
    }
    let findings = run(&none);
    for id in all {
        assert!(has(&findings, id, "password-policy"), "{id}");
    }
    type Weaken = fn(&mut PasswordPolicy);
    let cases: [(&str, Weaken); 7] = [
        ("IAM.11", |p| p.require_uppercase = false),
        ("IAM.12", |p| p.require_lowercase = false),
        ("IAM.13", |p| p.require_symbols = false),
        ("IAM.14", |p| p.require_numbers = false),
        ("IAM.15", |p| p.minimum_length = Some(12)),
        ("IAM.16", |p| p.reuse_prevention = Some(5)),
        ("IAM.17", |p| p.max_age_days = None),
    ];
    for (id, weaken) in cases {
        let mut t = healthy();
        if let Some(p) = t.iam.as_mut().and_then(|i| i.password_policy.as_mut()) {
            weaken(p);
        }
        let ids: BTreeSet<String> = run(&t)
            .into_iter()
            .filter(|f| f.id.starts_with("IAM."))
            .map(|f| f.id.into_owned())
            .collect();
        let class = matches!(id, "IAM.11" | "IAM.12" | "IAM.13" | "IAM.14");
        let mut expected: BTreeSet<String> = [id.to_string()].into();
        if class {
            expected.insert("IAM.7".into());
        }
        assert_eq!(ids, expected, "{id}");
    }
    fails_after("IAM.7", "password-policy", |t| {
        if let Some(p) = t.iam.as_mut().and_then(|i| i.password_policy.as_mut()) {
            p.minimum_length = Some(6);
        }
    });
}

// ---- DR ------------------------------------------------------------------------------------

#[test]
fn dr_xr_wants_a_copy_of_every_tier() {
    let lab = run(&healthy());
    assert!(!any(&lab, "DR-XR"));
    let ami = healthy().regions[0].images[0].id.clone();
    fails_after("DR-XR", &ami, |t| dr(t).images.clear());
    fails_after("DR-XR", "lab-db", |t| {
        dr(t).db_instances.clear();
        let db = db_mut(primary(t), "lab-db");
        db.read_replica_identifiers
            .retain(|r| !r.starts_with("arn:"));
    });
    let single = fails_after("DR-XR", PRIMARY, |t| {
        t.regions.retain(|r| r.region == PRIMARY)
    });
    assert_eq!(single.resource.kind, ResourceKind::Region);
}

#[test]
fn dr_xr_names_undiscovered_dr_regions() {
    let policy = Policy {
        dr_regions: vec![DR.into(), "eu-west-1".into()],
        ..Policy::default()
    };
    assert!(has(&assess(&healthy(), &policy), "DR-XR", "eu-west-1"));
}

#[test]
fn dr_kms_wants_the_replica_key_in_the_dr_region() {
    fails_after("DR-KMS", "lab-db", |t| {
        db_mut(dr(t), "lab-db-dr").kms_key_id =
            Some(format!("arn:aws:kms:{PRIMARY}:123456789012:key/1"));
    });
    // No replica and no key known there: the replica to come would have no key.
    fails_after("DR-KMS", "lab-db", |t| {
        dr(t).db_instances.clear();
        db_mut(primary(t), "lab-db")
            .read_replica_identifiers
            .retain(|r| !r.starts_with("arn:"));
    });
}

fn db_copy(t: &mut Topology, age_hours: i64) {
    let taken = t.taken_at;
    dr(t).db_instances.clear();
    db_mut(primary(t), "lab-db")
        .read_replica_identifiers
        .retain(|r| !r.starts_with("arn:"));
    dr(t).db_snapshots.push(DbSnapshot {
        identifier: "lab-db-copy".into(),
        arn: format!("arn:aws:rds:{DR}:123456789012:snapshot:lab-db-copy"),
        instance_identifier: Some("lab-db".into()),
        cluster_identifier: None,
        snapshot_type: "manual".into(),
        status: "available".into(),
        engine: "mysql".into(),
        created_at: Some(taken - chrono::Duration::hours(age_hours)),
        encrypted: true,
        percent_progress: Some(100),
        source_snapshot: Some(format!(
            "arn:aws:rds:{PRIMARY}:123456789012:snapshot:lab-db-manual-1"
        )),
        source_region: Some(PRIMARY.into()),
        tags: Default::default(),
        public: None,
    });
}

#[test]
fn dr_rpo_compares_copy_ages_with_the_region_rpo() {
    // The lab's volume copy holds data from 26 h ago: over the default 4 h, under 48 h.
    let t = healthy();
    let f = run(&t);
    let volume = f.iter().find(|f| f.id == "DR-RPO").expect("DR-RPO");
    assert_eq!(volume.resource.kind, ResourceKind::Volume);
    let mut lenient = Policy::default();
    lenient.objectives.region = Some(Objective {
        rto_seconds: 4 * 3600,
        rpo_seconds: 48 * 3600,
    });
    assert!(!any(&assess(&t, &lenient), "DR-RPO"));
    // A DB protected by snapshot copies only: a fresh copy passes, a stale one fails.
    let mut fresh = healthy();
    db_copy(&mut fresh, 1);
    let findings = run(&fresh);
    assert!(!has(&findings, "DR-RPO", "lab-db"));
    assert!(!has(&findings, "DR-XR", "lab-db"));
    let mut stale = healthy();
    db_copy(&mut stale, 10);
    assert!(has(&run(&stale), "DR-RPO", "lab-db"));
}

#[test]
fn a_pending_copy_does_not_count() {
    // two-regions holds a second, pending copy of the same volume snapshot.
    let t = fixture("two");
    assert!(!any(&run(&t), "DR-XR"));
    let mut t = healthy();
    for s in &mut dr(&mut t).snapshots {
        s.state = "pending".into();
    }
    assert!(
        run(&t)
            .iter()
            .any(|f| f.id == "DR-XR" && f.resource.kind == ResourceKind::Volume)
    );
}

#[test]
fn dr_rr_src_wants_backups_on_a_replica_source() {
    let f = fails_after("DR-RR-SRC", "lab-db", |t| {
        db_mut(primary(t), "lab-db").backup_retention_days = 0;
    });
    assert_eq!(f.category, Category::Dr);
}

// ---- AZ and Region loss --------------------------------------------------------------------

#[test]
fn losing_the_writers_az_fails_over_in_the_healthy_lab() {
    let t = healthy();
    let impact = az_loss(&t, PRIMARY, "ap-northeast-2a");
    assert!(
        impact
            .load_balancers
            .iter()
            .all(|l| l.serves && l.healthy_after == 1)
    );
    assert_eq!(impact.auto_scaling_groups[0].remaining, 1);
    let db = impact
        .databases
        .iter()
        .find(|d| d.identifier == "lab-db")
        .expect("db");
    assert_eq!(
        db.outcome,
        DbOutcome::FailsOver {
            to_az: Some("ap-northeast-2b".into()),
            estimate_seconds: 120
        }
    );
    assert!(impact.nat_egress_lost.is_empty());
    assert_eq!(impact.achievable.rto.seconds, Some(120));
    assert_eq!(impact.achievable.rpo.seconds, Some(0));
}

#[test]
fn losing_az_a_in_the_degraded_lab_loses_the_writer_nat_and_targets() {
    let t = fixture("degraded");
    let impact = az_loss(&t, PRIMARY, "ap-northeast-2a");
    assert!(impact.load_balancers.iter().all(|l| !l.serves));
    let db = impact
        .databases
        .iter()
        .find(|d| d.identifier == "lab-db")
        .expect("db");
    assert!(
        matches!(&db.outcome, DbOutcome::Lost { promotable_replicas, backups: true, .. } if promotable_replicas == &["lab-db-replica-1".to_string()])
    );
    let private_b = subnet_id(&t.regions[0], "lab-private-b");
    assert_eq!(impact.nat_egress_lost.len(), 1);
    assert_eq!(impact.nat_egress_lost[0].subnet_id, private_b);
    assert_eq!(impact.achievable.rto.seconds, None);
    let report = resilience(&t, &Policy::default());
    let az = report
        .comparisons
        .iter()
        .find(|c| c.disruption == Disruption::Az)
        .expect("az");
    assert_eq!(az.scope, "ap-northeast-2a");
    assert_eq!(az.rto_met, None);
    assert_eq!(az.rpo_met, Some(true));
    let healthy_report = resilience(&healthy(), &Policy::default());
    let az = healthy_report
        .comparisons
        .iter()
        .find(|c| c.disruption == Disruption::Az)
        .expect("az");
    assert_eq!((az.rto_met, az.rpo_met), (Some(true), Some(true)));
}

#[test]
fn aurora_fails_over_to_a_reader_or_recreates_the_writer() {
    let mut with = healthy();
    aurora(&mut with, &[("aur-2", "ap-northeast-2b")], true);
    let impact = az_loss(&with, PRIMARY, "ap-northeast-2a");
    let aur = impact
        .databases
        .iter()
        .find(|d| d.identifier == "aur")
        .expect("aur");
    assert_eq!(
        aur.outcome,
        DbOutcome::FailsOver {
            to_az: Some("ap-northeast-2b".into()),
            estimate_seconds: 60
        }
    );
    let mut without = healthy();
    aurora(&mut without, &[], true);
    let impact = az_loss(&without, PRIMARY, "ap-northeast-2a");
    let aur = impact
        .databases
        .iter()
        .find(|d| d.identifier == "aur")
        .expect("aur");
    assert_eq!(
        aur.outcome,
        DbOutcome::Recreated {
            estimate_seconds: 600
        }
    );
}

#[test]
fn losing_the_primary_region_lists_what_the_dr_region_can_serve() {
    let t = healthy();
    let impact = region_loss(&t, PRIMARY);
    assert_eq!(impact.dr_region.as_deref(), Some(DR));
    assert_eq!(impact.replicas_to_promote, vec!["lab-db-dr".to_string()]);
    assert_eq!(impact.image_copies.len(), 1);
    assert!(
        impact
            .missing
            .iter()
            .any(|(tier, _)| *tier == DrTier::Compute)
    );
    assert!(
        !impact
            .missing
            .iter()
            .any(|(tier, _)| *tier == DrTier::Database)
    );
    assert!(impact.achievable.rto.seconds.is_some());
    let mut single = healthy();
    single.regions.retain(|r| r.region == PRIMARY);
    let alone = region_loss(&single, PRIMARY);
    assert_eq!(alone.dr_region, None);
    assert_eq!(alone.achievable.rto.seconds, None);
}

#[test]
fn every_fix_action_is_a_haven_action_or_replicate() {
    for check in super::catalogue::catalogue() {
        if let Some(action) = check.fix_action {
            assert!(
                action == "replicate" || crate::action::ActionKind::NAMES.contains(&action),
                "{}: {action} is not a haven action",
                check.id
            );
        }
    }
}

/// With CloudWatch's ReplicaLag read, the achievable RPO is what promoting loses: the lag.
#[test]
fn the_measured_replica_lag_is_the_rpo_of_promoting_it() {
    let mut signals = crate::signals::Signals::default();
    let at = healthy().taken_at;
    let lag = |seconds: f64| vec![crate::signals::Point { at, value: seconds }];
    let key = |region: &str, db: &str| {
        crate::signals::SeriesKey::new(region, db, crate::signals::Metric::ReplicaLag)
    };
    signals.series.insert(key(DR, "lab-db-dr"), lag(42.0));
    signals
        .series
        .insert(key(PRIMARY, "lab-db-replica-1"), lag(7.0));

    // Region loss: the DR replica's lag, instead of "not measured".
    let mut t = healthy();
    let before = region_loss(&t, PRIMARY);
    assert!(
        before
            .achievable
            .rpo
            .basis
            .iter()
            .any(|b| b.contains("replica lag not measured")),
        "{:?}",
        before.achievable.rpo.basis
    );
    crate::signals::annotate(&mut t, &signals);
    let after = region_loss(&t, PRIMARY);
    // (The Region's RPO is the worst part: the EBS snapshot copies, a day old here.)
    assert!(
        after
            .achievable
            .rpo
            .basis
            .iter()
            .any(|b| b.contains("lab-db: replica lag measured at 42s")),
        "{:?}",
        after.achievable.rpo.basis
    );

    // The DR view's replica row shows it against the RPO.
    let policy = Policy::default();
    let dr = crate::dr::status(&t, &policy.dr(&t).expect("a DR policy"));
    let row = dr
        .rows
        .iter()
        .find(|r| r.usable.as_deref() == Some("lab-db-dr"))
        .expect("the replica row");
    assert_eq!(row.lag_seconds, Some(42));
    assert!(
        row.age_text().starts_with("lag 42s / RPO"),
        "{}",
        row.age_text()
    );

    // AZ loss of a Single-AZ writer: promoting the in-Region replica loses 7 s, better than
    // a point-in-time restore.
    let mut degraded = fixture("degraded");
    crate::signals::annotate(&mut degraded, &signals);
    let impact = az_loss(&degraded, PRIMARY, "ap-northeast-2a");
    assert_eq!(impact.achievable.rpo.seconds, Some(7));
    assert!(
        impact
            .achievable
            .rpo
            .basis
            .iter()
            .any(|b| b.contains("promote; replica lag measured at 7s")),
        "{:?}",
        impact.achievable.rpo.basis
    );
}
