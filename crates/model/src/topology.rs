//! What was discovered, at a time, for an account: every resource of the HA stack per Region,
//! account-wide IAM, and the errors met while discovering.
//!
//! These are plain data. Relations between resources are derived by functions (see
//! [`crate::relations`]), never stored twice.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod acl;
mod backup;
mod elb;
mod iam_policy;
mod launch_configuration;
mod merge;
mod piece;
mod rds;
mod settings;

pub use acl::{NaclEntry, NetworkAcl};
pub use backup::{BackupSelection, TagCondition, glob};
pub use elb::{
    ClassicAttributes, ClassicListener, ClassicLoadBalancer, ClassicPolicy, WafAssociation,
};
pub use iam_policy::{ManagedPolicy, PolicyStatement, allow_statements, percent_decode};
pub use launch_configuration::LaunchConfiguration;
pub use piece::{Applied, Part, Piece, fragment_of, pieces_of};
pub use rds::DbSecurity;
pub use settings::{FlowLog, RegionSettings, VpcEndpoint};

/// The version of the JSON document written by [`Topology::to_json`].
pub const SCHEMA_VERSION: u32 = 1;

/// Resource tags, sorted by key.
pub type Tags = BTreeMap<String, String>;

/// Everything discovered in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Topology {
    /// Version of this document's layout; see [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When discovery finished.
    pub taken_at: DateTime<Utc>,
    /// The account the credentials belong to, when known.
    pub account_id: Option<String>,
    /// The caller's ARN, when known.
    pub caller_arn: Option<String>,
    /// One entry per Region asked for, in the order asked.
    pub regions: Vec<RegionTopology>,
    /// Account-wide identity and access management.
    pub iam: Option<Iam>,
    /// Route 53 (global): hosted zones with the records that route to load balancers, and health
    /// checks. `None` when not read.
    #[serde(default)]
    pub dns: Option<Dns>,
    /// What failed while discovering; what succeeded is still in the rest of the document.
    pub errors: Vec<DiscoveryError>,
}

/// Route 53, which is global: public and private hosted zones and health checks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dns {
    /// Hosted zones, each with the records haven reads (see [`HostedZone::records`]).
    pub hosted_zones: Vec<HostedZone>,
    /// Health checks, with the status Route 53's checkers report.
    pub health_checks: Vec<DnsHealthCheck>,
}

/// A Route 53 hosted zone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedZone {
    /// Its id without the `/hostedzone/` prefix, e.g. `Z0123456789ABCDEFGHIJ`.
    pub id: String,
    /// Its name as Route 53 spells it, with the final dot: `example.com.`.
    pub name: String,
    /// Private (answers inside associated VPCs only).
    pub private: bool,
    /// How many records the zone holds in all (not only those in [`HostedZone::records`]).
    pub record_count: Option<i64>,
    /// The records that matter to an HA stack: aliases and CNAMEs to load balancers, records
    /// with a routing policy (failover, weighted, latency) or a health check, and ACM
    /// validation CNAMEs. Others (MX, TXT, …) are not kept.
    pub records: Vec<DnsRecord>,
    /// Tags.
    pub tags: Tags,
}

impl HostedZone {
    /// Its address records (`A`, `AAAA`, `CNAME`) grouped by name and type: the record sets
    /// Route 53 chooses among when it answers a name.
    pub fn address_record_sets(&self) -> BTreeMap<(&str, &str), Vec<&DnsRecord>> {
        let mut groups: BTreeMap<(&str, &str), Vec<&DnsRecord>> = BTreeMap::new();
        for record in &self.records {
            if matches!(record.record_type.as_str(), "A" | "AAAA" | "CNAME") {
                groups
                    .entry((record.name.as_str(), record.record_type.as_str()))
                    .or_default()
                    .push(record);
            }
        }
        groups
    }
}

/// A record set of a hosted zone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    /// Its name as Route 53 spells it, with the final dot: `lab.example.com.`.
    pub name: String,
    /// `A`, `AAAA`, `CNAME`, …
    pub record_type: String,
    /// Tells records of the same name and type apart (failover, weighted, latency routing).
    pub set_identifier: Option<String>,
    /// `PRIMARY` or `SECONDARY` for failover routing.
    pub failover: Option<String>,
    /// The weight (0–255) for weighted routing.
    pub weight: Option<i64>,
    /// The Region for latency routing.
    pub latency_region: Option<String>,
    /// Seconds resolvers cache the answer; `None` for an alias (the target's TTL applies: 60 s
    /// for a load balancer).
    pub ttl: Option<i64>,
    /// The AWS resource an alias record answers with.
    pub alias: Option<AliasTarget>,
    /// The values of a plain record (addresses, a CNAME target).
    pub values: Vec<String>,
    /// The Route 53 health check that decides whether the record is answered.
    pub health_check_id: Option<String>,
}

impl DnsRecord {
    /// The DNS name it answers with: the alias target or the CNAME value, lowercase and
    /// without the final dot (`dualstack.` dropped), for matching a load balancer's DNS name.
    pub fn target(&self) -> Option<String> {
        let raw = match &self.alias {
            Some(alias) => alias.dns_name.as_str(),
            None if self.record_type == "CNAME" => self.values.first()?.as_str(),
            None => return None,
        };
        let name = raw.trim_end_matches('.').to_ascii_lowercase();
        Some(
            name.strip_prefix("dualstack.")
                .map(str::to_string)
                .unwrap_or(name),
        )
    }
}

/// Where an alias record points.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasTarget {
    /// The target's hosted zone (for a load balancer: its canonical hosted zone id).
    pub hosted_zone_id: String,
    /// The target's DNS name, e.g. `lab-alb-123.ap-northeast-2.elb.amazonaws.com.`.
    pub dns_name: String,
    /// Route 53 answers the record only while the target has healthy targets.
    pub evaluate_target_health: bool,
}

