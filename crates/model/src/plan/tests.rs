use super::*;
use crate::blueprint::{self, Ipv4Cidr, NatMode};
use crate::topology::ElasticIp;

const LAB: &str = include_str!("../../../../assets/blueprints/lab.toml");
const HEALTHY: &str = include_str!("../../../../assets/fixtures/lab-healthy.json");

fn lab_blueprint() -> Blueprint {
    blueprint::parse(LAB, "lab.toml", &|_| true).expect("lab.toml")
}

fn cidr(text: &str) -> Ipv4Cidr {
    Ipv4Cidr::parse(text).expect("CIDR")
}

fn tag(tags: &mut Tags, logical: &str) {
    tags.insert(STACK_TAG.into(), "lab".into());
    tags.insert(LOGICAL_TAG.into(), logical.into());
}

/// The healthy lab fixture as haven would have built it: tagged, named by convention.
pub(super) fn tagged_lab() -> (Blueprint, Topology) {
    let mut topology = Topology::from_json(HEALTHY).expect("fixture");
    let region = topology
        .regions
        .iter_mut()
        .find(|r| r.region == "ap-northeast-2")
        .expect("primary");
    let logical_by_name = |name: &str| -> Option<String> {
        Some(
            match name {
                "lab-vpc" => "vpc",
                "lab-igw" => "igw",
                "lab-public-a" => "public-ap-northeast-2a",
                "lab-public-b" => "public-ap-northeast-2b",
                "lab-private-a" => "private-ap-northeast-2a",
                "lab-private-b" => "private-ap-northeast-2b",
                "lab-public-rt" => "public-rt",
                "lab-private-rt-a" => "private-rt-ap-northeast-2a",
                "lab-private-rt-b" => "private-rt-ap-northeast-2b",
                "lab-nat-a" => "nat-ap-northeast-2a",
                "lab-nat-b" => "nat-ap-northeast-2b",
                "lab-alb" => "alb-sg",
                "lab-app" => "app-sg",
                "lab-db" => "db",
                "lab-db-replica-1" => "lab-db-replica-1",
                _ => return None,
            }
            .to_string(),
        )
    };
    macro_rules! tag_all {
        ($items:expr) => {
            for item in $items.iter_mut() {
                if let Some(logical) = name_tag(&item.tags).and_then(logical_by_name) {
                    tag(&mut item.tags, &logical);
                }
            }
        };
    }
    tag_all!(region.vpcs);
    tag_all!(region.internet_gateways);
    tag_all!(region.subnets);
    tag_all!(region.route_tables);
    tag_all!(region.nat_gateways);
    tag_all!(region.db_instances);
    // haven allocates each NAT gateway's Elastic IP itself, tagged like the NAT.
    let eips: Vec<ElasticIp> = region
        .nat_gateways
        .iter()
        .filter_map(|nat| {
            let logical = nat.tags.get(LOGICAL_TAG)?.replacen("nat-", "nat-eip-", 1);
            let mut tags = Tags::new();
            tag(&mut tags, &logical);
            Some(ElasticIp {
                allocation_id: format!("eipalloc-{}", &nat.id[4..]),
                public_ip: nat.public_ips.first()?.clone(),
                association_id: None,
                instance_id: None,
                network_interface_id: None,
                tags,
            })
        })
        .collect();
    region.elastic_ips = eips;
    for group in region.security_groups.iter_mut() {
        if let Some(logical) = name_tag(&group.tags).and_then(logical_by_name) {
            let logical = if logical == "db" {
                "db-sg".into()
            } else {
                logical
            };
            tag(&mut group.tags, &logical);
        }
    }
    tag(&mut region.auto_scaling_groups[0].tags, "asg");
    tag(&mut region.launch_templates[0].tags, "launch-template");
    region.target_groups[0].name = "lab-tg".into();
    let iam = topology.iam.as_mut().expect("IAM");
    iam.roles[0].arn = "arn:aws:iam::123456789012:role/haven/lab/lab-ec2-role".into();
    iam.instance_profiles[0].arn =
        "arn:aws:iam::123456789012:instance-profile/haven/lab/lab-ec2-profile".into();

    let mut blueprint = lab_blueprint();
    blueprint.network.public_subnets = vec![cidr("10.0.0.0/24"), cidr("10.0.1.0/24")];
    blueprint.network.private_subnets = vec![cidr("10.0.10.0/24"), cidr("10.0.11.0/24")];
    blueprint.network.s3_gateway_endpoint = false;
    blueprint.iam.instance_role = "lab-ec2-role".into();
    blueprint.iam.instance_profile = "lab-ec2-profile".into();
    blueprint.iam.operators = None;
    blueprint.iam.password_policy = None;
    // The fixture's database is protected; the lab blueprint leaves protection off.
    blueprint.database.deletion_protection = true;
    (blueprint, topology)
}

