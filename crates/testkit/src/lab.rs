//! An independent builder of the classic HA lab (see `shared/reference/ha-lab.md`).
//!
//! It talks to the AWS SDK directly and uses no haven crate: it is the oracle that tests compare
//! haven's discovery and actions against. It expects a fresh (or reset) moto server.

use std::fmt::Debug;

use aws_config::SdkConfig;
use aws_sdk_autoscaling as autoscaling;
use aws_sdk_ec2 as ec2;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_elasticloadbalancingv2 as elbv2;
use aws_sdk_iam as iam;
use aws_sdk_rds as rds;
use ec2::types::{
    AttributeBooleanValue, DomainType, InstanceType, IpPermission, IpRange,
    LaunchTemplateHttpTokensState, LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataEndpointState, LaunchTemplateInstanceMetadataOptionsRequest,
    RequestLaunchTemplateData, ResourceType, TagSpecification, UserIdGroupPair,
};

use crate::moto::sdk_config_for;

/// The primary Region of the lab.
pub const PRIMARY: &str = "ap-northeast-2";
/// The disaster-recovery Region of the lab.
pub const DR: &str = "us-east-1";
/// The AMI the launch template uses (Amazon Linux 2023; it exists in moto's built-in images).
pub const BASE_AMI: &str = "ami-087e08db3e40f7429";
/// The tag every lab resource carries besides its `Name` tag.
pub const LAB_TAG: (&str, &str) = ("lab", "ha");
/// The user data of launch template `lab-web` v1 (plain text; sent base64-encoded).
pub const WEB_USER_DATA: &str = "#!/bin/bash\n\
dnf install -y nginx\n\
echo ok > /usr/share/nginx/html/health\n\
systemctl enable --now nginx\n";
/// The console password given to `lab-alice` (test data only; it satisfies the lab's policy).
pub const ALICE_INITIAL_PASSWORD: &str = "Haven-Lab-Temp-2026!";

const PRIMARY_AZS: [&str; 2] = ["ap-northeast-2a", "ap-northeast-2b"];
const DR_AZS: [&str; 2] = ["us-east-1a", "us-east-1b"];
const EC2_TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// Every identifier of the lab that tests assert on. Pairs are ordered (AZ a, AZ b).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lab {
    /// The primary VPC (`lab-vpc`, 10.0.0.0/16).
    pub vpc_id: String,
    /// Public subnets `lab-public-a`, `lab-public-b`.
    pub public_subnet_ids: [String; 2],
    /// Private subnets `lab-private-a`, `lab-private-b`.
    pub private_subnet_ids: [String; 2],
    /// The internet gateway attached to the VPC.
    pub igw_id: String,
    /// Elastic IP allocations of the NAT gateways (a, b).
    pub eip_allocation_ids: [String; 2],
    /// One NAT gateway per AZ, each in that AZ's public subnet (a, b).
    pub nat_gateway_ids: [String; 2],
    /// The public route table (0.0.0.0/0 → IGW), associated with both public subnets.
    pub public_route_table_id: String,
    /// Private route tables (0.0.0.0/0 → that AZ's NAT), one per AZ (a, b).
    pub private_route_table_ids: [String; 2],
    /// Security group `lab-alb` (80 and 443 from anywhere).
    pub alb_sg_id: String,
    /// Security group `lab-app` (80 from `lab-alb` only).
    pub app_sg_id: String,
    /// Security group `lab-db` (3306 from `lab-app` only).
    pub db_sg_id: String,
    /// IAM group `lab-operators` (AdministratorAccess).
    pub iam_group: String,
    /// IAM user `lab-alice` (login profile, one access key, member of the group).
    pub iam_user: String,
    /// The access key id of `lab-alice`.
    pub iam_access_key_id: String,
    /// The secret of that access key (moto-issued; using it makes STS answer as `lab-alice`).
    pub iam_secret_access_key: String,
    /// IAM role `lab-ec2-role` (EC2 trust, AmazonSSMManagedInstanceCore).
    pub iam_role: String,
    /// Instance profile `lab-ec2-profile` containing the role.
    pub instance_profile: String,
    /// The instance profile's ARN.
    pub instance_profile_arn: String,
    /// Launch template `lab-web` (version 1 is the default and the one the ASG uses).
    pub launch_template_id: String,
    /// The launch template's name.
    pub launch_template_name: String,
    /// Target group `lab-web-tg`.
    pub target_group_arn: String,
    /// The internet-facing ALB `lab-alb`.
    pub load_balancer_arn: String,
    /// The ALB's DNS name (moto's does not resolve).
    pub load_balancer_dns_name: String,
    /// The HTTP:80 listener forwarding to the target group.
    pub listener_arn: String,
    /// Auto Scaling group `lab-asg`.
    pub asg_name: String,
    /// The target-tracking policy (ASGAverageCPUUtilization 50).
    pub scaling_policy_name: String,
    /// The ASG's instances right after creation, sorted (moto puts them all in the first subnet).
    pub asg_instance_ids: Vec<String>,
    /// DB subnet group `lab-db-subnets`.
    pub db_subnet_group: String,
    /// The Multi-AZ MySQL primary `lab-db`.
    pub db_identifier: String,
    /// The primary's ARN.
    pub db_arn: String,
    /// The Secrets Manager ARN of the primary's managed master password.
    pub db_master_secret_arn: String,
    /// The same-Region read replica `lab-db-replica-1` (ap-northeast-2b).
    pub db_replica_identifier: String,
    /// The same-Region replica's ARN.
    pub db_replica_arn: String,
    /// The instance the AMI was made from.
    pub ami_source_instance_id: String,
    /// AMI `lab-web-ami` in the primary Region.
    pub ami_id: String,
    /// The root volume that was snapshotted.
    pub snapshot_volume_id: String,
    /// Snapshot "lab web root volume" in the primary Region.
    pub snapshot_id: String,
    /// The DR VPC `lab-dr-vpc` (10.1.0.0/16) in us-east-1.
    pub dr_vpc_id: String,
    /// DR private subnets in us-east-1a, us-east-1b.
    pub dr_private_subnet_ids: [String; 2],
    /// The copy of the AMI in us-east-1.
    pub dr_ami_id: String,
    /// The copy of the snapshot in us-east-1.
    pub dr_snapshot_id: String,
    /// The cross-Region read replica `lab-db-dr` in us-east-1.
    pub dr_replica_identifier: String,
    /// The cross-Region replica's ARN (in us-east-1).
    pub dr_replica_arn: String,
}

