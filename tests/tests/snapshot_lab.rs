//! `haven snapshot` of the classic HA lab (built independently by the testkit) in two Regions:
//! every resource and every relation comes back.

use haven_model::relations::{DbRole, RegionalId};
use haven_model::{InstanceState, RegionTopology, RulePeer, TargetHealthState, Topology};
use haven_testkit::MotoServer;
use haven_testkit::lab::{self, DR, Lab, PRIMARY};
use haven_tests::haven;

fn snapshot(moto: &MotoServer, home: &tempfile::TempDir) -> Topology {
    let output = haven(&moto.endpoint(), home)
        .args(["snapshot", "--output", "json", "--regions"])
        .arg(format!("{PRIMARY},{DR}"))
        .output()
        .expect("run haven");
    assert!(
        output.status.success(),
        "haven snapshot failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Topology::from_json(&String::from_utf8_lossy(&output.stdout)).expect("topology JSON")
}

fn ingress_from_group(region: &RegionTopology, group: &str, peer: &str, port: i32) -> bool {
    region
        .security_groups
        .iter()
        .find(|g| g.id == group)
        .expect("security group")
        .ingress
        .iter()
        .any(|r| r.peer == RulePeer::SecurityGroup(peer.into()) && r.from_port == Some(port))
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_returns_the_whole_lab_with_its_relations() {
    let moto = MotoServer::start().expect("moto");
    let lab: Lab = lab::build(&moto.endpoint()).await.expect("lab");
    let home = tempfile::tempdir().expect("temp dir");
    let topology = snapshot(&moto, &home);

    assert!(topology.errors.is_empty(), "errors: {:?}", topology.errors);
    assert_eq!(topology.account_id.as_deref(), Some("123456789012"));
    let primary = topology.region(PRIMARY).expect("primary Region");
    let dr = topology.region(DR).expect("DR Region");
    // Route 53 and ACM are read (the lab has neither zones nor certificates).
    let dns = topology.dns.as_ref().expect("Route 53 read");
    assert!(dns.hosted_zones.is_empty() && dns.health_checks.is_empty());
    assert!(primary.certificates.is_empty() && dr.certificates.is_empty());

    // Network: the lab VPC, and the default VPC kept but marked.
    let vpc = primary
        .vpcs
        .iter()
        .find(|v| v.id == lab.vpc_id)
        .expect("lab VPC");
    assert!(!vpc.is_default);
    assert!(primary.vpcs.iter().any(|v| v.is_default));
    for (public, private) in lab.public_subnet_ids.iter().zip(&lab.private_subnet_ids) {
        assert!(primary.subnet_is_public(public), "{public} is public");
        assert!(!primary.subnet_is_public(private), "{private} is private");
    }
    // One NAT per AZ: each private subnet goes out through the NAT in its own AZ.
    for (i, az) in ["ap-northeast-2a", "ap-northeast-2b"].iter().enumerate() {
        let private = &lab.private_subnet_ids[i];
        let nat = primary.nat_for_subnet(private).expect("NAT route");
        assert_eq!(nat.id, lab.nat_gateway_ids[i]);
        assert_eq!(primary.nat_az_for_subnet(private), Some(*az));
        assert_eq!(
            primary
                .subnet(private)
                .map(|s| s.availability_zone.as_str()),
            Some(*az)
        );
    }
    let igw = primary
        .internet_gateways
        .iter()
        .find(|g| g.id == lab.igw_id)
        .expect("IGW");
    assert_eq!(igw.attached_vpc_ids, vec![lab.vpc_id.clone()]);

    // Security-group chain by reference: ALB → app on 80, app → DB on 3306.
    assert!(ingress_from_group(
        primary,
        &lab.app_sg_id,
        &lab.alb_sg_id,
        80
    ));
    assert!(ingress_from_group(
        primary,
        &lab.db_sg_id,
        &lab.app_sg_id,
        3306
    ));

    // Launch template with IMDSv2 and user data (its content is never recorded).
    let template = primary
        .launch_templates
        .iter()
        .find(|t| t.id == lab.launch_template_id)
        .expect("launch template");
    let v1 = template
        .versions
        .iter()
        .find(|v| v.number == 1)
        .expect("v1");
    assert!(v1.has_user_data);
    assert_eq!(
        v1.metadata_options
            .as_ref()
            .and_then(|m| m.http_tokens.as_deref()),
        Some("required")
    );

    // Auto Scaling group: members, ownership, target group, ELB checks, CPU target tracking.
    let asg = primary
        .auto_scaling_groups
        .iter()
        .find(|g| g.name == lab.asg_name)
        .expect("ASG");
    assert_eq!(
        (asg.min_size, asg.desired_capacity, asg.max_size),
        (2, 2, 4)
    );
    assert_eq!(asg.health_check_type, "ELB");
    assert_eq!(asg.target_group_arns, vec![lab.target_group_arn.clone()]);
    assert!(
        asg.policies
            .iter()
            .any(|p| p.metric.as_deref() == Some("ASGAverageCPUUtilization"))
    );
    for id in &lab.asg_instance_ids {
        assert_eq!(
            primary.asg_for_instance(id).map(|g| g.name.as_str()),
            Some("lab-asg")
        );
        let instance = primary.instance(id).expect("ASG instance discovered");
        assert_eq!(instance.state, InstanceState::Running);
        assert!(
            lab.private_subnet_ids
                .contains(instance.subnet_id.as_ref().expect("subnet"))
        );
    }

    // Load balancer → listener → target group, healthy targets per AZ, nothing stale.
    let lb = primary
        .load_balancers
        .iter()
        .find(|l| l.arn == lab.load_balancer_arn)
        .expect("ALB");
    assert_eq!(lb.scheme, "internet-facing");
    assert_eq!(lb.zones.len(), 2);
    let tgs = primary.target_groups_of(lb);
    assert_eq!(tgs.len(), 1);
    let tg = tgs[0];
    assert_eq!(tg.arn, lab.target_group_arn);
    assert_eq!(tg.health_check.path.as_deref(), Some("/health"));
    assert!(primary.stale_targets(tg).is_empty());
    let per_az = primary.load_balancer_health_by_az(lb);
    assert!(per_az.contains_key("ap-northeast-2a") && per_az.contains_key("ap-northeast-2b"));
    let healthy: usize = per_az.values().map(|c| c.healthy).sum();
    assert_eq!(healthy, lab.asg_instance_ids.len());
    assert!(
        tg.targets
            .iter()
            .all(|t| t.health == TargetHealthState::Healthy)
    );

    // Database: Multi-AZ writer, same-Region replica, cross-Region replica linked by ARN.
    let db = primary
        .db_instances
        .iter()
        .find(|d| d.identifier == lab.db_identifier)
        .expect("DB");
    assert!(db.multi_az);
    assert_eq!(primary.db_role(db), DbRole::Writer);
    assert!(db.master_user_secret_arn.is_some());
    let replica = primary
        .db_instances
        .iter()
        .find(|d| d.identifier == lab.db_replica_identifier)
        .expect("replica");
    assert_eq!(primary.db_role(replica), DbRole::ReadReplica);
    let dr_replica = dr
        .db_instances
        .iter()
        .find(|d| d.arn == lab.dr_replica_arn)
        .expect("DR replica");
    assert_eq!(dr.db_role(dr_replica), DbRole::ReadReplica);
    let links = topology.replica_links();
    let link = |replica_arn: &str| {
        links
            .iter()
            .find(|l| l.replica.arn == replica_arn)
            .unwrap_or_else(|| panic!("no replica link to {replica_arn}: {links:?}"))
    };
    let same = link(&lab.db_replica_arn);
    assert_eq!(
        (same.source.arn.as_str(), same.cross_region),
        (lab.db_arn.as_str(), false)
    );
    let cross = link(&lab.dr_replica_arn);
    assert_eq!(
        (cross.source.arn.as_str(), cross.cross_region),
        (lab.db_arn.as_str(), true)
    );
    assert_eq!(
        (cross.source.region.as_str(), cross.replica.region.as_str()),
        (PRIMARY, DR)
    );

    // AMI and EBS snapshot copies linked to their sources; AWS-owned noise filtered out.
    let at = |region: &str, id: &str| RegionalId {
        region: region.into(),
        id: id.into(),
    };
    let image_copies = topology.image_copies();
    assert!(
        image_copies
            .iter()
            .any(|c| c.source == at(PRIMARY, &lab.ami_id) && c.copy == at(DR, &lab.dr_ami_id)),
        "{image_copies:?}"
    );
    let snapshot_copies = topology.snapshot_copies();
    assert!(
        snapshot_copies
            .iter()
            .any(|c| c.source == at(PRIMARY, &lab.snapshot_id)
                && c.copy == at(DR, &lab.dr_snapshot_id)),
        "{snapshot_copies:?}"
    );
    for region in &topology.regions {
        assert!(
            region.images.len() < 10,
            "public AMIs leaked into {}",
            region.region
        );
        assert!(
            region
                .snapshots
                .iter()
                .all(|s| s.owner_id.as_deref() == Some("123456789012")),
            "snapshots of other accounts leaked into {}",
            region.region
        );
    }
    assert!(dr.vpcs.iter().any(|v| v.id == lab.dr_vpc_id));

    // IAM: user in the group with console access and a key, EC2 role in its profile, policy.
    let iam = topology.iam.as_ref().expect("IAM");
    let user = iam
        .users
        .iter()
        .find(|u| u.name == lab.iam_user)
        .expect("user");
    assert_eq!(user.groups, vec![lab.iam_group.clone()]);
    assert!(user.console_access);
    assert_eq!(user.access_keys.len(), 1);
    assert!(user.access_keys[0].created_at.is_some());
    let group = iam
        .groups
        .iter()
        .find(|g| g.name == lab.iam_group)
        .expect("group");
    assert!(
        group
            .attached_policy_arns
            .iter()
            .any(|p| p.ends_with("AdministratorAccess"))
    );
    let role = iam
        .roles
        .iter()
        .find(|r| r.name == lab.iam_role)
        .expect("role");
    assert_eq!(role.trusted_services, vec!["ec2.amazonaws.com".to_string()]);
    let profile = iam
        .instance_profiles
        .iter()
        .find(|p| p.name == lab.instance_profile)
        .expect("instance profile");
    assert_eq!(profile.role_names, vec![lab.iam_role.clone()]);
    let policy = iam.password_policy.as_ref().expect("password policy");
    assert_eq!(policy.minimum_length, Some(14));

    // The JSON never carries a secret the lab made.
    let json = topology.to_json();
    assert!(!json.contains(&lab.iam_secret_access_key));

    // The table for people shows the same picture.
    let table = haven(&moto.endpoint(), &home)
        .args(["snapshot", "--regions"])
        .arg(format!("{PRIMARY},{DR}"))
        .output()
        .expect("run haven");
    let table = String::from_utf8_lossy(&table.stdout);
    let mut expected_lines: Vec<String> = per_az
        .iter()
        .map(|(az, c)| format!("{az} {}/{} healthy", c.healthy, c.total))
        .collect();
    expected_lines.push(format!("→ NAT {} (same AZ)", lab.nat_gateway_ids[1]));
    for expected in expected_lines.iter().map(String::as_str).chain([
        "ap-northeast-2a",
        "ap-northeast-2b",
        &format!("→ NAT {} (same AZ)", lab.nat_gateway_ids[0]),
        "lab-asg",
        &format!("{}  mysql", lab.db_identifier),
        &format!("replica of {PRIMARY}/{}, cross-Region", lab.db_identifier),
        &format!("copy of {PRIMARY}/{}", lab.ami_id),
    ]) {
        assert!(
            table.contains(expected),
            "table lacks {expected:?}:\n{table}"
        );
    }
}