fn assert_ordered(plan: &Plan) {
    for (i, step) in plan.steps.iter().enumerate() {
        for dependency in &step.depends_on {
            let before = plan.steps[..i].iter().any(|s| s.resource == *dependency);
            assert!(
                before,
                "{} depends on {dependency}, not earlier",
                step.resource
            );
        }
    }
}

#[test]
fn nothing_exists_so_everything_is_created_in_dependency_order() {
    let blueprint = lab_blueprint();
    let plan = plan(&blueprint, &Topology::new(chrono::Utc::now()));
    assert_ordered(&plan);
    assert_eq!(plan.count(Op::Create), plan.steps.len());
    // VPC, IGW, 4 subnets, 2 EIPs, 2 NATs, 3 route tables, S3 endpoint, 3 SGs, role, profile,
    // group, user, password policy, LT, TG, ALB, listener, ASG, policy, DB subnet group, DB,
    // replica.
    assert_eq!(plan.steps.len(), 31, "{:#?}", plan.steps);
    let first = &plan.steps[0];
    assert_eq!(first.resource, r(ResourceKind::Vpc, "vpc"));
    let replica = plan
        .step(ResourceKind::DbReadReplica, "lab-db-replica-1")
        .expect("replica step");
    assert_eq!(replica.depends_on, vec![r(ResourceKind::DbInstance, "db")]);
}

#[test]
fn the_built_lab_is_matched_by_its_tags_and_drift_is_shown() {
    let (blueprint, topology) = tagged_lab();
    let plan = plan(&blueprint, &topology);
    assert_ordered(&plan);
    let op = |kind, logical: &str| plan.step(kind, logical).map(|s| s.op);
    use ResourceKind::*;
    for (kind, logical) in [
        (Vpc, "vpc"),
        (InternetGateway, "igw"),
        (Subnet, "private-ap-northeast-2b"),
        (NatGateway, "nat-ap-northeast-2a"),
        (RouteTable, "private-rt-ap-northeast-2b"),
        (SecurityGroup, "app-sg"),
        (SecurityGroup, "db-sg"),
        (DbInstance, "db"),
        (IamRole, "lab-ec2-role"),
        (InstanceProfile, "lab-ec2-profile"),
        (LoadBalancer, "load-balancer"),
    ] {
        assert_eq!(op(kind, logical), Some(Op::Unchanged), "{kind}/{logical}");
    }
    // The fixture's ALB group also allows 443, which the blueprint does not.
    let alb = plan.step(SecurityGroup, "alb-sg").expect("alb-sg");
    assert_eq!(alb.op, Op::Update);
    assert!(
        alb.detail
            .contains("ingress tcp 443 from 0.0.0.0/0 was added outside haven"),
        "{}",
        alb.detail
    );
    // Health check: the fixture checks every 10 s with thresholds 2/2.
    let tg = plan
        .step(TargetGroup, "target-group")
        .expect("target group");
    assert_eq!(tg.op, Op::Update);
    assert!(
        tg.detail.contains("health-check interval 10 → 15"),
        "{}",
        tg.detail
    );
    assert!(
        tg.detail.contains("healthy threshold 2 → 3"),
        "{}",
        tg.detail
    );
    // The fixture's template differs from the blueprint: a new version, and the group moves to it.
    let asg = plan.step(AutoScalingGroup, "asg").expect("asg");
    assert_eq!(asg.detail, "use the new launch template version");
    assert_eq!(plan.count(Op::Delete), 0, "{:#?}", plan.steps);
}