/// A lab step failed: which step and call, and the AWS error code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("lab step `{step}` failed at {action}: {code}: {message}")]
pub struct LabError {
    /// The builder step (`network`, `security`, `iam`, `load_balancer`, `compute`, ...).
    pub step: &'static str,
    /// The API action that failed, e.g. `CreateNatGateway`.
    pub action: &'static str,
    /// The AWS error code, or the kind of failure when there is none (e.g. `DispatchFailure`).
    pub code: String,
    /// The AWS error message, or a readable description of the failure.
    pub message: String,
}

impl LabError {
    fn missing(step: &'static str, action: &'static str, what: &str) -> Self {
        Self {
            step,
            action,
            code: "MissingField".into(),
            message: format!("the response has no {what}"),
        }
    }
}

/// Maps an SDK result to a [`LabError`] naming the step and action.
trait StepResult<T> {
    fn step(self, step: &'static str, action: &'static str) -> Result<T, LabError>;
}

impl<T, E, R> StepResult<T> for Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: Debug + 'static,
{
    fn step(self, step: &'static str, action: &'static str) -> Result<T, LabError> {
        self.map_err(|error| {
            let code = error.code().map(str::to_owned).unwrap_or_else(|| {
                match &error {
                    SdkError::ConstructionFailure(_) => "ConstructionFailure",
                    SdkError::TimeoutError(_) => "Timeout",
                    SdkError::DispatchFailure(_) => "DispatchFailure",
                    SdkError::ResponseError(_) => "ResponseError",
                    _ => "Unhandled",
                }
                .to_owned()
            });
            let message = error
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| DisplayErrorContext(&error).to_string());
            LabError {
                step,
                action,
                code,
                message,
            }
        })
    }
}

/// Turns an `Option` from a response into a [`LabError`] when the field is absent.
fn required<T: Into<String>>(
    value: Option<T>,
    step: &'static str,
    action: &'static str,
    what: &str,
) -> Result<String, LabError> {
    value
        .map(Into::into)
        .ok_or_else(|| LabError::missing(step, action, what))
}

/// SDK clients for one Region.
struct Clients {
    ec2: ec2::Client,
    elbv2: elbv2::Client,
    autoscaling: autoscaling::Client,
    iam: iam::Client,
    rds: rds::Client,
}

impl Clients {
    fn new(config: &SdkConfig) -> Self {
        Self {
            ec2: ec2::Client::new(config),
            elbv2: elbv2::Client::new(config),
            autoscaling: autoscaling::Client::new(config),
            iam: iam::Client::new(config),
            rds: rds::Client::new(config),
        }
    }
}

fn ec2_tag(key: &str, value: &str) -> ec2::types::Tag {
    ec2::types::Tag::builder().key(key).value(value).build()
}

/// `Name=<name>` and `lab=ha` for a resource created by an EC2 call.
fn ec2_tags(resource: ResourceType, name: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .tags(ec2_tag("Name", name))
        .tags(ec2_tag(LAB_TAG.0, LAB_TAG.1))
        .build()
}

fn enabled() -> AttributeBooleanValue {
    AttributeBooleanValue::builder().value(true).build()
}

/// Builds the whole lab against `endpoint` (a moto server or a proxy in front of one).
pub async fn build(endpoint: &str) -> Result<Lab, LabError> {
    let primary = Clients::new(&sdk_config_for(endpoint, PRIMARY).await);
    let dr = Clients::new(&sdk_config_for(endpoint, DR).await);

    let network = network(&primary.ec2).await?;
    let security = security(&primary.ec2, &network.vpc_id).await?;
    let identity = identity(&primary.iam).await?;
    let balancer = load_balancer(&primary.elbv2, &network, &security).await?;
    let compute = compute(&primary, &network, &security, &identity, &balancer).await?;
    let database = database(&primary.rds, &network, &security).await?;
    let images = images(&primary.ec2, &compute.asg_instance_ids).await?;
    let disaster_recovery = disaster_recovery(&dr, &images, &database).await?;

    Ok(Lab {
        vpc_id: network.vpc_id,
        public_subnet_ids: network.public_subnet_ids,
        private_subnet_ids: network.private_subnet_ids,
        igw_id: network.igw_id,
        eip_allocation_ids: network.eip_allocation_ids,
        nat_gateway_ids: network.nat_gateway_ids,
        public_route_table_id: network.public_route_table_id,
        private_route_table_ids: network.private_route_table_ids,
        alb_sg_id: security.alb_sg_id,
        app_sg_id: security.app_sg_id,
        db_sg_id: security.db_sg_id,
        iam_group: identity.group,
        iam_user: identity.user,
        iam_access_key_id: identity.access_key_id,
        iam_secret_access_key: identity.secret_access_key,
        iam_role: identity.role,
        instance_profile: identity.instance_profile,
        instance_profile_arn: identity.instance_profile_arn,
        launch_template_id: compute.launch_template_id,
        launch_template_name: compute.launch_template_name,
        target_group_arn: balancer.target_group_arn,
        load_balancer_arn: balancer.load_balancer_arn,
        load_balancer_dns_name: balancer.dns_name,
        listener_arn: balancer.listener_arn,
        asg_name: compute.asg_name,
        scaling_policy_name: compute.scaling_policy_name,
        asg_instance_ids: compute.asg_instance_ids,
        db_subnet_group: database.subnet_group,
        db_identifier: database.identifier,
        db_arn: database.arn,
        db_master_secret_arn: database.master_secret_arn,
        db_replica_identifier: database.replica_identifier,
        db_replica_arn: database.replica_arn,
        ami_source_instance_id: images.source_instance_id,
        ami_id: images.ami_id,
        snapshot_volume_id: images.volume_id,
        snapshot_id: images.snapshot_id,
        dr_vpc_id: disaster_recovery.vpc_id,
        dr_private_subnet_ids: disaster_recovery.private_subnet_ids,
        dr_ami_id: disaster_recovery.ami_id,
        dr_snapshot_id: disaster_recovery.snapshot_id,
        dr_replica_identifier: disaster_recovery.replica_identifier,
        dr_replica_arn: disaster_recovery.replica_arn,
    })
}

