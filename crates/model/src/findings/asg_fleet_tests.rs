//! AutoScaling.6, HA-ASG-REBALANCE, and the launch configuration controls AutoScaling.3 and
//! AutoScaling.5: each passes on a compliant lab and fails once mutated.

use super::test_fixtures::{healthy, primary};
use super::*;
use crate::topology::{InstancesDistribution, LaunchConfiguration, MetadataOptions};

fn finding_on(t: &Topology, id: &str, resource: &str) -> Option<Finding> {
    assess(t, &Policy::default())
        .into_iter()
        .find(|f| f.id == id && f.resource.id == resource)
}

fn asg_after(mutate: impl FnOnce(&mut crate::topology::AutoScalingGroup)) -> Topology {
    let mut t = healthy();
    mutate(&mut primary(&mut t).auto_scaling_groups[0]);
    t
}

#[test]
fn autoscaling_6_fails_on_the_lab_single_type_and_passes_with_two_or_requirements() {
    let f = finding_on(&healthy(), "AutoScaling.6", "lab-asg").expect("one type");
    assert_eq!(f.severity, Severity::Medium);
    assert!(f.evidence.contains("launch template"), "{}", f.evidence);
    let t = asg_after(|a| a.instance_type_overrides = vec!["t3.micro".into(), "t3a.micro".into()]);
    assert!(finding_on(&t, "AutoScaling.6", "lab-asg").is_none());
    let t = asg_after(|a| a.instance_requirements = true);
    assert!(finding_on(&t, "AutoScaling.6", "lab-asg").is_none());
    let t = asg_after(|a| a.instance_type_overrides = vec!["t3.micro".into(), "t3.micro".into()]);
    assert!(finding_on(&t, "AutoScaling.6", "lab-asg").is_some());
}

fn spot(a: &mut crate::topology::AutoScalingGroup) {
    a.instances_distribution = Some(InstancesDistribution {
        on_demand_base_capacity: Some(1),
        on_demand_percentage_above_base_capacity: Some(0),
        spot_allocation_strategy: Some("price-capacity-optimized".into()),
    });
}

#[test]
fn capacity_rebalance_is_judged_only_for_spot_groups() {
    // The lab is On-Demand with capacity rebalancing off: nothing to say.
    assert!(finding_on(&healthy(), "HA-ASG-REBALANCE", "lab-asg").is_none());
    let t = asg_after(spot);
    let f = finding_on(&t, "HA-ASG-REBALANCE", "lab-asg").expect("Spot without rebalancing");
    assert!(f.evidence.contains("100 % Spot"), "{}", f.evidence);
    let t = asg_after(|a| {
        spot(a);
        a.capacity_rebalance = Some(true);
    });
    assert!(finding_on(&t, "HA-ASG-REBALANCE", "lab-asg").is_none());
    let t = asg_after(|a| {
        spot(a);
        a.capacity_rebalance = None;
    });
    assert!(
        finding_on(&t, "HA-ASG-REBALANCE", "lab-asg").is_none(),
        "unread"
    );
}

fn with_launch_configuration(mutate: impl FnOnce(&mut LaunchConfiguration)) -> Topology {
    let mut t = healthy();
    let r = primary(&mut t);
    r.auto_scaling_groups[0].launch_template = None;
    r.auto_scaling_groups[0].launch_configuration = Some("lab-lc".into());
    let mut lc = LaunchConfiguration {
        name: "lab-lc".into(),
        arn: None,
        image_id: Some("ami-1".into()),
        instance_type: Some("t3.micro".into()),
        associate_public_ip: Some(false),
        metadata_options: Some(MetadataOptions {
            http_tokens: Some("required".into()),
            http_put_response_hop_limit: Some(1),
            http_endpoint: Some("enabled".into()),
        }),
        created_at: None,
    };
    mutate(&mut lc);
    r.launch_configurations.push(lc);
    t
}

#[test]
fn autoscaling_3_wants_imdsv2_on_launch_configurations() {
    let t = with_launch_configuration(|_| {});
    assert!(finding_on(&t, "AutoScaling.3", "lab-lc").is_none());
    let f = finding_on(&t, "AutoScaling.6", "lab-asg").expect("single type");
    assert!(
        f.evidence.contains("launch configuration lab-lc"),
        "{}",
        f.evidence
    );
    let t = with_launch_configuration(|lc| lc.metadata_options = None);
    let f = finding_on(&t, "AutoScaling.3", "lab-lc").expect("AutoScaling.3");
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.resource.kind, ResourceKind::LaunchConfiguration);
    assert!(f.evidence.contains("default optional"));
}

#[test]
fn autoscaling_5_is_about_launch_configurations_public_ips() {
    let t = with_launch_configuration(|_| {});
    assert!(finding_on(&t, "AutoScaling.5", "lab-lc").is_none());
    let t = with_launch_configuration(|lc| lc.associate_public_ip = Some(true));
    let f = finding_on(&t, "AutoScaling.5", "lab-lc").expect("AutoScaling.5");
    assert_eq!(f.severity, Severity::High);
    // A group's launch template asking for a public IP is haven's own finding, not AutoScaling.5.
    let t = asg_after(|_| {});
    let mut t2 = t.clone();
    primary(&mut t2).launch_templates[0].versions[0].associate_public_ip = Some(true);
    assert!(
        assess(&t2, &Policy::default())
            .iter()
            .all(|f| f.id != "AutoScaling.5")
    );
    assert!(finding_on(&t2, "SEC-ASG-PUBLIC-IP", "lab-asg").is_some());
}