#[test]
fn capacity_class_and_rules_changed_by_hand_are_drift() {
    let (blueprint, mut topology) = tagged_lab();
    let region = &mut topology.regions[0];
    region.auto_scaling_groups[0].min_size = 1;
    let app = region
        .security_groups
        .iter_mut()
        .find(|g| g.name == "lab-app")
        .expect("app SG");
    app.ingress.push(SecurityGroupRule {
        protocol: "tcp".into(),
        from_port: Some(22),
        to_port: Some(22),
        peer: RulePeer::Cidr("0.0.0.0/0".into()),
        description: None,
    });
    let db = region
        .db_instances
        .iter_mut()
        .find(|d| d.identifier == "lab-db")
        .expect("db");
    db.class = "db.t3.small".into();
    db.multi_az = false;
    let plan = plan(&blueprint, &topology);
    let detail = |kind, logical: &str| {
        let step = plan.step(kind, logical).expect("step");
        assert_eq!(step.op, Op::Update, "{kind}/{logical}");
        step.detail.clone()
    };
    // The fixture's template differs from the blueprint too, so the group moves to its new version.
    assert_eq!(
        detail(ResourceKind::AutoScalingGroup, "asg"),
        "min size 1 → 2 (changed outside haven); use the new launch template version"
    );
    assert_eq!(
        detail(ResourceKind::SecurityGroup, "app-sg"),
        "ingress tcp 22 from 0.0.0.0/0 was added outside haven: revoke it"
    );
    let db = detail(ResourceKind::DbInstance, "db");
    assert!(db.contains("class db.t3.small → db.t3.micro"), "{db}");
    assert!(db.contains("Multi-AZ false → true"), "{db}");
}

#[test]
fn resources_the_blueprint_dropped_are_deleted() {
    let (mut blueprint, topology) = tagged_lab();
    blueprint.network.nat = NatMode::Single;
    blueprint.database.read_replicas.clear();
    let plan = plan(&blueprint, &topology);
    let deleted: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| s.op == Op::Delete)
        .map(|s| s.resource.to_string())
        .collect();
    for wanted in [
        "db-read-replica/lab-db-replica-1",
        "nat-gateway/nat-ap-northeast-2b",
        "elastic-ip/nat-eip-ap-northeast-2b",
        "route-table/private-rt-ap-northeast-2b",
    ] {
        assert!(
            deleted.iter().any(|d| d == wanted),
            "{wanted} in {deleted:?}"
        );
    }
    assert!(!deleted.iter().any(|d| d.contains("nat-ap-northeast-2a")));
    assert_eq!(
        plan.step(ResourceKind::RouteTable, "private-rt")
            .map(|s| s.op),
        Some(Op::Create)
    );
}