// ---------------------------------------------------------------------------------------------
// network

struct Network {
    vpc_id: String,
    public_subnet_ids: [String; 2],
    private_subnet_ids: [String; 2],
    igw_id: String,
    eip_allocation_ids: [String; 2],
    nat_gateway_ids: [String; 2],
    public_route_table_id: String,
    private_route_table_ids: [String; 2],
}

async fn network(ec2: &ec2::Client) -> Result<Network, LabError> {
    const STEP: &str = "network";
    let vpc_id = create_vpc(ec2, STEP, "10.0.0.0/16", "lab-vpc").await?;
    ec2.modify_vpc_attribute()
        .vpc_id(&vpc_id)
        .enable_dns_hostnames(enabled())
        .send()
        .await
        .step(STEP, "ModifyVpcAttribute")?;

    let public_a = create_subnet(
        ec2,
        STEP,
        &vpc_id,
        "10.0.0.0/24",
        PRIMARY_AZS[0],
        "lab-public-a",
    );
    let public_a = public_a.await?;
    let public_b = create_subnet(
        ec2,
        STEP,
        &vpc_id,
        "10.0.1.0/24",
        PRIMARY_AZS[1],
        "lab-public-b",
    );
    let public_b = public_b.await?;
    let private_a = create_subnet(
        ec2,
        STEP,
        &vpc_id,
        "10.0.10.0/24",
        PRIMARY_AZS[0],
        "lab-private-a",
    );
    let private_a = private_a.await?;
    let private_b = create_subnet(
        ec2,
        STEP,
        &vpc_id,
        "10.0.11.0/24",
        PRIMARY_AZS[1],
        "lab-private-b",
    );
    let private_b = private_b.await?;
    for subnet in [&public_a, &public_b] {
        ec2.modify_subnet_attribute()
            .subnet_id(subnet)
            .map_public_ip_on_launch(enabled())
            .send()
            .await
            .step(STEP, "ModifySubnetAttribute")?;
    }

    let igw = ec2
        .create_internet_gateway()
        .tag_specifications(ec2_tags(ResourceType::InternetGateway, "lab-igw"))
        .send()
        .await
        .step(STEP, "CreateInternetGateway")?;
    let igw_id = required(
        igw.internet_gateway()
            .and_then(|igw| igw.internet_gateway_id()),
        STEP,
        "CreateInternetGateway",
        "internet gateway id",
    )?;
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw_id)
        .vpc_id(&vpc_id)
        .send()
        .await
        .step(STEP, "AttachInternetGateway")?;

    let public_route_table_id = create_route_table(ec2, STEP, &vpc_id, "lab-public-rt").await?;
    ec2.create_route()
        .route_table_id(&public_route_table_id)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw_id)
        .send()
        .await
        .step(STEP, "CreateRoute")?;
    for subnet in [&public_a, &public_b] {
        associate_route_table(ec2, STEP, &public_route_table_id, subnet).await?;
    }

    // One NAT gateway per AZ (the HA choice), each with its own private route table.
    let mut eip_allocation_ids = Vec::with_capacity(2);
    let mut nat_gateway_ids = Vec::with_capacity(2);
    let mut private_route_table_ids = Vec::with_capacity(2);
    for ((public, private), suffix) in [(&public_a, &private_a), (&public_b, &private_b)]
        .into_iter()
        .zip(["a", "b"])
    {
        let eip = ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(ec2_tags(
                ResourceType::ElasticIp,
                &format!("lab-nat-{suffix}-eip"),
            ))
            .send()
            .await
            .step(STEP, "AllocateAddress")?;
        let allocation_id = required(
            eip.allocation_id(),
            STEP,
            "AllocateAddress",
            "allocation id",
        )?;
        let nat = ec2
            .create_nat_gateway()
            .subnet_id(public)
            .allocation_id(&allocation_id)
            .tag_specifications(ec2_tags(
                ResourceType::Natgateway,
                &format!("lab-nat-{suffix}"),
            ))
            .send()
            .await
            .step(STEP, "CreateNatGateway")?;
        let nat_id = required(
            nat.nat_gateway().and_then(|nat| nat.nat_gateway_id()),
            STEP,
            "CreateNatGateway",
            "NAT gateway id",
        )?;
        let route_table_id =
            create_route_table(ec2, STEP, &vpc_id, &format!("lab-private-rt-{suffix}")).await?;
        ec2.create_route()
            .route_table_id(&route_table_id)
            .destination_cidr_block("0.0.0.0/0")
            .nat_gateway_id(&nat_id)
            .send()
            .await
            .step(STEP, "CreateRoute")?;
        associate_route_table(ec2, STEP, &route_table_id, private).await?;
        eip_allocation_ids.push(allocation_id);
        nat_gateway_ids.push(nat_id);
        private_route_table_ids.push(route_table_id);
    }

    Ok(Network {
        vpc_id,
        public_subnet_ids: [public_a, public_b],
        private_subnet_ids: [private_a, private_b],
        igw_id,
        eip_allocation_ids: pair(eip_allocation_ids),
        nat_gateway_ids: pair(nat_gateway_ids),
        public_route_table_id,
        private_route_table_ids: pair(private_route_table_ids),
    })
}

