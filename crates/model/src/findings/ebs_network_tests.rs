//! EBS, snapshot, AMI and network controls (issue 21): each passes on the lab, or fails on it
//! where the lab honestly fails, and fails (or passes) once the lab is changed.

use super::test_fixtures::{PRIMARY, healthy, primary};
use super::*;
use crate::topology::{
    ElasticIp, FlowLog, NaclEntry, RegionTopology, Snapshot, Volume, VpcEndpoint,
};

fn run(t: &Topology) -> Vec<Finding> {
    assess(t, &Policy::default())
}

fn find<'a>(findings: &'a [Finding], id: &str, resource: &str) -> Option<&'a Finding> {
    findings
        .iter()
        .find(|f| f.id == id && f.resource.id == resource)
}

fn count(findings: &[Finding], id: &str) -> usize {
    findings.iter().filter(|f| f.id == id).count()
}

fn lab_vpc(t: &mut Topology) -> String {
    primary(t)
        .vpcs
        .iter()
        .find(|v| !v.is_default)
        .expect("lab vpc")
        .id
        .clone()
}

fn subnet_named(r: &RegionTopology, name: &str) -> String {
    r.subnets
        .iter()
        .find(|s| s.tags.get("Name").map(String::as_str) == Some(name))
        .expect("subnet")
        .id
        .clone()
}

fn standalone_volume(id: &str, encrypted: bool) -> Volume {
    Volume {
        id: id.into(),
        availability_zone: format!("{PRIMARY}a"),
        size_gib: 100,
        volume_type: "gp3".into(),
        state: "in-use".into(),
        encrypted,
        attached_instance_ids: vec!["i-0bastion".into()],
        snapshot_id: None,
        tags: [("Name".to_string(), "data".to_string())].into(),
    }
}

// ---- EC2.3 -----------------------------------------------------------------------------------

#[test]
fn ec2_3_fails_on_an_attached_unencrypted_volume_only() {
    let lab = run(&healthy());
    assert_eq!(count(&lab, "EC2.3"), 0, "the lab's volumes are encrypted");
    let mut t = healthy();
    let volume = primary(&mut t).volumes[0].id.clone();
    primary(&mut t).volumes[0].encrypted = false;
    primary(&mut t).volumes.push(Volume {
        state: "available".into(),
        attached_instance_ids: Vec::new(),
        ..standalone_volume("vol-0spare", false)
    });
    let findings = run(&t);
    let f = find(&findings, "EC2.3", &volume).expect("EC2.3 on the unencrypted volume");
    assert_eq!(f.severity, Severity::Medium);
    assert!(
        f.evidence.contains("encrypted=false; attached to i-"),
        "{}",
        f.evidence
    );
    assert!(
        find(&findings, "EC2.3", "vol-0spare").is_none(),
        "AWS judges attached volumes only"
    );
}

// ---- EC2.7, SEC-SNAP-BPA, SEC-AMI-BPA -------------------------------------------------------

#[test]
fn region_settings_fail_when_off_and_are_not_judged_when_unread() {
    let lab = run(&healthy());
    for id in ["EC2.7", "SEC-SNAP-BPA", "SEC-AMI-BPA"] {
        assert_eq!(count(&lab, id), 0, "{id} passes on the lab's account");
    }
    let mut t = healthy();
    let settings = &mut primary(&mut t).settings;
    settings.ebs_encryption_by_default = Some(false);
    settings.snapshot_block_public_access = Some("unblocked".into());
    settings.image_block_public_access = Some("unblocked".into());
    let findings = run(&t);
    for id in ["EC2.7", "SEC-SNAP-BPA", "SEC-AMI-BPA"] {
        let f = find(&findings, id, PRIMARY).unwrap_or_else(|| panic!("{id} on {PRIMARY}"));
        assert_eq!(f.resource.kind, ResourceKind::Region);
        assert_eq!(f.severity, Severity::Medium);
        assert_eq!(count(&findings, id), 1, "{id}: the DR Region is still on");
    }
    // Block new sharing stops new public snapshots: it passes.
    let mut t = healthy();
    primary(&mut t).settings.snapshot_block_public_access = Some("block-new-sharing".into());
    assert_eq!(count(&run(&t), "SEC-SNAP-BPA"), 0);
    // Not read (denied, or moto): nothing is judged.
    let mut t = healthy();
    for r in &mut t.regions {
        r.settings = Default::default();
    }
    let findings = run(&t);
    for id in ["EC2.7", "SEC-SNAP-BPA", "SEC-AMI-BPA"] {
        assert_eq!(count(&findings, id), 0, "{id} judged without data");
    }
}