/// A Route 53 health check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsHealthCheck {
    /// Its id (a UUID).
    pub id: String,
    /// The caller reference it was created with.
    pub caller_reference: Option<String>,
    /// `HTTP`, `HTTPS`, `HTTP_STR_MATCH`, `TCP`, `CALCULATED`, `CLOUDWATCH_METRIC`, …
    pub check_type: String,
    /// The endpoint's DNS name.
    pub fqdn: Option<String>,
    /// The endpoint's IP address.
    pub ip_address: Option<String>,
    /// Port.
    pub port: Option<i32>,
    /// Path requested (HTTP checks).
    pub resource_path: Option<String>,
    /// Seconds between checks by each checker (10 or 30).
    pub request_interval: Option<i32>,
    /// Consecutive failures before the endpoint is unhealthy (1–10).
    pub failure_threshold: Option<i32>,
    /// The result is inverted.
    pub inverted: bool,
    /// Disabled (Route 53 then considers it healthy).
    pub disabled: bool,
    /// What the checkers report: `healthy` when most checkers succeed, `unhealthy` when most
    /// fail, `None` when no status was read.
    pub status: Option<String>,
    /// The newest checker report, e.g. `Failure: Connection timed out…`.
    pub last_report: Option<String>,
    /// Tags.
    pub tags: Tags,
}

/// An ACM certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// ARN.
    pub arn: String,
    /// The main domain name.
    pub domain_name: String,
    /// Every name it covers, the main one included.
    pub subject_alternative_names: Vec<String>,
    /// `PENDING_VALIDATION`, `ISSUED`, `INACTIVE`, `EXPIRED`, `VALIDATION_TIMED_OUT`, `REVOKED`,
    /// `FAILED`.
    pub status: String,
    /// `AMAZON_ISSUED`, `IMPORTED` or `PRIVATE`.
    pub certificate_type: Option<String>,
    /// e.g. `RSA_2048`, `EC_prime256v1`.
    pub key_algorithm: Option<String>,
    /// End of validity.
    pub not_after: Option<DateTime<Utc>>,
    /// `ELIGIBLE` when ACM renews it by itself.
    pub renewal_eligibility: Option<String>,
    /// ARNs of what uses it (load balancers, CloudFront distributions, …).
    pub in_use_by: Vec<String>,
    /// One entry per domain validated by DNS: the CNAME ACM looks for.
    pub validations: Vec<CertificateValidation>,
    /// Tags.
    pub tags: Tags,
}

/// How one domain of a certificate is validated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateValidation {
    /// The domain.
    pub domain_name: String,
    /// `PENDING_VALIDATION`, `SUCCESS` or `FAILED`.
    pub status: Option<String>,
    /// `DNS` or `EMAIL`.
    pub method: Option<String>,
    /// The CNAME record's name ACM looks for (DNS validation; appears a few seconds after the
    /// request).
    pub record_name: Option<String>,
    /// The value that record must have.
    pub record_value: Option<String>,
}

/// The tag naming the stack a resource belongs to.
pub const STACK_TAG: &str = "haven:stack";

/// The AWS services haven discovers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// Security Token Service (caller identity).
    Sts,
    /// EC2 and VPC.
    Ec2,
    /// EC2 Auto Scaling.
    AutoScaling,
    /// Elastic Load Balancing v2.
    Elbv2,
    /// RDS and Aurora.
    Rds,
    /// IAM.
    Iam,
    /// CloudWatch (alarms, metrics; its endpoint is `monitoring`).
    CloudWatch,
    /// Route 53 (global; called in `us-east-1`).
    Route53,
    /// Certificate Manager.
    Acm,
    /// AWS WAF (v2): which web ACL protects a load balancer.
    Wafv2,
    /// AWS Backup (plans and their resource selections).
    Backup,
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Service {
    /// The name AWS uses for the service in endpoints and ARNs.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Sts => "sts",
            Service::Ec2 => "ec2",
            Service::AutoScaling => "autoscaling",
            Service::Elbv2 => "elasticloadbalancing",
            Service::Rds => "rds",
            Service::Iam => "iam",
            Service::CloudWatch => "cloudwatch",
            Service::Route53 => "route53",
            Service::Acm => "acm",
            Service::Wafv2 => "wafv2",
            Service::Backup => "backup",
        }
    }
}

/// One failure met during discovery: the Region (if Regional), the service and call, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryError {
    /// The Region the call was made in; `None` for global services.
    pub region: Option<String>,
    /// The service called.
    pub service: Service,
    /// The API operation, e.g. `DescribeInstances`.
    pub operation: String,
    /// The AWS error code, when the service returned one.
    pub code: Option<String>,
    /// A readable explanation.
    pub message: String,
    /// The part of discovery it belongs to, when known (what a later read of that part
    /// replaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<Part>,
}

/// Everything discovered in one Region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegionTopology {
    /// The Region code, e.g. `ap-northeast-2`.
    pub region: String,
    /// The Region's Availability Zones.
    pub availability_zones: Vec<AvailabilityZone>,
    /// VPCs, the default one included and marked.
    pub vpcs: Vec<Vpc>,
    /// Subnets.
    pub subnets: Vec<Subnet>,
    /// Route tables with their routes and associations.
    pub route_tables: Vec<RouteTable>,
    /// Internet gateways.
    pub internet_gateways: Vec<InternetGateway>,
    /// NAT gateways (deleted ones left out).
    pub nat_gateways: Vec<NatGateway>,
    /// Elastic IP addresses (VPC domain), associated or not.
    #[serde(default)]
    pub elastic_ips: Vec<ElasticIp>,
    /// Network ACLs with their entries and subnet associations.
    #[serde(default)]
    pub network_acls: Vec<NetworkAcl>,
    /// Security groups with their rules.
    pub security_groups: Vec<SecurityGroup>,
    /// EC2 instances (terminated ones kept while AWS still lists them).
    pub instances: Vec<Instance>,
    /// EBS volumes.
    pub volumes: Vec<Volume>,
    /// AMIs owned by the account.
    pub images: Vec<Image>,
    /// EBS snapshots owned by the account.
    pub snapshots: Vec<Snapshot>,
    /// Launch templates and their versions.
    pub launch_templates: Vec<LaunchTemplate>,
    /// Auto Scaling groups.
    pub auto_scaling_groups: Vec<AutoScalingGroup>,
    /// Load balancers (v2) with their listeners.
    pub load_balancers: Vec<LoadBalancer>,
    /// Target groups with per-target health.
    pub target_groups: Vec<TargetGroup>,
    /// RDS DB instances (Aurora cluster members included).
    pub db_instances: Vec<DbInstance>,
    /// RDS DB clusters (Aurora and Multi-AZ DB clusters).
    pub db_clusters: Vec<DbCluster>,
    /// DB instance and cluster snapshots owned by the account.
    pub db_snapshots: Vec<DbSnapshot>,
    /// DB subnet groups.
    pub db_subnet_groups: Vec<DbSubnetGroup>,
    /// ACM certificates of the Region (every key type), with what uses them.
    #[serde(default)]
    pub certificates: Vec<Certificate>,
    /// CloudWatch metric and composite alarms of the Region (all of them; which resource each
    /// watches is derived by [`crate::signals::alarm_resources`]).
    #[serde(default)]
    pub alarms: Vec<Alarm>,
    /// Classic Load Balancers (legacy).
    #[serde(default)]
    pub classic_load_balancers: Vec<ClassicLoadBalancer>,
    /// Launch configurations the Auto Scaling groups use (legacy).
    #[serde(default)]
    pub launch_configurations: Vec<LaunchConfiguration>,
    /// EBS encryption by default and block public access for snapshots and AMIs.
    #[serde(default)]
    pub settings: RegionSettings,
    /// VPC (and subnet, network interface) flow logs; `None` when not read.
    #[serde(default)]
    pub flow_logs: Option<Vec<FlowLog>>,
    /// VPC endpoints (interface, gateway, …).
    #[serde(default)]
    pub vpc_endpoints: Vec<VpcEndpoint>,
    /// The resource selections of the Region's AWS Backup plans; `None` when not read.
    #[serde(default)]
    pub backup_selections: Option<Vec<BackupSelection>>,
    /// The ids of the EBS snapshots anyone may restore, from the last read of the Region's
    /// settings (marks [`Snapshot::public`] whichever part is read first; not in the document).
    #[serde(skip)]
    pub public_snapshot_ids: Option<Vec<String>>,
}

