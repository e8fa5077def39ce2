//! Discovery of load balancing and Auto Scaling details against moto: a Classic Load Balancer
//! made by hand next to the lab (legacy, HTTP only, one AZ), the lab ALB's web ACL (none), and a
//! group on a launch configuration that asks for public IPs and allows IMDSv1 — read into the
//! topology and judged as a user would see them. A denied AWS WAF leaves ELB.16 unjudged and the
//! rest whole.

use aws_sdk_autoscaling::types::InstanceMetadataHttpTokensState;
use aws_sdk_autoscaling::types::InstanceMetadataOptions;
use aws_sdk_elasticloadbalancing::types::Listener;
use haven_aws::{AwsContext, DiscoverOptions, discover};
use haven_model::Service;
use haven_model::findings::{Policy, assess};
use haven_testkit::lab::{self, Lab, PRIMARY};
use haven_testkit::{Faults, MotoServer, Proxy, sdk_config_for};

const CLB: &str = "legacy-web";
const LC: &str = "legacy-lc";
const LC_ASG: &str = "legacy-asg";

async fn legacy(moto: &MotoServer, lab: &Lab) {
    let config = moto.sdk_config(PRIMARY).await;
    let elb = aws_sdk_elasticloadbalancing::Client::new(&config);
    elb.create_load_balancer()
        .load_balancer_name(CLB)
        .listeners(
            Listener::builder()
                .protocol("HTTP")
                .load_balancer_port(80)
                .instance_protocol("HTTP")
                .instance_port(80)
                .build()
                .expect("listener"),
        )
        // moto leaves AvailabilityZones empty for a load balancer made with Subnets (AWS fills
        // both): made by AZ here.
        .availability_zones(format!("{PRIMARY}a"))
        .send()
        .await
        .expect("classic load balancer");
    let asg = aws_sdk_autoscaling::Client::new(&config);
    asg.create_launch_configuration()
        .launch_configuration_name(LC)
        .image_id(&lab.ami_id)
        .instance_type("t3.micro")
        .associate_public_ip_address(true)
        .metadata_options(
            InstanceMetadataOptions::builder()
                .http_tokens(InstanceMetadataHttpTokensState::Optional)
                .build(),
        )
        .send()
        .await
        .expect("launch configuration");
    asg.create_auto_scaling_group()
        .auto_scaling_group_name(LC_ASG)
        .launch_configuration_name(LC)
        .min_size(0)
        .max_size(1)
        .desired_capacity(0)
        .vpc_zone_identifier(lab.private_subnet_ids.join(","))
        .load_balancer_names(CLB)
        .send()
        .await
        .expect("group on the launch configuration");
}

fn options() -> DiscoverOptions {
    DiscoverOptions {
        include_iam: false,
        include_dns: false,
        ..DiscoverOptions::default()
    }
}

#[tokio::test]
async fn classic_load_balancers_web_acls_and_launch_configurations_are_read_and_judged() {
    let moto = MotoServer::start().expect("moto_server");
    let lab = lab::build(&moto.endpoint()).await.expect("lab");
    legacy(&moto, &lab).await;
    let ctx = AwsContext::from_sdk_config(moto.sdk_config(PRIMARY).await);

    let topology = discover(&ctx, &[PRIMARY.to_string()], &options()).await;
    assert!(topology.errors.is_empty(), "{:?}", topology.errors);
    let region = &topology.regions[0];

    let clb = region
        .classic_load_balancers
        .iter()
        .find(|c| c.name == CLB)
        .expect("the Classic Load Balancer");
    assert_eq!(clb.listeners.len(), 1);
    assert_eq!(clb.listeners[0].label(), "HTTP:80");
    assert_eq!(
        clb.availability_zones.len(),
        1,
        "{:?}",
        clb.availability_zones
    );
    let attributes = clb.attributes.as_ref().expect("attributes read");
    assert!(!attributes.cross_zone && !attributes.connection_draining && !attributes.access_log);
    assert_eq!(clb.policies, None, "no HTTPS listener: policies not asked");

    let alb = region
        .load_balancers
        .iter()
        .find(|lb| lb.arn == lab.load_balancer_arn)
        .expect("the lab ALB");
    let waf = alb.waf.as_ref().expect("web ACL read");
    assert_eq!(waf.web_acl_arn, None);

    let lc = region
        .launch_configurations
        .iter()
        .find(|l| l.name == LC)
        .expect("the group's launch configuration");
    assert_eq!(lc.associate_public_ip, Some(true));
    assert_eq!(
        region.launch_configurations.len(),
        1,
        "only the ones in use"
    );

    let findings = assess(&topology, &Policy::default());
    let on = |resource: &str| -> Vec<&str> {
        findings
            .iter()
            .filter(|f| f.resource.id == resource || f.resource.name.as_deref() == Some(resource))
            .map(|f| f.id.as_ref())
            .collect()
    };
    let classic = on(CLB);
    for id in [
        "HA-CLB-LEGACY",
        "ELB.3",
        "ELB.5",
        "ELB.7",
        "ELB.9",
        "ELB.10",
    ] {
        assert!(classic.contains(&id), "{id} missing on {CLB}: {classic:?}");
    }
    assert!(
        !classic.contains(&"ELB.14"),
        "AWS's default desync mode passes"
    );
    assert!(on("lab-alb").contains(&"ELB.16"));
    let launch = on(LC);
    assert!(launch.contains(&"AutoScaling.3"), "{launch:?}");
    assert!(launch.contains(&"AutoScaling.5"), "{launch:?}");
}

#[tokio::test]
async fn a_denied_waf_leaves_elb_16_unjudged_and_the_rest_read() {
    let moto = MotoServer::start().expect("moto_server");
    let lab = lab::build(&moto.endpoint()).await.expect("lab");
    legacy(&moto, &lab).await;
    let proxy = Proxy::start(
        &moto.endpoint(),
        Faults::none().with_fail_service("wafv2", 403),
    )
    .expect("proxy");
    let ctx = AwsContext::from_sdk_config(sdk_config_for(&proxy.endpoint(), PRIMARY).await);

    let topology = discover(&ctx, &[PRIMARY.to_string()], &options()).await;
    assert!(!topology.errors.is_empty());
    for error in &topology.errors {
        assert_eq!(error.service, Service::Wafv2, "{error:?}");
        assert_eq!(error.operation, "GetWebACLForResource");
    }
    let region = &topology.regions[0];
    assert!(region.load_balancers.iter().all(|lb| lb.waf.is_none()));
    assert!(!region.classic_load_balancers.is_empty());
    let findings = assess(&topology, &Policy::default());
    assert!(
        findings.iter().all(|f| f.id != "ELB.16"),
        "no judgement without data"
    );
    assert!(findings.iter().any(|f| f.id == "HA-CLB-LEGACY"));
}