// ---- DR-EBS-SNAP ------------------------------------------------------------------------------

#[test]
fn dr_ebs_snap_wants_a_completed_snapshot_of_each_volume_in_use() {
    let lab = run(&healthy());
    assert_eq!(
        count(&lab, "DR-EBS-SNAP"),
        0,
        "the web tier's volumes are rebuilt by its Auto Scaling group from the AMI"
    );
    let mut t = healthy();
    primary(&mut t)
        .volumes
        .push(standalone_volume("vol-0data", true));
    let findings = run(&t);
    let f = find(&findings, "DR-EBS-SNAP", "vol-0data").expect("DR-EBS-SNAP");
    assert_eq!(f.category, Category::Dr);
    assert_eq!(f.fix_action.as_deref(), Some("volume-snapshot"));
    assert_eq!(f.resource.name.as_deref(), Some("data"));

    // A snapshot still pending is no backup yet; a completed one is.
    let snapshot = |state: &str| Snapshot {
        id: "snap-0data".into(),
        volume_id: Some("vol-0data".into()),
        volume_size_gib: Some(100),
        state: state.into(),
        progress: None,
        started_at: None,
        owner_id: None,
        encrypted: true,
        description: None,
        tags: Default::default(),
        public: Some(false),
    };
    primary(&mut t).snapshots.push(snapshot("pending"));
    assert!(find(&run(&t), "DR-EBS-SNAP", "vol-0data").is_some());
    primary(&mut t).snapshots.pop();
    primary(&mut t).snapshots.push(snapshot("completed"));
    assert!(find(&run(&t), "DR-EBS-SNAP", "vol-0data").is_none());
}

// ---- EC2.1, SEC-AMI-PUBLIC -------------------------------------------------------------------

#[test]
fn ec2_1_fails_on_a_public_snapshot_and_not_on_an_unread_one() {
    assert_eq!(count(&run(&healthy()), "EC2.1"), 0);
    let mut t = healthy();
    let snap = primary(&mut t).snapshots[1].id.clone();
    primary(&mut t).snapshots[1].public = Some(true);
    let findings = run(&t);
    let f = find(&findings, "EC2.1", &snap).expect("EC2.1");
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.evidence.contains("group=all"), "{}", f.evidence);
    primary(&mut t).snapshots[1].public = None;
    assert_eq!(count(&run(&t), "EC2.1"), 0, "not read, not judged");
}

#[test]
fn sec_ami_public_fails_on_a_public_ami_of_the_account() {
    assert_eq!(count(&run(&healthy()), "SEC-AMI-PUBLIC"), 0);
    let mut t = healthy();
    let ami = primary(&mut t).images[0].id.clone();
    primary(&mut t).images[0].public = true;
    let findings = run(&t);
    let f = find(&findings, "SEC-AMI-PUBLIC", &ami).expect("SEC-AMI-PUBLIC");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.resource.name.as_deref(), Some("lab-web-ami"));
}

// ---- EC2.21 -----------------------------------------------------------------------------------

fn entry(rule_number: i32, protocol: &str, cidr: &str, ports: Option<(i32, i32)>) -> NaclEntry {
    NaclEntry {
        rule_number,
        egress: false,
        protocol: protocol.into(),
        allow: true,
        cidr_block: Some(cidr.into()),
        ipv6_cidr_block: None,
        from_port: ports.map(|p| p.0),
        to_port: ports.map(|p| p.1),
    }
}