/// A CloudWatch alarm.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: Option<String>,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    /// Why it is in that state, as CloudWatch words it.
    pub reason: Option<String>,
    /// When the state last changed.
    pub updated_at: Option<DateTime<Utc>>,
    /// A composite alarm (a rule over other alarms) rather than a metric alarm.
    pub composite: bool,
    /// The metrics it watches: one for a plain alarm, several for a metric-math alarm, none for
    /// a composite one.
    pub metrics: Vec<AlarmMetric>,
    /// `GreaterThanThreshold`, `LessThanThreshold`, …
    pub comparison: Option<String>,
    /// The threshold compared against.
    pub threshold: Option<f64>,
    /// Its actions run on state changes.
    pub actions_enabled: bool,
    /// What it does on `ALARM` (SNS topics, Auto Scaling policies, …).
    pub alarm_actions: Vec<String>,
}

/// A metric a CloudWatch alarm watches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmMetric {
    /// e.g. `AWS/ApplicationELB`.
    pub namespace: String,
    /// e.g. `UnHealthyHostCount`.
    pub name: String,
    /// Its dimensions, e.g. `TargetGroup` → `targetgroup/lab-tg/73e2d6bc24d8a067`.
    pub dimensions: BTreeMap<String, String>,
}

/// An Availability Zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailabilityZone {
    /// Name, e.g. `ap-northeast-2a` (differs between accounts for the same physical zone).
    pub name: String,
    /// Zone id, e.g. `apne2-az1` (the same physical zone in every account).
    pub zone_id: Option<String>,
    /// `available`, `impaired`, …
    pub state: String,
    /// `availability-zone`, `local-zone` or `wavelength-zone` (`None` in topologies taken
    /// before haven kept it). Only `availability-zone` zones hold a stack: Local Zones lack NAT
    /// gateways and most instance and load-balancer types
    /// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AvailabilityZone.html>).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_type: Option<String>,
}

/// A VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    /// `vpc-…`
    pub id: String,
    /// Primary IPv4 CIDR block.
    pub cidr_block: String,
    /// The Region's default VPC (made by AWS, not by the stack).
    pub is_default: bool,
    /// `pending` or `available`.
    pub state: String,
    /// Tags.
    pub tags: Tags,
}

/// A subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    /// `subnet-…`
    pub id: String,
    /// The VPC it belongs to.
    pub vpc_id: String,
    /// Availability Zone name.
    pub availability_zone: String,
    /// IPv4 CIDR block.
    pub cidr_block: String,
    /// Whether instances launched here get a public IPv4 address.
    pub map_public_ip_on_launch: bool,
    /// Free IPv4 addresses.
    pub available_ip_address_count: i32,
    /// A default subnet of a default VPC.
    pub default_for_az: bool,
    /// `pending` or `available`.
    pub state: String,
    /// Tags.
    pub tags: Tags,
}

/// A route table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    /// `rtb-…`
    pub id: String,
    /// The VPC it belongs to.
    pub vpc_id: String,
    /// Its routes.
    pub routes: Vec<Route>,
    /// Its associations with subnets (and whether it is the VPC's main table).
    pub associations: Vec<RouteTableAssociation>,
    /// Tags.
    pub tags: Tags,
}

/// One association of a route table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTableAssociation {
    /// `rtbassoc-…`
    pub id: String,
    /// The subnet, for an explicit subnet association.
    pub subnet_id: Option<String>,
    /// This association makes the table the VPC's main route table.
    pub main: bool,
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Destination: an IPv4/IPv6 CIDR or a prefix list id.
    pub destination: String,
    /// Where matching traffic goes.
    pub target: RouteTarget,
    /// `active` or `blackhole`.
    pub state: String,
}

/// Where a route sends traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum RouteTarget {
    /// Inside the VPC.
    Local,
    /// An internet gateway (`igw-…`).
    InternetGateway(String),
    /// A NAT gateway (`nat-…`).
    NatGateway(String),
    /// A gateway VPC endpoint (`vpce-…`).
    VpcEndpoint(String),
    /// A transit gateway (`tgw-…`).
    TransitGateway(String),
    /// A VPC peering connection (`pcx-…`).
    VpcPeering(String),
    /// An instance or network interface.
    NetworkInterface(String),
    /// Anything else, as AWS named it.
    Other(String),
}

/// An internet gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternetGateway {
    /// `igw-…`
    pub id: String,
    /// VPCs it is attached to.
    pub attached_vpc_ids: Vec<String>,
    /// Tags.
    pub tags: Tags,
}

/// A NAT gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatGateway {
    /// `nat-…`
    pub id: String,
    /// The VPC.
    pub vpc_id: String,
    /// The subnet it lives in (its AZ is that subnet's).
    pub subnet_id: String,
    /// `pending`, `available`, `deleting`, `failed`.
    pub state: String,
    /// `public` or `private`.
    pub connectivity_type: String,
    /// Elastic IPs.
    pub public_ips: Vec<String>,
    /// Tags.
    pub tags: Tags,
}