/// The two per-AZ values collected in a loop over exactly two AZs.
fn pair(values: Vec<String>) -> [String; 2] {
    let mut values = values.into_iter();
    [
        values.next().unwrap_or_default(),
        values.next().unwrap_or_default(),
    ]
}

async fn create_vpc(
    ec2: &ec2::Client,
    step: &'static str,
    cidr: &str,
    name: &str,
) -> Result<String, LabError> {
    let vpc = ec2
        .create_vpc()
        .cidr_block(cidr)
        .tag_specifications(ec2_tags(ResourceType::Vpc, name))
        .send()
        .await
        .step(step, "CreateVpc")?;
    required(
        vpc.vpc().and_then(|vpc| vpc.vpc_id()),
        step,
        "CreateVpc",
        "VPC id",
    )
}

async fn create_subnet(
    ec2: &ec2::Client,
    step: &'static str,
    vpc_id: &str,
    cidr: &str,
    zone: &str,
    name: &str,
) -> Result<String, LabError> {
    let subnet = ec2
        .create_subnet()
        .vpc_id(vpc_id)
        .cidr_block(cidr)
        .availability_zone(zone)
        .tag_specifications(ec2_tags(ResourceType::Subnet, name))
        .send()
        .await
        .step(step, "CreateSubnet")?;
    required(
        subnet.subnet().and_then(|subnet| subnet.subnet_id()),
        step,
        "CreateSubnet",
        "subnet id",
    )
}

async fn create_route_table(
    ec2: &ec2::Client,
    step: &'static str,
    vpc_id: &str,
    name: &str,
) -> Result<String, LabError> {
    let table = ec2
        .create_route_table()
        .vpc_id(vpc_id)
        .tag_specifications(ec2_tags(ResourceType::RouteTable, name))
        .send()
        .await
        .step(step, "CreateRouteTable")?;
    required(
        table.route_table().and_then(|table| table.route_table_id()),
        step,
        "CreateRouteTable",
        "route table id",
    )
}

async fn associate_route_table(
    ec2: &ec2::Client,
    step: &'static str,
    route_table_id: &str,
    subnet_id: &str,
) -> Result<(), LabError> {
    ec2.associate_route_table()
        .route_table_id(route_table_id)
        .subnet_id(subnet_id)
        .send()
        .await
        .step(step, "AssociateRouteTable")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// security

struct Security {
    alb_sg_id: String,
    app_sg_id: String,
    db_sg_id: String,
}

async fn security(ec2: &ec2::Client, vpc_id: &str) -> Result<Security, LabError> {
    const STEP: &str = "security";
    let alb_sg_id = create_security_group(ec2, vpc_id, "lab-alb", "ALB: HTTP/HTTPS from anywhere");
    let alb_sg_id = alb_sg_id.await?;
    let app_sg_id = create_security_group(ec2, vpc_id, "lab-app", "App: HTTP from the ALB only");
    let app_sg_id = app_sg_id.await?;
    let db_sg_id = create_security_group(ec2, vpc_id, "lab-db", "DB: MySQL from the app only");
    let db_sg_id = db_sg_id.await?;

    let from_anywhere = |port: i32| {
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(port)
            .to_port(port)
            .ip_ranges(
                IpRange::builder()
                    .cidr_ip("0.0.0.0/0")
                    .description("internet")
                    .build(),
            )
            .build()
    };
    let from_group = |port: i32, group_id: &str, description: &str| {
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(port)
            .to_port(port)
            .user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(group_id)
                    .description(description)
                    .build(),
            )
            .build()
    };
    ec2.authorize_security_group_ingress()
        .group_id(&alb_sg_id)
        .ip_permissions(from_anywhere(80))
        .ip_permissions(from_anywhere(443))
        .send()
        .await
        .step(STEP, "AuthorizeSecurityGroupIngress")?;
    ec2.authorize_security_group_ingress()
        .group_id(&app_sg_id)
        .ip_permissions(from_group(80, &alb_sg_id, "from lab-alb"))
        .send()
        .await
        .step(STEP, "AuthorizeSecurityGroupIngress")?;
    ec2.authorize_security_group_ingress()
        .group_id(&db_sg_id)
        .ip_permissions(from_group(3306, &app_sg_id, "from lab-app"))
        .send()
        .await
        .step(STEP, "AuthorizeSecurityGroupIngress")?;

    Ok(Security {
        alb_sg_id,
        app_sg_id,
        db_sg_id,
    })
}

async fn create_security_group(
    ec2: &ec2::Client,
    vpc_id: &str,
    name: &str,
    description: &str,
) -> Result<String, LabError> {
    let group = ec2
        .create_security_group()
        .group_name(name)
        .description(description)
        .vpc_id(vpc_id)
        .tag_specifications(ec2_tags(ResourceType::SecurityGroup, name))
        .send()
        .await
        .step("security", "CreateSecurityGroup")?;
    required(
        group.group_id(),
        "security",
        "CreateSecurityGroup",
        "group id",
    )
}

