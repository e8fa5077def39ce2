//! A stack built by hand, call by call as an engineer would with the AWS CLI, with the holes an
//! auditor looks for first: subnets auto-assigning public IPs, an unencrypted attached volume, a
//! public snapshot, an HTTP-only listener, a network ACL and a security group open to SSH, an
//! instance with a public address. No haven code: the oracle for `haven check`.

use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, InstanceType, OperationType, PortRange, RuleAction,
    SnapshotAttributeName,
};
use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, ProtocolEnum};

/// What [`build`] made, by id.
#[derive(Debug)]
pub struct HandBuilt {
    /// The two subnets (AZ a, AZ b).
    pub subnets: Vec<String>,
    /// The instance in the first subnet.
    pub instance: String,
    /// The unencrypted volume attached to it.
    pub volume: String,
    /// The public snapshot of that volume.
    pub snapshot: String,
    /// The network ACL open to SSH, on the first subnet.
    pub acl: String,
}

/// Builds it in `region` of the moto server at `endpoint`. Panics on a failed call (a test
/// fixture).
pub async fn build(endpoint: &str, region: &str) -> HandBuilt {
    let config = crate::moto::sdk_config_for(endpoint, region).await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.30.0.0/16")
        .send()
        .await
        .expect("create-vpc")
        .vpc
        .and_then(|v| v.vpc_id)
        .expect("vpc id");
    let igw = ec2
        .create_internet_gateway()
        .send()
        .await
        .expect("create-internet-gateway")
        .internet_gateway
        .and_then(|g| g.internet_gateway_id)
        .expect("igw id");
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .expect("attach-internet-gateway");
    let table = ec2
        .create_route_table()
        .vpc_id(&vpc)
        .send()
        .await
        .expect("create-route-table")
        .route_table
        .and_then(|t| t.route_table_id)
        .expect("rtb id");
    ec2.create_route()
        .route_table_id(&table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await
        .expect("create-route");
    let mut subnets = Vec::new();
    for (az, cidr) in [("a", "10.30.0.0/24"), ("b", "10.30.1.0/24")] {
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(cidr)
            .availability_zone(format!("{region}{az}"))
            .send()
            .await
            .expect("create-subnet")
            .subnet
            .and_then(|s| s.subnet_id)
            .expect("subnet id");
        ec2.modify_subnet_attribute()
            .subnet_id(&subnet)
            .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build())
            .send()
            .await
            .expect("modify-subnet-attribute --map-public-ip-on-launch");
        ec2.associate_route_table()
            .route_table_id(&table)
            .subnet_id(&subnet)
            .send()
            .await
            .expect("associate-route-table");
        subnets.push(subnet);
    }
    // A network ACL open to SSH from anywhere, answers allowed out, on the first subnet.
    let acl = ec2
        .create_network_acl()
        .vpc_id(&vpc)
        .send()
        .await
        .expect("create-network-acl")
        .network_acl
        .and_then(|a| a.network_acl_id)
        .expect("acl id");
    for (egress, ports) in [(false, (22, 22)), (true, (1024, 65535))] {
        ec2.create_network_acl_entry()
            .network_acl_id(&acl)
            .rule_number(100)
            .protocol("6")
            .rule_action(RuleAction::Allow)
            .egress(egress)
            .cidr_block("0.0.0.0/0")
            .port_range(PortRange::builder().from(ports.0).to(ports.1).build())
            .send()
            .await
            .expect("create-network-acl-entry");
    }
    let current = ec2
        .describe_network_acls()
        .filters(
            Filter::builder()
                .name("association.subnet-id")
                .values(&subnets[0])
                .build(),
        )
        .send()
        .await
        .expect("describe-network-acls")
        .network_acls
        .unwrap_or_default()
        .into_iter()
        .flat_map(|a| a.associations.unwrap_or_default())
        .find(|a| a.subnet_id.as_deref() == Some(subnets[0].as_str()))
        .and_then(|a| a.network_acl_association_id)
        .expect("the subnet's ACL association");
    ec2.replace_network_acl_association()
        .association_id(current)
        .network_acl_id(&acl)
        .send()
        .await
        .expect("replace-network-acl-association");
    // SSH open to the world on the instance's group.
    let group = ec2
        .create_security_group()
        .group_name("hand-web")
        .description("web")
        .vpc_id(&vpc)
        .send()
        .await
        .expect("create-security-group")
        .group_id
        .expect("sg id");
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .cidr_ip("0.0.0.0/0")
        .send()
        .await
        .expect("authorize-security-group-ingress");
    let instance = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .instance_type(InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .subnet_id(&subnets[0])
        .security_group_ids(&group)
        .send()
        .await
        .expect("run-instances")
        .instances
        .unwrap_or_default()
        .into_iter()
        .next()
        .and_then(|i| i.instance_id)
        .expect("instance id");
    // An unencrypted data volume, attached; a snapshot of it shared with everyone.
    let volume = ec2
        .create_volume()
        .availability_zone(format!("{region}a"))
        .size(8)
        .encrypted(false)
        .send()
        .await
        .expect("create-volume")
        .volume_id
        .expect("volume id");
    ec2.attach_volume()
        .volume_id(&volume)
        .instance_id(&instance)
        .device("/dev/sdf")
        .send()
        .await
        .expect("attach-volume");
    let snapshot = ec2
        .create_snapshot()
        .volume_id(&volume)
        .send()
        .await
        .expect("create-snapshot")
        .snapshot_id
        .expect("snapshot id");
    // The CLI's form (`--attribute createVolumePermission --operation-type add --group-names
    // all`): moto ignores the structured CreateVolumePermission form that AWS also accepts.
    ec2.modify_snapshot_attribute()
        .snapshot_id(&snapshot)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .operation_type(OperationType::Add)
        .group_names("all")
        .send()
        .await
        .expect("modify-snapshot-attribute --create-volume-permission all");
    // An internet-facing ALB whose only listener is plain HTTP.
    let lb = elb
        .create_load_balancer()
        .name("hand-alb")
        .set_subnets(Some(subnets.clone()))
        .security_groups(&group)
        .send()
        .await
        .expect("create-load-balancer")
        .load_balancers
        .unwrap_or_default()
        .into_iter()
        .next()
        .and_then(|l| l.load_balancer_arn)
        .expect("lb arn");
    let tg = elb
        .create_target_group()
        .name("hand-web")
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id(&vpc)
        .send()
        .await
        .expect("create-target-group")
        .target_groups
        .unwrap_or_default()
        .into_iter()
        .next()
        .and_then(|t| t.target_group_arn)
        .expect("tg arn");
    elb.create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&tg)
                .build(),
        )
        .send()
        .await
        .expect("create-listener");
    HandBuilt {
        subnets,
        instance,
        volume,
        snapshot,
        acl,
    }
}