/// An Elastic IP address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElasticIp {
    /// `eipalloc-…`
    pub allocation_id: String,
    /// The public address.
    pub public_ip: String,
    /// `eipassoc-…` while it is associated.
    pub association_id: Option<String>,
    /// The instance it is associated with, if any.
    pub instance_id: Option<String>,
    /// The network interface it is associated with (a NAT gateway's, for one), if any.
    pub network_interface_id: Option<String>,
    /// Tags.
    pub tags: Tags,
}

/// A security group and its rules, one rule per source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroup {
    /// `sg-…`
    pub id: String,
    /// Group name (`default` for a VPC's default group).
    pub name: String,
    /// Description.
    pub description: String,
    /// The VPC.
    pub vpc_id: Option<String>,
    /// Inbound rules.
    pub ingress: Vec<SecurityGroupRule>,
    /// Outbound rules.
    pub egress: Vec<SecurityGroupRule>,
    /// Tags.
    pub tags: Tags,
}

/// One security group rule for one peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupRule {
    /// `tcp`, `udp`, `icmp`, or `-1` for all.
    pub protocol: String,
    /// First port (absent for all protocols).
    pub from_port: Option<i32>,
    /// Last port.
    pub to_port: Option<i32>,
    /// Who the rule allows.
    pub peer: RulePeer,
    /// Rule description.
    pub description: Option<String>,
}

/// The peer of a security group rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum RulePeer {
    /// An IPv4 CIDR.
    Cidr(String),
    /// An IPv6 CIDR.
    Ipv6Cidr(String),
    /// Another security group (`sg-…`).
    SecurityGroup(String),
    /// A managed prefix list (`pl-…`).
    PrefixList(String),
}

/// The lifecycle state of an EC2 instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceState {
    /// Launching.
    Pending,
    /// Running.
    Running,
    /// Terminating.
    ShuttingDown,
    /// Terminated (AWS keeps listing it for a while).
    Terminated,
    /// Stopping.
    Stopping,
    /// Stopped.
    Stopped,
    /// A state this version does not know.
    #[serde(other)]
    Unknown,
}

impl InstanceState {
    /// The state is on its way to another one.
    pub fn is_transitional(self) -> bool {
        matches!(self, Self::Pending | Self::ShuttingDown | Self::Stopping)
    }

    /// The instance is gone or going.
    pub fn is_gone(self) -> bool {
        matches!(self, Self::ShuttingDown | Self::Terminated)
    }

    /// The AWS name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::ShuttingDown => "shutting-down",
            Self::Terminated => "terminated",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Unknown => "unknown",
        }
    }
}

/// A reference to a launch template version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchTemplateRef {
    /// `lt-…`, when known.
    pub id: Option<String>,
    /// Template name, when known.
    pub name: Option<String>,
    /// A version number, or `$Latest` / `$Default`.
    pub version: Option<String>,
}

/// Instance metadata service options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataOptions {
    /// `required` (IMDSv2 only) or `optional`.
    pub http_tokens: Option<String>,
    /// Hop limit for PUT responses.
    pub http_put_response_hop_limit: Option<i32>,
    /// `enabled` or `disabled`.
    pub http_endpoint: Option<String>,
}

/// An EC2 instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// `i-…`
    pub id: String,
    /// Lifecycle state.
    pub state: InstanceState,
    /// e.g. `t3.micro`.
    pub instance_type: String,
    /// Availability Zone name.
    pub availability_zone: String,
    /// Subnet (absent once terminated).
    pub subnet_id: Option<String>,
    /// VPC (absent once terminated).
    pub vpc_id: Option<String>,
    /// Private IPv4 address.
    pub private_ip: Option<String>,
    /// Public IPv4 address.
    pub public_ip: Option<String>,
    /// AMI it was launched from.
    pub image_id: Option<String>,
    /// Launch time.
    pub launch_time: Option<DateTime<Utc>>,
    /// Security groups.
    pub security_group_ids: Vec<String>,
    /// Instance profile ARN.
    pub iam_instance_profile_arn: Option<String>,
    /// Key pair name.
    pub key_name: Option<String>,
    /// The launch template version it came from.
    pub launch_template: Option<LaunchTemplateRef>,
    /// Metadata service options.
    pub metadata_options: Option<MetadataOptions>,
    /// Attached EBS volume ids.
    pub volume_ids: Vec<String>,
    /// Detailed monitoring: its CloudWatch metrics come every minute. Off (EC2's default,
    /// basic monitoring), they come every five minutes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub detailed_monitoring: bool,
    /// Tags.
    pub tags: Tags,
}

/// An EBS volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// `vol-…`
    pub id: String,
    /// Availability Zone name.
    pub availability_zone: String,
    /// Size in GiB.
    pub size_gib: i32,
    /// `gp3`, `io2`, …
    pub volume_type: String,
    /// `creating`, `available`, `in-use`, …
    pub state: String,
    /// Encrypted at rest.
    pub encrypted: bool,
    /// Instances it is attached to.
    pub attached_instance_ids: Vec<String>,
    /// The snapshot it was created from.
    pub snapshot_id: Option<String>,
    /// Tags.
    pub tags: Tags,
}

/// An AMI owned by the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// `ami-…`
    pub id: String,
    /// Image name.
    pub name: Option<String>,
    /// Description (the console puts `[Copied ami-… from …]` here on copies).
    pub description: Option<String>,
    /// `pending`, `available`, `failed`, …
    pub state: String,
    /// Owner account.
    pub owner_id: Option<String>,
    /// Creation time.
    pub created_at: Option<DateTime<Utc>>,
    /// Shared publicly.
    pub public: bool,
    /// EBS snapshots backing the image.
    pub snapshot_ids: Vec<String>,
    /// For a copy: the source AMI, as AWS records it.
    pub source_image_id: Option<String>,
    /// For a copy: the source Region, as AWS records it.
    pub source_image_region: Option<String>,
    /// Tags.
    pub tags: Tags,
}

