//! What findings, events and alarms point at: a resource by kind and id.

use serde::{Deserialize, Serialize};

/// The kind of resource a finding, an event or an alarm is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// The AWS account (root user, password policy).
    Account,
    /// A whole Region.
    Region,
    /// A VPC.
    Vpc,
    /// A subnet.
    Subnet,
    /// A NAT gateway.
    NatGateway,
    /// A security group.
    SecurityGroup,
    /// An EC2 instance.
    Instance,
    /// A launch template.
    LaunchTemplate,
    /// An Auto Scaling group.
    AutoScalingGroup,
    /// A load balancer.
    LoadBalancer,
    /// A target group.
    TargetGroup,
    /// An RDS DB instance.
    DbInstance,
    /// An RDS DB cluster.
    DbCluster,
    /// An AMI.
    Image,
    /// An EBS volume.
    Volume,
    /// An EBS snapshot.
    Snapshot,
    /// An IAM user.
    IamUser,
    /// A Route 53 record name (id: `<hosted zone id>/<name.>`, as `action::dns_record_id`).
    DnsRecord,
    /// A Route 53 health check (id: its UUID).
    DnsHealthCheck,
    /// An ACM certificate (id: its ARN).
    Certificate,
    /// A load balancer listener (id: its ARN).
    Listener,
    /// An RDS DB instance or cluster snapshot (id: its identifier).
    DbSnapshot,
    /// A Classic Load Balancer (id: its name).
    ClassicLoadBalancer,
    /// An Auto Scaling launch configuration (id: its name).
    LaunchConfiguration,
    /// A network ACL.
    NetworkAcl,
    /// An Elastic IP address (id: its allocation id).
    ElasticIp,
    /// A VPC endpoint.
    VpcEndpoint,
    /// A customer managed IAM policy (id: its name).
    IamPolicy,
}

impl ResourceKind {
    /// A snake_case label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Region => "region",
            Self::Vpc => "vpc",
            Self::Subnet => "subnet",
            Self::NatGateway => "nat_gateway",
            Self::SecurityGroup => "security_group",
            Self::Instance => "instance",
            Self::LaunchTemplate => "launch_template",
            Self::AutoScalingGroup => "auto_scaling_group",
            Self::LoadBalancer => "load_balancer",
            Self::TargetGroup => "target_group",
            Self::DbInstance => "db_instance",
            Self::DbCluster => "db_cluster",
            Self::Image => "image",
            Self::Volume => "volume",
            Self::Snapshot => "snapshot",
            Self::IamUser => "iam_user",
            Self::DnsRecord => "dns_record",
            Self::DnsHealthCheck => "dns_health_check",
            Self::Certificate => "certificate",
            Self::Listener => "listener",
            Self::DbSnapshot => "db_snapshot",
            Self::ClassicLoadBalancer => "classic_load_balancer",
            Self::LaunchConfiguration => "launch_configuration",
            Self::NetworkAcl => "network_acl",
            Self::ElasticIp => "elastic_ip",
            Self::VpcEndpoint => "vpc_endpoint",
            Self::IamPolicy => "iam_policy",
        }
    }
}

/// The resource a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceRef {
    /// Its kind.
    pub kind: ResourceKind,
    /// Its id (`sg-…`, a group name, a DB identifier, an ARN for load balancers).
    pub id: String,
    /// Its `Name` tag or name, when it has one distinct from the id.
    pub name: Option<String>,
    /// Its ARN, when known.
    pub arn: Option<String>,
}

impl ResourceRef {
    /// A reference by kind and id.
    pub fn new(kind: ResourceKind, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
            name: None,
            arn: None,
        }
    }

    /// With a name.
    pub fn named(mut self, name: Option<&str>) -> Self {
        self.name = name.map(str::to_string);
        self
    }

    /// With an ARN.
    pub fn with_arn(mut self, arn: Option<&str>) -> Self {
        self.arn = arn.map(str::to_string);
        self
    }

    /// The name if any, else the id.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}