// ---------------------------------------------------------------------------------------------
// iam

struct Identity {
    group: String,
    user: String,
    access_key_id: String,
    secret_access_key: String,
    role: String,
    instance_profile: String,
    instance_profile_arn: String,
}

fn iam_lab_tag() -> iam::types::Tag {
    // Key and value are set, so `build` cannot fail; an error here is a bug in this file.
    iam::types::Tag::builder()
        .key(LAB_TAG.0)
        .value(LAB_TAG.1)
        .build()
        .expect("IAM tag with key and value")
}

async fn identity(iam: &iam::Client) -> Result<Identity, LabError> {
    const STEP: &str = "iam";
    let group = "lab-operators";
    let user = "lab-alice";
    let role = "lab-ec2-role";
    let profile = "lab-ec2-profile";

    iam.create_group()
        .group_name(group)
        .send()
        .await
        .step(STEP, "CreateGroup")?;
    iam.attach_group_policy()
        .group_name(group)
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .step(STEP, "AttachGroupPolicy")?;

    iam.create_user()
        .user_name(user)
        .tags(iam_lab_tag())
        .send()
        .await
        .step(STEP, "CreateUser")?;
    iam.add_user_to_group()
        .group_name(group)
        .user_name(user)
        .send()
        .await
        .step(STEP, "AddUserToGroup")?;
    iam.create_login_profile()
        .user_name(user)
        .password(ALICE_INITIAL_PASSWORD)
        .password_reset_required(true)
        .send()
        .await
        .step(STEP, "CreateLoginProfile")?;
    let key = iam
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .step(STEP, "CreateAccessKey")?;
    let key = key
        .access_key()
        .ok_or_else(|| LabError::missing(STEP, "CreateAccessKey", "access key"))?;

    iam.create_role()
        .role_name(role)
        .assume_role_policy_document(EC2_TRUST_POLICY)
        .description("lab web servers: Session Manager access")
        .tags(iam_lab_tag())
        .send()
        .await
        .step(STEP, "CreateRole")?;
    iam.attach_role_policy()
        .role_name(role)
        .policy_arn("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
        .send()
        .await
        .step(STEP, "AttachRolePolicy")?;
    let created_profile = iam
        .create_instance_profile()
        .instance_profile_name(profile)
        .tags(iam_lab_tag())
        .send()
        .await
        .step(STEP, "CreateInstanceProfile")?;
    let instance_profile_arn = created_profile
        .instance_profile()
        .map(|profile| profile.arn().to_owned())
        .ok_or_else(|| LabError::missing(STEP, "CreateInstanceProfile", "instance profile"))?;
    iam.add_role_to_instance_profile()
        .instance_profile_name(profile)
        .role_name(role)
        .send()
        .await
        .step(STEP, "AddRoleToInstanceProfile")?;

    iam.update_account_password_policy()
        .minimum_password_length(14)
        .require_symbols(true)
        .require_numbers(true)
        .require_uppercase_characters(true)
        .require_lowercase_characters(true)
        .allow_users_to_change_password(true)
        .max_password_age(90)
        .password_reuse_prevention(24)
        .send()
        .await
        .step(STEP, "UpdateAccountPasswordPolicy")?;

    Ok(Identity {
        group: group.into(),
        user: user.into(),
        access_key_id: key.access_key_id().to_owned(),
        secret_access_key: key.secret_access_key().to_owned(),
        role: role.into(),
        instance_profile: profile.into(),
        instance_profile_arn,
    })
}

// ---------------------------------------------------------------------------------------------
// load_balancer

struct Balancer {
    target_group_arn: String,
    load_balancer_arn: String,
    dns_name: String,
    listener_arn: String,
}

fn elbv2_lab_tag() -> elbv2::types::Tag {
    elbv2::types::Tag::builder()
        .key(LAB_TAG.0)
        .value(LAB_TAG.1)
        .build()
}

async fn load_balancer(
    elbv2: &elbv2::Client,
    network: &Network,
    security: &Security,
) -> Result<Balancer, LabError> {
    use elbv2::types::{
        Action, ActionTypeEnum, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, Matcher,
        ProtocolEnum, TargetTypeEnum,
    };
    const STEP: &str = "load_balancer";

    let target_group = elbv2
        .create_target_group()
        .name("lab-web-tg")
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id(&network.vpc_id)
        .target_type(TargetTypeEnum::Instance)
        .health_check_protocol(ProtocolEnum::Http)
        .health_check_path("/health")
        .health_check_interval_seconds(15)
        .health_check_timeout_seconds(5)
        .healthy_threshold_count(3)
        .unhealthy_threshold_count(2)
        .matcher(Matcher::builder().http_code("200").build())
        .tags(elbv2_lab_tag())
        .send()
        .await
        .step(STEP, "CreateTargetGroup")?;
    let target_group_arn = required(
        target_group
            .target_groups()
            .first()
            .and_then(|group| group.target_group_arn()),
        STEP,
        "CreateTargetGroup",
        "target group ARN",
    )?;

    let created = elbv2
        .create_load_balancer()
        .name("lab-alb")
        .r#type(LoadBalancerTypeEnum::Application)
        .scheme(LoadBalancerSchemeEnum::InternetFacing)
        .subnets(&network.public_subnet_ids[0])
        .subnets(&network.public_subnet_ids[1])
        .security_groups(&security.alb_sg_id)
        .tags(elbv2_lab_tag())
        .send()
        .await
        .step(STEP, "CreateLoadBalancer")?;
    let balancer = created
        .load_balancers()
        .first()
        .ok_or_else(|| LabError::missing(STEP, "CreateLoadBalancer", "load balancer"))?;
    let load_balancer_arn = required(
        balancer.load_balancer_arn(),
        STEP,
        "CreateLoadBalancer",
        "load balancer ARN",
    )?;
    let dns_name = required(balancer.dns_name(), STEP, "CreateLoadBalancer", "DNS name")?;

    let listener = elbv2
        .create_listener()
        .load_balancer_arn(&load_balancer_arn)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&target_group_arn)
                .build(),
        )
        .tags(elbv2_lab_tag())
        .send()
        .await
        .step(STEP, "CreateListener")?;
    let listener_arn = required(
        listener
            .listeners()
            .first()
            .and_then(|listener| listener.listener_arn()),
        STEP,
        "CreateListener",
        "listener ARN",
    )?;

    Ok(Balancer {
        target_group_arn,
        load_balancer_arn,
        dns_name,
        listener_arn,
    })
}