/// An EBS snapshot owned by the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// `snap-…`
    pub id: String,
    /// The volume it was taken from (for a copy: AWS's placeholder id).
    pub volume_id: Option<String>,
    /// Size in GiB.
    pub volume_size_gib: Option<i32>,
    /// `pending`, `completed`, `error`, …
    pub state: String,
    /// e.g. `100%`.
    pub progress: Option<String>,
    /// When it was started.
    pub started_at: Option<DateTime<Utc>>,
    /// Owner account.
    pub owner_id: Option<String>,
    /// Encrypted.
    pub encrypted: bool,
    /// Description (the console puts `[Copied snap-… from …]` here on copies).
    pub description: Option<String>,
    /// Tags.
    pub tags: Tags,
    /// Anyone may create a volume from it (`createVolumePermission` group `all`); `None` when
    /// not read.
    #[serde(default)]
    pub public: Option<bool>,
}

/// A launch template and its versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchTemplate {
    /// `lt-…`
    pub id: String,
    /// Name.
    pub name: String,
    /// The version used when `$Default` is asked for.
    pub default_version: Option<i64>,
    /// The newest version.
    pub latest_version: Option<i64>,
    /// Its versions, newest first.
    pub versions: Vec<LaunchTemplateVersion>,
    /// Tags.
    pub tags: Tags,
}

/// One launch template version. User data is recorded only as present or not: it can hold secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchTemplateVersion {
    /// Version number.
    pub number: i64,
    /// Version description.
    pub description: Option<String>,
    /// This is the default version.
    pub is_default: bool,
    /// Creation time.
    pub created_at: Option<DateTime<Utc>>,
    /// AMI id (or `resolve:ssm:…`).
    pub image_id: Option<String>,
    /// Instance type.
    pub instance_type: Option<String>,
    /// Key pair.
    pub key_name: Option<String>,
    /// Security groups.
    pub security_group_ids: Vec<String>,
    /// Instance profile ARN or name.
    pub iam_instance_profile: Option<String>,
    /// Metadata service options.
    pub metadata_options: Option<MetadataOptions>,
    /// A network interface asks for a public IPv4 address.
    pub associate_public_ip: Option<bool>,
    /// User data is set.
    pub has_user_data: bool,
}

/// A member of an Auto Scaling group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsgInstance {
    /// `i-…`
    pub instance_id: String,
    /// Availability Zone name.
    pub availability_zone: String,
    /// `Pending`, `InService`, `Terminating`, `Standby`, …
    pub lifecycle_state: String,
    /// `Healthy` or `Unhealthy`.
    pub health_status: String,
    /// Launch template version it was launched from.
    pub launch_template: Option<LaunchTemplateRef>,
    /// Protected from scale in.
    pub protected_from_scale_in: bool,
}

/// A scaling policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingPolicy {
    /// Policy name.
    pub name: String,
    /// `TargetTrackingScaling`, `StepScaling`, `SimpleScaling`, `PredictiveScaling`.
    pub policy_type: String,
    /// For target tracking: the predefined metric, e.g. `ASGAverageCPUUtilization`.
    pub metric: Option<String>,
    /// For target tracking: the target value.
    pub target_value: Option<f64>,
    /// Enabled.
    pub enabled: bool,
}

/// An Auto Scaling group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoScalingGroup {
    /// Group name.
    pub name: String,
    /// ARN.
    pub arn: Option<String>,
    /// Minimum size.
    pub min_size: i32,
    /// Maximum size.
    pub max_size: i32,
    /// Desired capacity.
    pub desired_capacity: i32,
    /// Availability Zones it launches into.
    pub availability_zones: Vec<String>,
    /// Subnets it launches into.
    pub subnet_ids: Vec<String>,
    /// `EC2`, `ELB`, …
    pub health_check_type: String,
    /// Seconds before health checks count after launch.
    pub health_check_grace_period: Option<i32>,
    /// Launch template (also the one inside a mixed instances policy).
    pub launch_template: Option<LaunchTemplateRef>,
    /// Launch configuration name (legacy).
    pub launch_configuration: Option<String>,
    /// Instance types from a mixed instances policy's overrides.
    pub instance_type_overrides: Vec<String>,
    /// Target groups it registers its instances with.
    pub target_group_arns: Vec<String>,
    /// Classic load balancers.
    pub load_balancer_names: Vec<String>,
    /// Members.
    pub instances: Vec<AsgInstance>,
    /// Suspended scaling processes.
    pub suspended_processes: Vec<String>,
    /// Scaling policies.
    pub policies: Vec<ScalingPolicy>,
    /// `Delete in progress` while being deleted.
    pub status: Option<String>,
    /// Creation time.
    pub created_at: Option<DateTime<Utc>>,
    /// Tags.
    pub tags: Tags,
    /// Capacity Rebalancing (replace Spot Instances at an elevated risk of interruption);
    /// `None` when the answer did not say.
    #[serde(default)]
    pub capacity_rebalance: Option<bool>,
    /// The mixed instances policy's purchase options; `None` without one (all On-Demand).
    #[serde(default)]
    pub instances_distribution: Option<InstancesDistribution>,
    /// The mixed instances policy chooses instance types by attributes (instance requirements)
    /// rather than by name.
    #[serde(default)]
    pub instance_requirements: bool,
}

impl AutoScalingGroup {
    /// The group launches Spot Instances: its mixed instances policy puts less than 100 % of
    /// the capacity above the On-Demand base on On-Demand.
    pub fn uses_spot(&self) -> bool {
        self.instances_distribution
            .as_ref()
            .is_some_and(|d| d.on_demand_percentage_above_base_capacity.unwrap_or(100) < 100)
    }
}

/// A mixed instances policy's purchase options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstancesDistribution {
    /// On-Demand capacity before any Spot (AWS default 0).
    pub on_demand_base_capacity: Option<i32>,
    /// Percentage of the capacity above the base that is On-Demand (AWS default 100).
    pub on_demand_percentage_above_base_capacity: Option<i32>,
    /// e.g. `price-capacity-optimized`.
    pub spot_allocation_strategy: Option<String>,
}

/// A load balancer (ALB, NLB or GWLB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancer {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// DNS name.
    pub dns_name: Option<String>,
    /// The hosted zone of its DNS name, which a Route 53 alias record to it names.
    #[serde(default)]
    pub canonical_hosted_zone_id: Option<String>,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    /// `application`, `network`, `gateway`.
    pub lb_type: String,
    /// `provisioning`, `active`, `failed`, …
    pub state: String,
    /// The VPC.
    pub vpc_id: Option<String>,
    /// Enabled zones and the subnet in each.
    pub zones: Vec<LoadBalancerZone>,
    /// Security groups.
    pub security_group_ids: Vec<String>,
    /// Attributes (deletion protection, access logs, header handling, …).
    pub attributes: BTreeMap<String, String>,
    /// Listeners.
    pub listeners: Vec<Listener>,
    /// Creation time.
    pub created_at: Option<DateTime<Utc>>,
    /// Its AWS WAF web ACL (Application Load Balancers); `None` when not read.
    #[serde(default)]
    pub waf: Option<WafAssociation>,
}