#[test]
fn ec2_21_fails_on_the_default_acl_as_aws_made_it() {
    let mut t = healthy();
    let vpc = lab_vpc(&mut t);
    let acl = primary(&mut t)
        .network_acls
        .iter()
        .find(|a| a.vpc_id == vpc)
        .expect("lab acl")
        .id
        .clone();
    let findings = run(&t);
    let f = find(&findings, "EC2.21", &acl).expect("the default ACL allows all traffic");
    assert_eq!(f.severity, Severity::Medium);
    assert!(
        f.evidence
            .starts_with("rule 100: allow all traffic from 0.0.0.0/0 (default ACL)"),
        "{}",
        f.evidence
    );
}

#[test]
fn ec2_21_passes_on_a_narrowed_acl_and_fails_on_udp_or_ipv6_to_3389() {
    let mut t = healthy();
    let vpc = lab_vpc(&mut t);
    let index = primary(&mut t)
        .network_acls
        .iter()
        .position(|a| a.vpc_id == vpc)
        .expect("lab acl");
    let acl_id = primary(&mut t).network_acls[index].id.clone();
    let mut narrowed = vec![
        entry(100, "6", "0.0.0.0/0", Some((443, 443))),
        // Replies on the ephemeral ports, 3389 left out.
        entry(110, "6", "0.0.0.0/0", Some((1024, 3388))),
        entry(111, "6", "0.0.0.0/0", Some((3390, 65535))),
        entry(120, "6", "10.0.0.0/16", Some((22, 22))),
        // An outbound allow-all is not ingress.
        NaclEntry {
            egress: true,
            ..entry(100, "-1", "0.0.0.0/0", None)
        },
    ];
    narrowed.push(NaclEntry {
        allow: false,
        ..entry(32767, "-1", "0.0.0.0/0", None)
    });
    primary(&mut t).network_acls[index].entries = narrowed.clone();
    assert!(find(&run(&t), "EC2.21", &acl_id).is_none());

    // The usual ephemeral entry 1024-65535 from anywhere covers 3389.
    let mut ephemeral = narrowed.clone();
    ephemeral.push(entry(112, "6", "0.0.0.0/0", Some((1024, 65535))));
    primary(&mut t).network_acls[index].entries = ephemeral;
    let findings = run(&t);
    let f = find(&findings, "EC2.21", &acl_id).expect("1024-65535 covers 3389");
    assert_eq!(
        f.evidence,
        format!("rule 112: allow tcp 1024-65535 from 0.0.0.0/0 (default ACL); VPC {vpc}")
    );

    let mut udp = narrowed.clone();
    udp.push(entry(130, "17", "0.0.0.0/0", Some((3389, 3389))));
    primary(&mut t).network_acls[index].entries = udp;
    assert!(
        find(&run(&t), "EC2.21", &acl_id).is_some(),
        "UDP 3389 counts"
    );

    let mut ipv6 = narrowed;
    ipv6.push(NaclEntry {
        cidr_block: None,
        ipv6_cidr_block: Some("::/0".into()),
        ..entry(140, "6", "", Some((20, 30)))
    });
    primary(&mut t).network_acls[index].entries = ipv6;
    let findings = run(&t);
    let f = find(&findings, "EC2.21", &acl_id).expect("::/0 to 20-30 covers 22");
    assert!(
        f.evidence.contains("rule 140: allow tcp 20-30 from ::/0"),
        "{}",
        f.evidence
    );
}

// ---- EC2.6 ------------------------------------------------------------------------------------

fn flow_log(resource_id: &str, traffic_type: &str) -> FlowLog {
    FlowLog {
        id: format!("fl-{traffic_type}"),
        resource_id: resource_id.into(),
        traffic_type: Some(traffic_type.into()),
        status: Some("ACTIVE".into()),
        deliver_status: Some("SUCCESS".into()),
        destination_type: Some("cloud-watch-logs".into()),
        tags: Default::default(),
    }
}