// ---------------------------------------------------------------------------------------------
// compute

struct Compute {
    launch_template_id: String,
    launch_template_name: String,
    asg_name: String,
    scaling_policy_name: String,
    asg_instance_ids: Vec<String>,
}

async fn compute(
    clients: &Clients,
    network: &Network,
    security: &Security,
    identity: &Identity,
    balancer: &Balancer,
) -> Result<Compute, LabError> {
    use autoscaling::types::{
        LaunchTemplateSpecification, MetricType, PredefinedMetricSpecification,
        TargetTrackingConfiguration,
    };
    const STEP: &str = "compute";
    let launch_template_name = "lab-web";
    let asg_name = "lab-asg";
    let scaling_policy_name = "lab-cpu-50";

    // Full data in the version made by CreateLaunchTemplate: moto's ASG crashes on UserData in
    // versions made by CreateLaunchTemplateVersion, and later versions inherit nothing.
    let data = RequestLaunchTemplateData::builder()
        .image_id(BASE_AMI)
        .instance_type(InstanceType::T3Micro)
        .security_group_ids(&security.app_sg_id)
        .iam_instance_profile(
            LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                .name(&identity.instance_profile)
                .build(),
        )
        .metadata_options(
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .http_endpoint(LaunchTemplateInstanceMetadataEndpointState::Enabled)
                .http_tokens(LaunchTemplateHttpTokensState::Required)
                .http_put_response_hop_limit(2)
                .build(),
        )
        .user_data(base64_encode(WEB_USER_DATA.as_bytes()))
        .build();
    let template = clients
        .ec2
        .create_launch_template()
        .launch_template_name(launch_template_name)
        .version_description("v1: nginx web server")
        .launch_template_data(data)
        .tag_specifications(ec2_tags(ResourceType::LaunchTemplate, launch_template_name))
        .send()
        .await
        .step(STEP, "CreateLaunchTemplate")?;
    let launch_template_id = required(
        template
            .launch_template()
            .and_then(|template| template.launch_template_id()),
        STEP,
        "CreateLaunchTemplate",
        "launch template id",
    )?;

    let asg_tag = |key: &str, value: &str| {
        autoscaling::types::Tag::builder()
            .key(key)
            .value(value)
            .propagate_at_launch(true)
            .resource_id(asg_name)
            .resource_type("auto-scaling-group")
            .build()
    };
    clients
        .autoscaling
        .create_auto_scaling_group()
        .auto_scaling_group_name(asg_name)
        .launch_template(
            LaunchTemplateSpecification::builder()
                .launch_template_id(&launch_template_id)
                .version("1")
                .build(),
        )
        .vpc_zone_identifier(network.private_subnet_ids.join(","))
        .target_group_arns(&balancer.target_group_arn)
        .min_size(2)
        .desired_capacity(2)
        .max_size(4)
        .health_check_type("ELB")
        .health_check_grace_period(300)
        .tags(asg_tag("Name", "lab-web"))
        .tags(asg_tag(LAB_TAG.0, LAB_TAG.1))
        .send()
        .await
        .step(STEP, "CreateAutoScalingGroup")?;
    clients
        .autoscaling
        .put_scaling_policy()
        .auto_scaling_group_name(asg_name)
        .policy_name(scaling_policy_name)
        .policy_type("TargetTrackingScaling")
        .target_tracking_configuration(
            TargetTrackingConfiguration::builder()
                .predefined_metric_specification(
                    PredefinedMetricSpecification::builder()
                        .predefined_metric_type(MetricType::AsgAverageCpuUtilization)
                        .build(),
                )
                .target_value(50.0)
                .build(),
        )
        .send()
        .await
        .step(STEP, "PutScalingPolicy")?;

    let groups = clients
        .autoscaling
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(asg_name)
        .send()
        .await
        .step(STEP, "DescribeAutoScalingGroups")?;
    let mut asg_instance_ids: Vec<String> = groups
        .auto_scaling_groups()
        .iter()
        .flat_map(|group| group.instances())
        .filter_map(|instance| instance.instance_id().map(str::to_owned))
        .collect();
    asg_instance_ids.sort();
    if asg_instance_ids.is_empty() {
        return Err(LabError::missing(
            STEP,
            "DescribeAutoScalingGroups",
            "instance in lab-asg",
        ));
    }

    Ok(Compute {
        launch_template_id,
        launch_template_name: launch_template_name.into(),
        asg_name: asg_name.into(),
        scaling_policy_name: scaling_policy_name.into(),
        asg_instance_ids,
    })
}

// ---------------------------------------------------------------------------------------------
// database