/// A zone a load balancer is enabled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancerZone {
    /// Availability Zone name.
    pub availability_zone: String,
    /// Its subnet there.
    pub subnet_id: Option<String>,
}

/// A listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    /// ARN.
    pub arn: String,
    /// Port.
    pub port: Option<i32>,
    /// `HTTP`, `HTTPS`, `TCP`, …
    pub protocol: Option<String>,
    /// What it does with requests no rule matches.
    pub default_actions: Vec<ListenerAction>,
    /// Its certificates (ARNs), the default one first: HTTPS and TLS listeners only.
    #[serde(default)]
    pub certificates: Vec<String>,
    /// Its TLS security policy, e.g. `ELBSecurityPolicy-TLS13-1-2-2021-06`: HTTPS and TLS only.
    #[serde(default)]
    pub ssl_policy: Option<String>,
}

impl Listener {
    /// The target groups its default actions forward to, with their weights.
    pub fn forwards(&self) -> impl Iterator<Item = &WeightedTargetGroup> {
        self.default_actions
            .iter()
            .filter_map(|a| match a {
                ListenerAction::Forward { target_groups } => Some(target_groups),
                _ => None,
            })
            .flatten()
    }
}

/// What a listener does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ListenerAction {
    /// Forward to one or more weighted target groups.
    Forward {
        /// Target groups and their weights (0–999).
        target_groups: Vec<WeightedTargetGroup>,
    },
    /// Redirect (e.g. HTTP → HTTPS).
    Redirect {
        /// Target protocol.
        protocol: Option<String>,
        /// Target port.
        port: Option<String>,
        /// `HTTP_301` or `HTTP_302`.
        status_code: Option<String>,
    },
    /// Answer with a fixed response.
    FixedResponse {
        /// HTTP status code.
        status_code: Option<String>,
    },
    /// Anything else (authenticate, …).
    Other {
        /// The AWS action type.
        name: String,
    },
}

/// A target group in a forward action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightedTargetGroup {
    /// Target group ARN.
    pub arn: String,
    /// Weight (absent = the only group).
    pub weight: Option<i32>,
}

/// Health check settings of a target group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// Checks are enabled.
    pub enabled: bool,
    /// Protocol.
    pub protocol: Option<String>,
    /// Port (`traffic-port` by default).
    pub port: Option<String>,
    /// Path for HTTP(S) checks.
    pub path: Option<String>,
    /// Seconds between checks.
    pub interval_seconds: Option<i32>,
    /// Seconds before a check fails.
    pub timeout_seconds: Option<i32>,
    /// Consecutive successes to become healthy.
    pub healthy_threshold: Option<i32>,
    /// Consecutive failures to become unhealthy.
    pub unhealthy_threshold: Option<i32>,
    /// Expected HTTP codes, e.g. `200`.
    pub matcher: Option<String>,
}

/// The health of a registered target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetHealthState {
    /// Passed its first check(s) not yet.
    Initial,
    /// Receiving traffic.
    Healthy,
    /// Failing health checks.
    Unhealthy,
    /// Not in use (not registered, stopped, AZ not enabled, TG not used by a listener).
    Unused,
    /// Being deregistered.
    Draining,
    /// Health checks are disabled.
    Unavailable,
    /// A state this version does not know.
    #[serde(other)]
    Unknown,
}

impl TargetHealthState {
    /// The AWS name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initial => "initial",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
            Self::Unused => "unused",
            Self::Draining => "draining",
            Self::Unavailable => "unavailable",
            Self::Unknown => "unknown",
        }
    }

    /// The state is on its way to another one.
    pub fn is_transitional(self) -> bool {
        matches!(self, Self::Initial | Self::Draining)
    }
}

/// A registered target and its health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Instance id, IP address or Lambda ARN.
    pub id: String,
    /// Port.
    pub port: Option<i32>,
    /// AZ, given by AWS for IP targets only; for instances see the instance.
    pub availability_zone: Option<String>,
    /// Health state.
    pub health: TargetHealthState,
    /// Reason code, e.g. `Target.Timeout`.
    pub reason: Option<String>,
    /// Readable reason.
    pub description: Option<String>,
}

/// A target group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroup {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// Protocol.
    pub protocol: Option<String>,
    /// Port.
    pub port: Option<i32>,
    /// `instance`, `ip`, `lambda`, `alb`.
    pub target_type: String,
    /// The VPC.
    pub vpc_id: Option<String>,
    /// Load balancers AWS says it is attached to.
    pub load_balancer_arns: Vec<String>,
    /// Health check settings.
    pub health_check: HealthCheck,
    /// Attributes (deregistration delay, stickiness, cross-zone, …).
    pub attributes: BTreeMap<String, String>,
    /// Registered targets and their health.
    pub targets: Vec<Target>,
}

/// A host and port to connect to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// DNS name.
    pub address: String,
    /// Port.
    pub port: Option<i32>,
}

/// A read replica's lag, as CloudWatch measured it (`AWS/RDS` `ReplicaLag`, the maximum of the
/// newest minute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaLag {
    /// Seconds behind its source (rounded up).
    pub seconds: u64,
    /// The minute it was measured in.
    pub measured_at: DateTime<Utc>,
}