#[test]
fn teardown_goes_in_reverse_dependency_order() {
    let (_, topology) = tagged_lab();
    let plan = teardown(&topology, "lab");
    assert!(plan.steps.iter().all(|s| s.op == Op::Delete));
    assert_ordered(&plan);
    let position = |kind: ResourceKind, logical: &str| {
        plan.steps
            .iter()
            .position(|s| s.resource.kind == kind && s.resource.logical == logical)
            .unwrap_or_else(|| panic!("no {kind}/{logical} in {:#?}", plan.steps))
    };
    use ResourceKind::*;
    let order = [
        position(DbReadReplica, "lab-db-replica-1"),
        position(DbInstance, "db"),
        position(TargetRegistration, "target-group"),
        position(AutoScalingGroup, "asg"),
        position(Listener, "listener-80"),
        position(LoadBalancer, "load-balancer"),
        position(TargetGroup, "target-group"),
        position(NatGateway, "nat-ap-northeast-2a"),
        position(ElasticIp, "nat-eip-ap-northeast-2a"),
        position(RouteTableAssociation, "public-rt/subnet-04cd372f7883b1061"),
        position(RouteTable, "public-rt"),
        position(IgwAttachment, "igw"),
        position(InternetGateway, "igw"),
        position(Subnet, "public-ap-northeast-2a"),
        position(SecurityGroupReferences, "app-sg"),
        position(SecurityGroup, "alb-sg"),
        position(Vpc, "vpc"),
        position(InstanceProfile, "lab-ec2-profile"),
        position(IamRole, "lab-ec2-role"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    // Nothing untagged: the default VPC, the other Region's resources, the operators group.
    assert!(
        !plan
            .steps
            .iter()
            .any(|s| s.id.as_deref() == Some("vpc-04d025788b2d70570"))
    );
    assert!(!plan.steps.iter().any(|s| s.resource.kind == IamGroup));
    assert!(teardown(&topology, "other").steps.is_empty());
}

#[test]
fn a_hand_built_stack_without_load_balancer_tears_down_cleanly() {
    let mut topology = Topology::new(chrono::Utc::now());
    let mut region = RegionTopology {
        region: "us-east-1".into(),
        ..RegionTopology::default()
    };
    region.vpcs.push(crate::topology::Vpc {
        id: "vpc-1".into(),
        cidr_block: "10.0.0.0/16".into(),
        is_default: false,
        state: "available".into(),
        tags: haven_tags("lab", "vpc", "lab-vpc"),
    });
    region.security_groups.push(SecurityGroup {
        id: "sg-default".into(),
        name: "default".into(),
        description: String::new(),
        vpc_id: Some("vpc-1".into()),
        ingress: vec![],
        egress: vec![],
        tags: haven_tags("lab", "default", "default"),
    });
    topology.regions.push(region);
    let plan = teardown(&topology, "lab");
    assert_eq!(plan.steps.len(), 1, "{:#?}", plan.steps);
    assert_eq!(plan.steps[0].resource, r(ResourceKind::Vpc, "vpc"));
    assert_eq!(plan.steps[0].region.as_deref(), Some("us-east-1"));
}

#[test]
fn an_adopted_promoted_replica_is_the_database_and_never_deleted() {
    let (mut blueprint, mut topology) = tagged_lab();
    let region = &mut topology.regions[0];
    let db = region
        .db_instances
        .iter_mut()
        .find(|d| d.identifier == "lab-db")
        .expect("db");
    // A promoted replica: another identifier, still naming its old source.
    db.identifier = "lab-db-us-east-1".into();
    db.read_replica_source = Some("arn:aws:rds:ap-northeast-2:123456789012:db:lab-db".into());
    blueprint.database.adopt = Some("lab-db-us-east-1".into());
    let plan = plan(&blueprint, &topology);
    let step = plan.step(ResourceKind::DbInstance, "db").expect("db step");
    assert_eq!(step.id.as_deref(), Some("lab-db-us-east-1"));
    assert!(
        !plan
            .steps
            .iter()
            .any(|s| s.op == Op::Delete && s.resource.logical == "db"),
        "{:#?}",
        plan.steps
    );
}

fn asg_detail(plan: &Plan) -> (Op, String) {
    let step = plan
        .step(ResourceKind::AutoScalingGroup, "asg")
        .expect("asg");
    (step.op, step.detail.clone())
}

#[test]
fn b6_desired_capacity_set_by_the_scaling_policy_is_left_alone() {
    let (blueprint, mut topology) = tagged_lab();
    assert!(
        blueprint.auto_scaling.cpu_target.is_some(),
        "the lab scales on CPU"
    );
    // The policy scaled the group out under load.
    let group = &mut topology.regions[0].auto_scaling_groups[0];
    group.desired_capacity = 3;
    let (_, detail) = asg_detail(&plan(&blueprint, &topology));
    assert!(!detail.contains("desired"), "{detail}");
    // A new group gets the blueprint's desired capacity, once.
    let (op, detail) = asg_detail(&plan(&blueprint, &Topology::new(chrono::Utc::now())));
    assert_eq!(op, Op::Create);
    assert!(
        detail.ends_with("; desired is set now, then left to the scaling policy"),
        "{detail}"
    );

    // Min and max still converge, and the plan says what Auto Scaling does to the desired
    // capacity the new bounds leave outside.
    let group = &mut topology.regions[0].auto_scaling_groups[0];
    group.desired_capacity = 6;
    group.max_size = 8;
    let (op, detail) = asg_detail(&plan(&blueprint, &topology));
    assert_eq!(op, Op::Update);
    assert!(
        detail.contains("max size 8 → 4 (changed outside haven)"),
        "{detail}"
    );
    assert!(
        detail.contains(
            "desired capacity 6 is above the new max 4: Auto Scaling lowers it to 4 and \
             terminates the difference"
        ),
        "{detail}"
    );

    // A group with no policy, from a blueprint with none, is held to the blueprint's desired.
    let mut manual = blueprint.clone();
    manual.auto_scaling.cpu_target = None;
    let group = &mut topology.regions[0].auto_scaling_groups[0];
    group.policies.clear();
    group.max_size = 4;
    group.desired_capacity = 3;
    assert!(!desired_follows_policy(&manual, Some(group)));
    let (_, detail) = asg_detail(&plan(&manual, &topology));
    assert!(
        detail.contains("desired capacity 3 → 2 (changed outside haven)"),
        "{detail}"
    );
}

#[test]
fn b8_a_class_change_says_it_means_a_failover_or_a_reboot() {
    let (blueprint, mut topology) = tagged_lab();
    let db = topology.regions[0]
        .db_instances
        .iter_mut()
        .find(|d| d.identifier == "lab-db")
        .expect("db");
    db.class = "db.t3.small".into();
    db.multi_az = true;
    let plan = plan(&blueprint, &topology);
    let detail = &plan
        .step(ResourceKind::DbInstance, "db")
        .expect("db")
        .detail;
    assert!(
        detail.contains("class db.t3.small → db.t3.micro")
            && detail.contains("applied at once: a Multi-AZ failover"),
        "{detail}"
    );
}

#[test]
fn the_group_launches_only_once_the_private_routes_exist() {
    let (blueprint, topology) = tagged_lab();
    let plan = plan(&blueprint, &topology);
    let depends = &plan
        .step(ResourceKind::AutoScalingGroup, "asg")
        .expect("asg")
        .depends_on;
    for az in &blueprint.network.azs {
        assert!(
            depends.contains(&r(ResourceKind::RouteTable, &format!("private-rt-{az}"))),
            "{depends:?}"
        );
    }
    // Every dependency comes earlier in the plan, so the plan's order is one valid order.
    for (index, step) in plan.steps.iter().enumerate() {
        for dep in &step.depends_on {
            if let Some(at) = plan.steps.iter().position(|s| s.resource == *dep) {
                assert!(at < index, "{} depends on the later {dep}", step.resource);
            }
        }
    }
    assert_eq!(
        typical_duration(ResourceKind::DbInstance, Op::Create),
        Some(crate::wait::Typical::DbCreate)
    );
}

fn with_front_door(mut blueprint: Blueprint) -> Blueprint {
    let text = format!(
        "{LAB}\n[dns]\nzone = \"example.com\"\ncreate_zone = true\nrecord = \
         \"lab.example.com\"\n\n[https]\n"
    );
    let parsed = blueprint::parse(&text, "lab.toml", &|_| true).expect("front door");
    blueprint.dns = parsed.dns;
    blueprint.https = parsed.https;
    blueprint
}

#[test]
fn the_front_door_is_planned_after_what_it_needs() {
    let blueprint = with_front_door(lab_blueprint());
    let plan = plan(&blueprint, &Topology::new(chrono::Utc::now()));
    assert_ordered(&plan);
    assert_eq!(plan.count(Op::Create), plan.steps.len());
    use ResourceKind::*;
    for (kind, logical) in [
        (HostedZone, "hosted-zone"),
        (Certificate, "certificate-ap-northeast-2"),
        (ValidationRecord, "certificate-validation-ap-northeast-2"),
        (Listener, "listener-443"),
        (DnsHealthCheck, "health-check-ap-northeast-2"),
        (DnsRecord, "record-ap-northeast-2"),
    ] {
        assert!(plan.step(kind, logical).is_some(), "{kind}/{logical}");
    }
    let record = plan
        .step(DnsRecord, "record-ap-northeast-2")
        .expect("record");
    assert!(
        record.detail.contains("failover PRIMARY"),
        "{}",
        record.detail
    );
    assert_eq!(record.region.as_deref(), Some("ap-northeast-2"));
    let redirect = plan.step(Listener, "listener-80").expect("HTTP listener");
    assert!(
        redirect.detail.contains("301 redirect to HTTPS:443"),
        "{}",
        redirect.detail
    );
    assert!(redirect.depends_on.contains(&r(Listener, "listener-443")));
    let check = plan
        .step(DnsHealthCheck, "health-check-ap-northeast-2")
        .expect("check");
    assert!(check.detail.starts_with("HTTPS :443/"), "{}", check.detail);
    // Without the sections: none of it.
    let plain = plan_of_lab();
    assert!(plain.step(HostedZone, "hosted-zone").is_none());
}

fn plan_of_lab() -> Plan {
    plan(&lab_blueprint(), &Topology::new(chrono::Utc::now()))
}

/// The built lab with its front door as `haven up` leaves it; the DR Region has a load balancer
/// of the stack too (a failover built it there) when `dr_lb`.
fn front_door_built(dr_lb: bool) -> (Blueprint, Topology) {
    use crate::topology::{
        AliasTarget, Certificate, CertificateValidation, Dns, DnsHealthCheck, DnsRecord,
        HostedZone, Listener, ListenerAction, WeightedTargetGroup,
    };
    let (blueprint, mut topology) = tagged_lab();
    let blueprint = with_front_door(blueprint);
    let mut dns = Dns::default();
    let mut zone_tags = Tags::new();
    tag(&mut zone_tags, "hosted-zone");
    let mut zone = HostedZone {
        id: "Z1".into(),
        name: "example.com.".into(),
        tags: zone_tags,
        ..HostedZone::default()
    };
    for (t, name) in [("NS", "example.com."), ("SOA", "example.com.")] {
        zone.records.push(DnsRecord {
            name: name.into(),
            record_type: t.into(),
            values: vec!["x".into()],
            ..DnsRecord::default()
        });
    }
    let home = topology.region("ap-northeast-2").expect("primary");
    let home_lb = home.load_balancers[0].clone();
    let home_vpc = home
        .vpcs
        .iter()
        .find(|v| v.tags.get(LOGICAL_TAG).map(String::as_str) == Some("vpc"))
        .expect("vpc")
        .clone();
    let mut regions = vec!["ap-northeast-2"];
    if dr_lb {
        regions.push("us-east-1");
    }
    for (i, region) in regions.iter().enumerate() {
        let rt = topology
            .regions
            .iter_mut()
            .find(|r| r.region == *region)
            .expect("region");
        if i > 0 {
            let mut lb = home_lb.clone();
            lb.dns_name = Some(format!("lab-alb-1.{region}.elb.amazonaws.com"));
            lb.vpc_id = Some("vpc-dr".into());
            lb.listeners.clear();
            rt.load_balancers = vec![lb];
            let mut vpc = home_vpc.clone();
            vpc.id = "vpc-dr".into();
            rt.vpcs.push(vpc);
        }
        let lb_dns = rt.load_balancers[0].dns_name.clone().expect("dns name");
        let mut hc_tags = Tags::new();
        tag(&mut hc_tags, &format!("health-check-{region}"));
        dns.health_checks.push(DnsHealthCheck {
            id: format!("hc-{i}"),
            check_type: "HTTPS".into(),
            fqdn: Some(lb_dns.clone()),
            port: Some(443),
            resource_path: Some(blueprint.load_balancer.health_check.path.clone()),
            request_interval: Some(30),
            failure_threshold: Some(3),
            tags: hc_tags,
            ..DnsHealthCheck::default()
        });
        zone.records.push(DnsRecord {
            name: "lab.example.com.".into(),
            record_type: "A".into(),
            set_identifier: Some(format!("lab-{region}")),
            failover: Some(if i == 0 { "SECONDARY" } else { "PRIMARY" }.into()),
            alias: Some(AliasTarget {
                hosted_zone_id: "ZALB".into(),
                dns_name: format!("dualstack.{lb_dns}."),
                evaluate_target_health: true,
            }),
            health_check_id: Some(format!("hc-{i}")),
            ..DnsRecord::default()
        });
        let mut cert_tags = Tags::new();
        tag(&mut cert_tags, &format!("certificate-{region}"));
        let validation = format!("_abc{i}.lab.example.com.");
        rt.certificates.push(Certificate {
            arn: format!("arn:aws:acm:{region}:123456789012:certificate/c{i}"),
            domain_name: "lab.example.com".into(),
            status: "ISSUED".into(),
            validations: vec![CertificateValidation {
                domain_name: "lab.example.com".into(),
                status: Some("SUCCESS".into()),
                method: Some("DNS".into()),
                record_name: Some(validation.clone()),
                record_value: Some(format!("_v{i}.acm-validations.aws.")),
            }],
            tags: cert_tags,
            ..Certificate::default()
        });
        zone.records.push(DnsRecord {
            name: validation,
            record_type: "CNAME".into(),
            ttl: Some(300),
            values: vec![format!("_v{i}.acm-validations.aws.")],
            ..DnsRecord::default()
        });
        if i == 0 {
            let tg = rt.target_groups[0].arn.clone();
            let lb = &mut rt.load_balancers[0];
            lb.listeners[0].default_actions = vec![ListenerAction::Redirect {
                protocol: Some("HTTPS".into()),
                port: Some("443".into()),
                status_code: Some("HTTP_301".into()),
            }];
            lb.listeners.push(Listener {
                arn: "arn:listener-443".into(),
                port: Some(443),
                protocol: Some("HTTPS".into()),
                default_actions: vec![ListenerAction::Forward {
                    target_groups: vec![WeightedTargetGroup {
                        arn: tg,
                        weight: None,
                    }],
                }],
                certificates: vec![format!(
                    "arn:aws:acm:{region}:123456789012:certificate/c{i}"
                )],
                ssl_policy: Some(blueprint.https.as_ref().expect("https").tls_policy.clone()),
            });
        }
    }
    dns.hosted_zones.push(zone);
    topology.dns = Some(dns);
    (blueprint, topology)
}

#[test]
fn the_built_front_door_is_unchanged_and_roles_are_left_alone() {
    let (blueprint, topology) = front_door_built(true);
    let plan = plan(&blueprint, &topology);
    let changed: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| s.op != Op::Unchanged)
        .filter(|s| {
            use ResourceKind::*;
            matches!(
                s.resource.kind,
                HostedZone | DnsRecord | DnsHealthCheck | Certificate | ValidationRecord | Listener
            )
        })
        .map(|s| format!("{} {}: {}", s.op, s.resource, s.detail))
        .collect();
    // The failover made us-east-1 PRIMARY: the plan does not put ap-northeast-2 back.
    assert!(changed.is_empty(), "{changed:#?}");
    use ResourceKind::*;
    assert!(plan.step(DnsRecord, "record-us-east-1").is_some());
    assert!(plan.step(Certificate, "certificate-us-east-1").is_some());
    assert!(plan.step(Listener, "listener-443").is_some());
}

#[test]
fn front_door_drift_is_corrected() {
    let (blueprint, mut topology) = front_door_built(false);
    let dns = topology.dns.as_mut().expect("dns");
    dns.health_checks[0].resource_path = Some("/other".into());
    let record = dns.hosted_zones[0]
        .records
        .iter_mut()
        .find(|r| r.set_identifier.is_some())
        .expect("record");
    record.health_check_id = None;
    if let Some(alias) = record.alias.as_mut() {
        alias.evaluate_target_health = false;
    }
    let plan = plan(&blueprint, &topology);
    use ResourceKind::*;
    let check = plan
        .step(DnsHealthCheck, "health-check-ap-northeast-2")
        .expect("check");
    assert_eq!(check.op, Op::Update);
    assert!(check.detail.contains("path /other"), "{}", check.detail);
    let record = plan
        .step(DnsRecord, "record-ap-northeast-2")
        .expect("record");
    assert_eq!(record.op, Op::Update);
    assert!(
        record.detail.contains("health check none → hc-0"),
        "{}",
        record.detail
    );
    assert!(
        record.detail.contains("evaluate target health"),
        "{}",
        record.detail
    );
    // Dropping [https] deletes the certificate, its CNAME and the listener, not the record.
    let mut plain = blueprint.clone();
    plain.https = None;
    let plan = super::plan(&plain, &topology);
    let deletes: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| s.op == Op::Delete)
        .map(|s| s.resource.to_string())
        .collect();
    assert_eq!(
        deletes,
        vec![
            "listener/listener-443",
            "certificate/certificate-ap-northeast-2",
            "validation-record/certificate-validation-ap-northeast-2"
        ]
    );
}