struct Database {
    subnet_group: String,
    identifier: String,
    arn: String,
    master_secret_arn: String,
    replica_identifier: String,
    replica_arn: String,
}

fn rds_lab_tag() -> rds::types::Tag {
    rds::types::Tag::builder()
        .key(LAB_TAG.0)
        .value(LAB_TAG.1)
        .build()
}

async fn database(
    rds: &rds::Client,
    network: &Network,
    security: &Security,
) -> Result<Database, LabError> {
    const STEP: &str = "database";
    let subnet_group = "lab-db-subnets";
    let identifier = "lab-db";
    let replica_identifier = "lab-db-replica-1";

    rds.create_db_subnet_group()
        .db_subnet_group_name(subnet_group)
        .db_subnet_group_description("lab database: private subnets")
        .subnet_ids(&network.private_subnet_ids[0])
        .subnet_ids(&network.private_subnet_ids[1])
        .tags(rds_lab_tag())
        .send()
        .await
        .step(STEP, "CreateDBSubnetGroup")?;

    // ManageMasterUserPassword: the password lives in Secrets Manager, never in this code.
    let created = rds
        .create_db_instance()
        .db_instance_identifier(identifier)
        .engine("mysql")
        .engine_version("8.0.35")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .manage_master_user_password(true)
        .multi_az(true)
        .backup_retention_period(7)
        .storage_encrypted(true)
        .publicly_accessible(false)
        .db_subnet_group_name(subnet_group)
        .vpc_security_group_ids(&security.db_sg_id)
        .tags(rds_lab_tag())
        .send()
        .await
        .step(STEP, "CreateDBInstance")?;
    let primary = created
        .db_instance()
        .ok_or_else(|| LabError::missing(STEP, "CreateDBInstance", "DB instance"))?;
    let arn = required(
        primary.db_instance_arn(),
        STEP,
        "CreateDBInstance",
        "DB instance ARN",
    )?;
    let master_secret_arn = required(
        primary
            .master_user_secret()
            .and_then(|secret| secret.secret_arn()),
        STEP,
        "CreateDBInstance",
        "master user secret ARN",
    )?;

    let replica = rds
        .create_db_instance_read_replica()
        .db_instance_identifier(replica_identifier)
        .source_db_instance_identifier(identifier)
        .db_instance_class("db.t3.micro")
        .availability_zone(PRIMARY_AZS[1])
        .tags(rds_lab_tag())
        .send()
        .await
        .step(STEP, "CreateDBInstanceReadReplica")?;
    let replica_arn = required(
        replica
            .db_instance()
            .and_then(|replica| replica.db_instance_arn()),
        STEP,
        "CreateDBInstanceReadReplica",
        "replica ARN",
    )?;

    Ok(Database {
        subnet_group: subnet_group.into(),
        identifier: identifier.into(),
        arn,
        master_secret_arn,
        replica_identifier: replica_identifier.into(),
        replica_arn,
    })
}

// ---------------------------------------------------------------------------------------------
// images

struct Images {
    source_instance_id: String,
    ami_id: String,
    volume_id: String,
    snapshot_id: String,
}

const AMI_NAME: &str = "lab-web-ami";
const SNAPSHOT_DESCRIPTION: &str = "lab web root volume";

async fn images(ec2: &ec2::Client, asg_instance_ids: &[String]) -> Result<Images, LabError> {
    const STEP: &str = "images";
    let source_instance_id = asg_instance_ids
        .first()
        .cloned()
        .ok_or_else(|| LabError::missing(STEP, "CreateImage", "ASG instance"))?;

    let image = ec2
        .create_image()
        .instance_id(&source_instance_id)
        .name(AMI_NAME)
        .description("lab web server image")
        .tag_specifications(ec2_tags(ResourceType::Image, AMI_NAME))
        .send()
        .await
        .step(STEP, "CreateImage")?;
    let ami_id = required(image.image_id(), STEP, "CreateImage", "image id")?;

    let described = ec2
        .describe_instances()
        .instance_ids(&source_instance_id)
        .send()
        .await
        .step(STEP, "DescribeInstances")?;
    let instance = described
        .reservations()
        .iter()
        .flat_map(|reservation| reservation.instances())
        .next()
        .ok_or_else(|| LabError::missing(STEP, "DescribeInstances", "instance"))?;
    let root_device = instance.root_device_name().unwrap_or("/dev/xvda");
    let volume_id = required(
        instance
            .block_device_mappings()
            .iter()
            .find(|mapping| mapping.device_name() == Some(root_device))
            .or_else(|| instance.block_device_mappings().first())
            .and_then(|mapping| mapping.ebs())
            .and_then(|ebs| ebs.volume_id()),
        STEP,
        "DescribeInstances",
        "root volume",
    )?;

    let snapshot = ec2
        .create_snapshot()
        .volume_id(&volume_id)
        .description(SNAPSHOT_DESCRIPTION)
        .tag_specifications(ec2_tags(ResourceType::Snapshot, "lab-web-root"))
        .send()
        .await
        .step(STEP, "CreateSnapshot")?;
    let snapshot_id = required(
        snapshot.snapshot_id(),
        STEP,
        "CreateSnapshot",
        "snapshot id",
    )?;

    Ok(Images {
        source_instance_id,
        ami_id,
        volume_id,
        snapshot_id,
    })
}

// ---------------------------------------------------------------------------------------------
// dr

struct DisasterRecovery {
    vpc_id: String,
    private_subnet_ids: [String; 2],
    ami_id: String,
    snapshot_id: String,
    replica_identifier: String,
    replica_arn: String,
}