/// An RDS DB instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbInstance {
    /// Identifier.
    pub identifier: String,
    /// ARN.
    pub arn: String,
    /// Engine, e.g. `mysql`, `aurora-mysql`.
    pub engine: String,
    /// Engine version.
    pub engine_version: Option<String>,
    /// Instance class, e.g. `db.t3.micro`.
    pub class: String,
    /// `available`, `modifying`, `rebooting`, …
    pub status: String,
    /// Multi-AZ (a standby in another AZ).
    pub multi_az: bool,
    /// AZ of the primary.
    pub availability_zone: Option<String>,
    /// AZ of the standby, when AWS says.
    pub secondary_availability_zone: Option<String>,
    /// Connection endpoint.
    pub endpoint: Option<Endpoint>,
    /// Reachable from the internet.
    pub publicly_accessible: bool,
    /// Storage encrypted.
    pub storage_encrypted: bool,
    /// KMS key for storage encryption.
    pub kms_key_id: Option<String>,
    /// Days automated backups are kept (0 = off).
    pub backup_retention_days: i32,
    /// Deletion protection.
    pub deletion_protection: bool,
    /// Minor versions applied automatically.
    pub auto_minor_version_upgrade: bool,
    /// Seconds between Enhanced Monitoring samples (0 = off).
    pub monitoring_interval: Option<i32>,
    /// Logs exported to CloudWatch.
    pub cloudwatch_logs_exports: Vec<String>,
    /// The cluster it belongs to.
    pub cluster_identifier: Option<String>,
    /// For a replica: its source (identifier in-Region, ARN across Regions).
    pub read_replica_source: Option<String>,
    /// Its replicas (identifiers in-Region, ARNs across Regions).
    pub read_replica_identifiers: Vec<String>,
    /// Its replica lag, when it is a read replica and CloudWatch was read
    /// ([`crate::signals::annotate`]); discovery leaves it empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_lag: Option<ReplicaLag>,
    /// DB subnet group name.
    pub subnet_group_name: Option<String>,
    /// VPC security groups.
    pub vpc_security_group_ids: Vec<String>,
    /// ARN of the RDS-managed master user secret (never its value).
    pub master_user_secret_arn: Option<String>,
    /// Allocated storage in GiB.
    pub allocated_storage_gib: Option<i32>,
    /// Creation time.
    pub created_at: Option<DateTime<Utc>>,
    /// Tags.
    pub tags: Tags,
    /// The settings the security controls read (RDS.10, RDS.17, RDS.25, engine support).
    #[serde(default)]
    pub security: DbSecurity,
}

/// A member of a DB cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbClusterMember {
    /// DB instance identifier.
    pub instance_identifier: String,
    /// The writer.
    pub is_writer: bool,
    /// Failover priority, 0 (first) to 15.
    pub promotion_tier: Option<i32>,
}

/// An RDS DB cluster (Aurora or Multi-AZ DB cluster).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbCluster {
    /// Identifier.
    pub identifier: String,
    /// ARN.
    pub arn: String,
    /// Engine.
    pub engine: String,
    /// Engine version.
    pub engine_version: Option<String>,
    /// `available`, `failing-over`, …
    pub status: String,
    /// Instances in more than one AZ.
    pub multi_az: bool,
    /// AZs storage is spread over.
    pub availability_zones: Vec<String>,
    /// Writer endpoint.
    pub endpoint: Option<String>,
    /// Reader endpoint.
    pub reader_endpoint: Option<String>,
    /// Port.
    pub port: Option<i32>,
    /// Members.
    pub members: Vec<DbClusterMember>,
    /// Storage encrypted.
    pub storage_encrypted: bool,
    /// Days automated backups are kept.
    pub backup_retention_days: i32,
    /// Deletion protection.
    pub deletion_protection: bool,
    /// For a cross-Region replica cluster: its source ARN.
    pub replication_source: Option<String>,
    /// Its replica clusters.
    pub read_replica_identifiers: Vec<String>,
    /// DB subnet group name.
    pub subnet_group_name: Option<String>,
    /// VPC security groups.
    pub vpc_security_group_ids: Vec<String>,
    /// Tags.
    pub tags: Tags,
    /// The settings the security controls read (RDS.24, engine support).
    #[serde(default)]
    pub security: DbSecurity,
}

/// A DB instance or cluster snapshot owned by the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbSnapshot {
    /// Snapshot identifier.
    pub identifier: String,
    /// ARN.
    pub arn: String,
    /// The DB instance it was taken of (instance snapshots).
    pub instance_identifier: Option<String>,
    /// The DB cluster it was taken of (cluster snapshots).
    pub cluster_identifier: Option<String>,
    /// `manual` or `automated`.
    pub snapshot_type: String,
    /// `creating`, `available`, `copying`, …
    pub status: String,
    /// Engine.
    pub engine: String,
    /// When it was taken.
    pub created_at: Option<DateTime<Utc>>,
    /// Encrypted.
    pub encrypted: bool,
    /// Percent done.
    pub percent_progress: Option<i32>,
    /// For a copy: the source snapshot ARN, as AWS records it.
    pub source_snapshot: Option<String>,
    /// For a copy: the source Region, as AWS records it.
    pub source_region: Option<String>,
    /// Tags.
    pub tags: Tags,
    /// Restorable by every AWS account (its `restore` attribute holds `all`, RDS.1); `None`
    /// when the attributes were not read (automated snapshots, which cannot be shared, or a
    /// failed call).
    #[serde(default)]
    pub public: Option<bool>,
}

/// A DB subnet group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbSubnetGroup {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: Option<String>,
    /// The VPC.
    pub vpc_id: Option<String>,
    /// Subnets.
    pub subnet_ids: Vec<String>,
    /// `Complete`, …
    pub status: Option<String>,
}

/// Account-wide IAM.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Iam {
    /// Users.
    pub users: Vec<IamUser>,
    /// Groups.
    pub groups: Vec<IamGroup>,
    /// Roles.
    pub roles: Vec<IamRole>,
    /// Instance profiles.
    pub instance_profiles: Vec<InstanceProfile>,
    /// The account password policy; `None` when none is set.
    pub password_policy: Option<PasswordPolicy>,
    /// Facts about the root user and the account.
    pub account: AccountSummary,
    /// Customer managed policies with their default version's Allow statements; `None` when
    /// not read.
    #[serde(default)]
    pub customer_policies: Option<Vec<ManagedPolicy>>,
}

/// Facts from the account summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    /// The root user has MFA.
    pub root_mfa_enabled: Option<bool>,
    /// The root user has access keys.
    pub root_access_keys_present: Option<bool>,
    /// The root user's MFA is a virtual device (`ListVirtualMFADevices`); `None` when not read.
    #[serde(default)]
    pub root_virtual_mfa: Option<bool>,
    /// The account's alias (`ListAccountAliases`; an account has at most one), a name people
    /// know it by; `None` when it has none or it could not be read.
    #[serde(default)]
    pub alias: Option<String>,
}

impl Topology {
    /// The account's alias, once IAM has been read.
    pub fn account_alias(&self) -> Option<&str> {
        self.iam.as_ref().and_then(|i| i.account.alias.as_deref())
    }
}