#[test]
fn ec2_6_wants_a_flow_log_recording_rejects_in_every_vpc() {
    let mut t = healthy();
    let vpc = lab_vpc(&mut t);
    let lab = run(&t);
    let f = find(&lab, "EC2.6", &vpc).expect("the lab has no flow logs");
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.evidence, "no flow log");
    let default_vpcs = t
        .regions
        .iter()
        .flat_map(|r| &r.vpcs)
        .filter(|v| v.is_default)
        .count();
    assert!(default_vpcs > 0);
    assert_eq!(
        count(&lab, "EC2.6"),
        t.regions.iter().map(|r| r.vpcs.len()).sum::<usize>(),
        "AWS judges every VPC, default ones included"
    );

    primary(&mut t).flow_logs = Some(vec![flow_log(&vpc, "ACCEPT")]);
    let findings = run(&t);
    let f = find(&findings, "EC2.6", &vpc).expect("ACCEPT only");
    assert!(
        f.evidence.contains("accepted traffic only"),
        "{}",
        f.evidence
    );

    for traffic in ["REJECT", "ALL"] {
        primary(&mut t).flow_logs = Some(vec![flow_log(&vpc, traffic)]);
        assert!(find(&run(&t), "EC2.6", &vpc).is_none(), "{traffic}");
    }
    primary(&mut t).flow_logs = None;
    assert!(
        find(&run(&t), "EC2.6", &vpc).is_none(),
        "not read, not judged"
    );
}

// ---- HA-VPCE-AZ -------------------------------------------------------------------------------

#[test]
fn ha_vpce_az_fails_on_an_interface_endpoint_in_one_az() {
    assert_eq!(count(&run(&healthy()), "HA-VPCE-AZ"), 0);
    let mut t = healthy();
    let vpc = lab_vpc(&mut t);
    let (a, b) = {
        let r = primary(&mut t);
        (
            subnet_named(r, "lab-private-a"),
            subnet_named(r, "lab-private-b"),
        )
    };
    let endpoint = |id: &str, kind: &str, subnets: Vec<String>| VpcEndpoint {
        id: id.into(),
        vpc_id: vpc.clone(),
        service_name: format!("com.amazonaws.{PRIMARY}.ssm"),
        endpoint_type: kind.into(),
        state: "available".into(),
        subnet_ids: subnets,
        tags: Default::default(),
    };
    primary(&mut t).vpc_endpoints = vec![
        endpoint("vpce-one", "Interface", vec![a.clone()]),
        endpoint("vpce-two", "Interface", vec![a, b]),
        endpoint("vpce-s3", "Gateway", Vec::new()),
    ];
    let findings = run(&t);
    let f = find(&findings, "HA-VPCE-AZ", "vpce-one").expect("one AZ");
    assert_eq!(f.category, Category::Ha);
    assert!(
        f.evidence.ends_with(&format!("in {PRIMARY}a")),
        "{}",
        f.evidence
    );
    assert_eq!(
        count(&findings, "HA-VPCE-AZ"),
        1,
        "two AZs and a gateway pass"
    );
}

// ---- EC2.12 -----------------------------------------------------------------------------------

#[test]
fn ec2_12_fails_on_an_unassociated_elastic_ip() {
    let mut t = healthy();
    let eip = |allocation: &str, association: Option<&str>, eni: Option<&str>| ElasticIp {
        allocation_id: allocation.into(),
        public_ip: "3.36.1.1".into(),
        association_id: association.map(str::to_string),
        instance_id: None,
        network_interface_id: eni.map(str::to_string),
        tags: Default::default(),
    };
    primary(&mut t).elastic_ips = vec![
        eip("eipalloc-nat", Some("eipassoc-1"), Some("eni-nat")),
        eip("eipalloc-idle", None, None),
    ];
    let findings = run(&t);
    let f = find(&findings, "EC2.12", "eipalloc-idle").expect("EC2.12");
    assert_eq!(f.severity, Severity::Low);
    assert_eq!(f.resource.kind, ResourceKind::ElasticIp);
    assert!(find(&findings, "EC2.12", "eipalloc-nat").is_none());
}