async fn disaster_recovery(
    dr: &Clients,
    images: &Images,
    database: &Database,
) -> Result<DisasterRecovery, LabError> {
    const STEP: &str = "dr";
    let replica_identifier = "lab-db-dr";

    let vpc_id = create_vpc(&dr.ec2, STEP, "10.1.0.0/16", "lab-dr-vpc").await?;
    let private_a = create_subnet(
        &dr.ec2,
        STEP,
        &vpc_id,
        "10.1.10.0/24",
        DR_AZS[0],
        "lab-dr-private-a",
    )
    .await?;
    let private_b = create_subnet(
        &dr.ec2,
        STEP,
        &vpc_id,
        "10.1.11.0/24",
        DR_AZS[1],
        "lab-dr-private-b",
    )
    .await?;

    // Descriptions follow the console's convention for copies.
    let copied_image = dr
        .ec2
        .copy_image()
        .source_region(PRIMARY)
        .source_image_id(&images.ami_id)
        .name(AMI_NAME)
        .description(format!(
            "[Copied {} from {PRIMARY}] {AMI_NAME}",
            images.ami_id
        ))
        .send()
        .await
        .step(STEP, "CopyImage")?;
    let ami_id = required(copied_image.image_id(), STEP, "CopyImage", "image id")?;

    let copied_snapshot = dr
        .ec2
        .copy_snapshot()
        .source_region(PRIMARY)
        .source_snapshot_id(&images.snapshot_id)
        .description(format!(
            "[Copied {} from {PRIMARY}] {SNAPSHOT_DESCRIPTION}",
            images.snapshot_id
        ))
        .send()
        .await
        .step(STEP, "CopySnapshot")?;
    let snapshot_id = required(
        copied_snapshot.snapshot_id(),
        STEP,
        "CopySnapshot",
        "snapshot id",
    )?;

    // Tags separately: the copy calls' own tag options are not something moto is known to honour.
    dr.ec2
        .create_tags()
        .resources(&ami_id)
        .tags(ec2_tag("Name", AMI_NAME))
        .tags(ec2_tag(LAB_TAG.0, LAB_TAG.1))
        .send()
        .await
        .step(STEP, "CreateTags")?;
    dr.ec2
        .create_tags()
        .resources(&snapshot_id)
        .tags(ec2_tag("Name", "lab-web-root"))
        .tags(ec2_tag(LAB_TAG.0, LAB_TAG.1))
        .send()
        .await
        .step(STEP, "CreateTags")?;

    // No DBSubnetGroupName: moto looks the DR subnet group up in the source Region.
    let replica = dr
        .rds
        .create_db_instance_read_replica()
        .db_instance_identifier(replica_identifier)
        .source_db_instance_identifier(&database.arn)
        .db_instance_class("db.t3.micro")
        .tags(rds_lab_tag())
        .send()
        .await
        .step(STEP, "CreateDBInstanceReadReplica")?;
    let replica_arn = required(
        replica
            .db_instance()
            .and_then(|replica| replica.db_instance_arn()),
        STEP,
        "CreateDBInstanceReadReplica",
        "replica ARN",
    )?;

    Ok(DisasterRecovery {
        vpc_id,
        private_subnet_ids: [private_a, private_b],
        ami_id,
        snapshot_id,
        replica_identifier: replica_identifier.into(),
        replica_arn,
    })
}

// ---------------------------------------------------------------------------------------------
// bulk instances

/// The most instances one `RunInstances` call launches here.
const BULK_BATCH: usize = 100;

/// Launches `count` plain instances (default VPC, tagged `bulk=true`) in `region`, in
/// `RunInstances` batches of at most 100, and returns their ids in launch order.
pub async fn launch_instances(
    endpoint: &str,
    region: &str,
    count: usize,
) -> Result<Vec<String>, LabError> {
    const STEP: &str = "bulk";
    let ec2 = ec2::Client::new(&sdk_config_for(endpoint, region).await);
    let mut ids = Vec::with_capacity(count);
    while ids.len() < count {
        let batch = (count - ids.len()).min(BULK_BATCH);
        let batch = i32::try_from(batch).unwrap_or(1);
        let launched = ec2
            .run_instances()
            .image_id(BASE_AMI)
            .instance_type(InstanceType::T3Micro)
            .min_count(batch)
            .max_count(batch)
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Instance)
                    .tags(ec2_tag("bulk", "true"))
                    .build(),
            )
            .send()
            .await
            .step(STEP, "RunInstances")?;
        let before = ids.len();
        ids.extend(
            launched
                .instances()
                .iter()
                .filter_map(|instance| instance.instance_id().map(str::to_owned)),
        );
        if ids.len() == before {
            return Err(LabError::missing(STEP, "RunInstances", "instance"));
        }
    }
    Ok(ids)
}

// ---------------------------------------------------------------------------------------------
// base64 (user data), kept here to avoid a dependency for 20 lines

fn base64_encode(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let bytes = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let triple = (u32::from(bytes[0]) << 16) | (u32::from(bytes[1]) << 8) | u32::from(bytes[2]);
        for position in 0..4 {
            if position <= chunk.len() {
                let index = (triple >> (18 - 6 * position)) & 0x3f;
                out.push(char::from(ALPHABET[index as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;

/// Stops an instance, as a person would with `aws ec2 stop-instances` (a change made outside
/// haven, for the dashboard to notice).
pub async fn stop_instance(endpoint: &str, region: &str, id: &str) -> Result<(), LabError> {
    let ec2 = ec2::Client::new(&sdk_config_for(endpoint, region).await);
    ec2.stop_instances()
        .instance_ids(id)
        .send()
        .await
        .step("change", "StopInstances")?;
    Ok(())
}