/// An IAM user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamUser {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Creation time.
    pub created_at: Option<DateTime<Utc>>,
    /// Has a console password.
    pub console_access: bool,
    /// Last console sign-in.
    pub password_last_used: Option<DateTime<Utc>>,
    /// MFA device serial numbers.
    pub mfa_devices: Vec<String>,
    /// Access keys (id, status and age only).
    pub access_keys: Vec<AccessKey>,
    /// Groups the user is in.
    pub groups: Vec<String>,
    /// Managed policies attached directly.
    pub attached_policy_arns: Vec<String>,
    /// Tags. Discovery leaves them empty (one more call per entity); `haven plan`, `up` and
    /// `down` read those of the entities a blueprint names.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// An access key: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKey {
    /// Access key id.
    pub id: String,
    /// `Active` or `Inactive`.
    pub status: String,
    /// Creation time (age = now − this).
    pub created_at: Option<DateTime<Utc>>,
    /// Its last use was read (`GetAccessKeyLastUsed`; active keys only).
    #[serde(default)]
    pub last_used_read: bool,
    /// Its last use, when read; `None` with `last_used_read` = never used.
    #[serde(default)]
    pub last_used: Option<DateTime<Utc>>,
}

/// An IAM group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamGroup {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Attached managed policies.
    pub attached_policy_arns: Vec<String>,
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamRole {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Path.
    pub path: String,
    /// Services trusted to assume it (e.g. `ec2.amazonaws.com`).
    pub trusted_services: Vec<String>,
    /// Attached managed policies.
    pub attached_policy_arns: Vec<String>,
    /// Tags. Discovery leaves them empty (one more call per entity); `haven plan`, `up` and
    /// `down` read those of the entities a blueprint names.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// An instance profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceProfile {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Roles in it.
    pub role_names: Vec<String>,
    /// Tags. Discovery leaves them empty (one more call per entity); `haven plan`, `up` and
    /// `down` read those of the entities a blueprint names.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// The account password policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    /// Minimum length.
    pub minimum_length: Option<i32>,
    /// Requires a symbol.
    pub require_symbols: bool,
    /// Requires a number.
    pub require_numbers: bool,
    /// Requires an uppercase letter.
    pub require_uppercase: bool,
    /// Requires a lowercase letter.
    pub require_lowercase: bool,
    /// Users may change their own password.
    pub allow_users_to_change: bool,
    /// Days before a password expires.
    pub max_age_days: Option<i32>,
    /// Previous passwords that cannot be reused.
    pub reuse_prevention: Option<i32>,
    /// Expired passwords need an administrator reset.
    pub hard_expiry: bool,
}

/// The error returned when a JSON document cannot be read as a [`Topology`].
#[derive(Debug, thiserror::Error)]
pub enum TopologyJsonError {
    /// Not valid JSON, or not shaped like a topology.
    #[error("not a haven topology document: {0}")]
    Malformed(#[from] serde_json::Error),
    /// Written by a version of haven with another layout.
    #[error(
        "topology schema version {found} is not supported (this haven reads version {SCHEMA_VERSION})"
    )]
    UnsupportedVersion {
        /// The version in the document.
        found: u32,
    },
}

impl Topology {
    /// An empty topology taken now.
    pub fn new(taken_at: DateTime<Utc>) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            taken_at,
            account_id: None,
            caller_arn: None,
            regions: Vec::new(),
            iam: None,
            dns: None,
            errors: Vec::new(),
        }
    }

    /// The stable, versioned JSON document.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a document written by [`Topology::to_json`], refusing other schema versions.
    ///
    /// The document is parsed once (it is the dashboard's cache, read before the first frame);
    /// only when that fails is the header read again, to tell another schema version from a
    /// damaged document.
    pub fn from_json(text: &str) -> Result<Self, TopologyJsonError> {
        #[derive(Deserialize)]
        struct Header {
            schema_version: u32,
        }
        let unsupported = |found| TopologyJsonError::UnsupportedVersion { found };
        match serde_json::from_str::<Self>(text) {
            Ok(topology) if topology.schema_version == SCHEMA_VERSION => Ok(topology),
            Ok(topology) => Err(unsupported(topology.schema_version)),
            Err(error) => match serde_json::from_str::<Header>(text) {
                Ok(header) if header.schema_version != SCHEMA_VERSION => {
                    Err(unsupported(header.schema_version))
                }
                _ => Err(error.into()),
            },
        }
    }

    /// The Region with that code.
    pub fn region(&self, code: &str) -> Option<&RegionTopology> {
        self.regions.iter().find(|r| r.region == code)
    }

    /// Errors met in that Region.
    pub fn errors_in(&self, region: &str) -> impl Iterator<Item = &DiscoveryError> {
        self.errors
            .iter()
            .filter(move |e| e.region.as_deref() == Some(region))
    }
}

/// The `Name` tag, if any.
pub fn name_tag(tags: &Tags) -> Option<&str> {
    tags.get("Name").map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> String {
        include_str!("../../../assets/fixtures/lab-healthy.json").to_string()
    }

    #[test]
    fn a_document_round_trips() {
        let topology = Topology::from_json(&lab()).expect("the fixture reads");
        assert_eq!(
            Topology::from_json(&topology.to_json()).ok(),
            Some(topology)
        );
    }

    #[test]
    fn another_schema_version_is_named_whether_or_not_the_layout_still_reads() {
        let current = format!("\"schema_version\": {SCHEMA_VERSION}");
        let newer = lab().replacen(&current, "\"schema_version\": 99", 1);
        let error = Topology::from_json(&newer).expect_err("version 99 is refused");
        assert!(
            error.to_string().contains("version 99 is not supported"),
            "{error}"
        );

        let reshaped = r#"{"schema_version": 99, "regions": "a new layout"}"#;
        let error = Topology::from_json(reshaped).expect_err("version 99 is refused");
        assert!(
            error.to_string().contains("version 99 is not supported"),
            "{error}"
        );
    }

    #[test]
    fn a_damaged_document_of_this_version_says_where() {
        let damaged = lab().replacen("\"regions\"", "\"regions\" 7", 1);
        let error = Topology::from_json(&damaged).expect_err("damaged");
        assert!(
            error
                .to_string()
                .starts_with("not a haven topology document")
                && error.to_string().contains("line"),
            "{error}"
        );
    }
}