#[test]
fn teardown_removes_the_front_door_and_the_zone_last() {
    let (_, topology) = front_door_built(true);
    let plan = teardown(&topology, "lab");
    let kinds: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| {
            use ResourceKind::*;
            matches!(
                s.resource.kind,
                HostedZone | DnsRecord | DnsHealthCheck | Certificate | ValidationRecord
            ) || s.resource.logical == "listener-443"
        })
        .map(|s| s.resource.to_string())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "dns-record/record-ap-northeast-2",
            "dns-health-check/health-check-ap-northeast-2",
            "dns-record/record-us-east-1",
            "dns-health-check/health-check-us-east-1",
            "listener/listener-443",
            "certificate/certificate-ap-northeast-2",
            "certificate/certificate-us-east-1",
            "validation-record/certificate-validation-ap-northeast-2",
            "validation-record/certificate-validation-us-east-1",
            "hosted-zone/hosted-zone",
        ]
    );
}

#[test]
fn the_lab_database_is_created_meeting_the_cheap_rds_controls() {
    // Issue 21: what the create call sets (crates/aws/src/apply/database.rs), as the plan says it.
    let blueprint = lab_blueprint();
    assert_eq!(blueprint.database.master_username, "dbadmin", "RDS.25");
    assert!(blueprint.database.storage_encrypted, "RDS.3");
    assert_eq!(blueprint.database.engine_version, "8.4", "SEC-RDS-EOS");
    let plan = plan(&blueprint, &Topology::new(chrono::Utc::now()));
    let db = plan.step(ResourceKind::DbInstance, "db").expect("db step");
    for said in [
        "IAM authentication",
        "logs to CloudWatch",
        "minor versions applied automatically",
        "tags copied to snapshots",
    ] {
        assert!(db.detail.contains(said), "{said}: {}", db.detail);
    }
}

#[test]
fn the_alb_drops_invalid_header_fields_and_one_that_does_not_is_updated() {
    let blueprint = lab_blueprint();
    let created = plan(&blueprint, &Topology::new(chrono::Utc::now()));
    let alb = created
        .step(ResourceKind::LoadBalancer, "load-balancer")
        .expect("alb");
    assert!(
        alb.detail.contains("drops invalid header fields"),
        "{}",
        alb.detail
    );
    let (blueprint, mut topology) = tagged_lab();
    for region in &mut topology.regions {
        for lb in &mut region.load_balancers {
            lb.attributes.insert(
                "routing.http.drop_invalid_header_fields.enabled".into(),
                "false".into(),
            );
        }
    }
    let drifted = plan(&blueprint, &topology);
    let alb = drifted
        .step(ResourceKind::LoadBalancer, "load-balancer")
        .expect("alb");
    assert_eq!(alb.op, Op::Update);
    assert!(
        alb.detail
            .contains("routing.http.drop_invalid_header_fields.enabled false → true"),
        "{}",
        alb.detail
    );
}
