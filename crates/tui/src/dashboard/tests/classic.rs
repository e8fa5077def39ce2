//! A Classic Load Balancer next to the lab's ALB in `:lb`: listed after it, marked legacy, and
//! described like any other row.

use haven_model::{ClassicAttributes, ClassicListener, ClassicLoadBalancer};

use super::*;

fn with_classic() -> Topology {
    let mut topology = fixture("lab-healthy.json");
    let region = &mut topology.regions[0];
    region.classic_load_balancers.push(ClassicLoadBalancer {
        name: "legacy-web".into(),
        dns_name: Some("legacy-web-1234.ap-northeast-2.elb.amazonaws.com".into()),
        scheme: "internet-facing".into(),
        vpc_id: None,
        availability_zones: vec!["ap-northeast-2a".into()],
        subnet_ids: Vec::new(),
        security_group_ids: Vec::new(),
        listeners: vec![ClassicListener {
            protocol: "HTTP".into(),
            port: 80,
            instance_protocol: Some("HTTP".into()),
            instance_port: 80,
            ssl_certificate_id: None,
            policy_names: Vec::new(),
        }],
        instance_ids: vec!["i-0legacy".into()],
        attributes: Some(ClassicAttributes {
            cross_zone: false,
            access_log: false,
            connection_draining: false,
            desync_mitigation_mode: None,
        }),
        policies: None,
        created_at: None,
    });
    topology
}

#[test]
fn a_classic_load_balancer_is_listed_as_legacy_after_the_alb() {
    let mut state = state_for(&with_classic(), 160, 48);
    press(&mut state, ":lb\n");
    let list = state.list.as_ref().expect("list");
    assert_eq!(list.rows.len(), 2, "the ALB and the Classic Load Balancer");
    let buffer = buffer_of(&state);
    assert_eq!(cell_at(&buffer, "classic ").fg, Color::Yellow);
    insta::assert_snapshot!("list_lb_with_classic_160x48", screen(&state));
    press(&mut state, "/legacy-web\n");
    press(&mut state, "d");
    assert_eq!(state.mode(), Mode::Describe);
    let text = screen(&state);
    assert!(text.contains("connection_draining: false"), "{text}");
}
