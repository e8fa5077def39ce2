//! The desired stack, read from a TOML blueprint and validated before any call is made.
//!
//! [`parse`] turns the text of a blueprint into a typed [`Blueprint`] or into every problem
//! found, each naming `file:line:column`, what is wrong and what would be valid. Nothing here
//! reads files: the caller says which user-data files exist.
//!
//! The layout follows the classic HA lab (see `assets/blueprints/lab.toml`) and the names of the
//! terraform-aws-modules inputs where one exists (`azs`, `public_subnets`, `private_subnets`).

mod cidr;
mod keys;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;

use serde::Serialize;

pub use cidr::{CidrError, Ipv4Cidr};
pub use keys::{KeySpec, SECTIONS, SectionSpec};

/// The AWS managed policy that lets Session Manager reach an instance (no SSH keys needed).
pub const SSM_MANAGED_POLICY_ARN: &str = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";

/// A validated blueprint: the whole stack haven builds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Blueprint {
    /// `[stack]`: name and Region.
    pub stack: StackSpec,
    /// `[network]`: VPC, subnets per AZ, NAT.
    pub network: NetworkSpec,
    /// `[security]`: the security-group chain ALB → app → DB and SSH.
    pub security: SecuritySpec,
    /// `[iam]`: instance role and profile, operators, password policy.
    pub iam: IamSpec,
    /// `[compute]`: what the launch template holds.
    pub compute: ComputeSpec,
    /// `[load_balancer]`: listener, target group and its health check.
    pub load_balancer: LoadBalancerSpec,
    /// `[auto_scaling]`: capacity, health checks, CPU target tracking.
    pub auto_scaling: AutoScalingSpec,
    /// `[database]`: the RDS primary and its same-Region read replicas.
    pub database: DatabaseSpec,
    /// `[dr]`: disaster-recovery targets, when given.
    pub dr: Option<DrSpec>,
    /// `[dns]`: the stack's name in Route 53, when given.
    pub dns: Option<DnsSpec>,
    /// `[https]`: the HTTPS listener and its ACM certificate, when given.
    pub https: Option<HttpsSpec>,
}

impl Blueprint {
    /// The stack name (prefix of every resource name).
    pub fn name(&self) -> &str {
        &self.stack.name
    }

    /// The Region the stack lives in.
    pub fn region(&self) -> &str {
        &self.stack.region
    }

    /// The same stack in a DR Region after the primary is lost: the DR Region's AZs (as many as
    /// the blueprint has), the AMI copied there (unless the blueprint resolves an SSM parameter,
    /// which exists in every Region), and the promoted replica as its database. Account-wide
    /// IAM settings stay as they are.
    pub fn failover_to(
        &self,
        region: &str,
        azs: &[String],
        image: Option<&str>,
        database: &str,
    ) -> Blueprint {
        let mut dr = self.in_region(region, azs);
        if let (Some(image), AmiSource::Id(_)) = (image, &self.compute.ami) {
            dr.compute.ami = AmiSource::Id(image.to_string());
        }
        dr.database.adopt = Some(database.to_string());
        dr
    }

    /// The same stack in another Region, over `azs` there (as many as the blueprint has), with
    /// no `[dr]` of its own: what the DR network of that Region is planned from (the same
    /// names, CIDRs and security-group chain, so that a failover finds and keeps it).
    pub fn in_region(&self, region: &str, azs: &[String]) -> Blueprint {
        let mut other = self.clone();
        other.stack.region = region.to_string();
        other.network.azs = azs.iter().take(self.network.azs.len()).cloned().collect();
        other.dr = None;
        other
    }
}

/// `[stack]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackSpec {
    /// Lowercase letters, digits and hyphens; prefixes every resource name.
    pub name: String,
    /// Region code, e.g. `ap-northeast-2`.
    pub region: String,
}

/// How private subnets reach the internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NatMode {
    /// One NAT gateway, in the first public subnet: cheaper, one AZ's failure cuts the rest off.
    Single,
    /// One NAT gateway in each AZ's public subnet: the HA choice.
    PerAz,
    /// No NAT gateway: private subnets have no way out.
    None,
}

impl NatMode {
    /// The spelling used in blueprints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::PerAz => "per-az",
            Self::None => "none",
        }
    }
}

/// `[network]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkSpec {
    /// The VPC's IPv4 block.
    pub vpc_cidr: Ipv4Cidr,
    /// Availability Zones, in order; subnet lists follow this order.
    pub azs: Vec<String>,
    /// One public subnet per AZ (route 0.0.0.0/0 → internet gateway).
    pub public_subnets: Vec<Ipv4Cidr>,
    /// One private subnet per AZ (out through NAT, if any).
    pub private_subnets: Vec<Ipv4Cidr>,
    /// NAT gateway layout.
    pub nat: NatMode,
    /// Add an S3 gateway endpoint to the private route tables.
    pub s3_gateway_endpoint: bool,
}

/// `[security]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecuritySpec {
    /// CIDRs allowed to SSH to the app instances; empty = no SSH (use Session Manager).
    pub ssh_from: Vec<Ipv4Cidr>,
    /// The port the app listens on (target group port; app SG opens it to the ALB SG only).
    pub app_port: u16,
    /// The database port (DB SG opens it to the app SG only).
    pub db_port: u16,
}

/// `[iam]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IamSpec {
    /// The EC2 instance role.
    pub instance_role: String,
    /// The instance profile holding the role.
    pub instance_profile: String,
    /// Managed policies attached to the role (the SSM core policy is always among them).
    pub instance_policy_arns: Vec<String>,
    /// `[iam.operators]`, when given.
    pub operators: Option<OperatorsSpec>,
    /// `[iam.password_policy]`, when given.
    pub password_policy: Option<PasswordPolicySpec>,
}

/// `[iam.operators]`: a group of people who run the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatorsSpec {
    /// Group name.
    pub group: String,
    /// Managed policy attached to the group.
    pub policy_arn: String,
    /// IAM users put in the group.
    pub users: Vec<String>,
}

/// `[iam.password_policy]`: the account password policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PasswordPolicySpec {
    /// Minimum length (6–128).
    pub minimum_length: u8,
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
    /// Days before a password expires (1–1095).
    pub max_age_days: Option<u16>,
    /// Previous passwords that cannot be reused (1–24).
    pub reuse_prevention: Option<u8>,
}

/// Where the AMI comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum AmiSource {
    /// A fixed AMI id, `ami-…`.
    Id(String),
    /// A public SSM parameter resolved at launch, e.g.
    /// `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64`.
    SsmParameter(String),
}

impl AmiSource {
    /// The value a launch template takes as `ImageId` (`resolve:ssm:` for parameters).
    pub fn launch_template_image_id(&self) -> String {
        match self {
            Self::Id(id) => id.clone(),
            Self::SsmParameter(name) => format!("resolve:ssm:{name}"),
        }
    }
}

/// `[compute]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComputeSpec {
    /// AMI id or SSM parameter.
    pub ami: AmiSource,
    /// e.g. `t3.micro`.
    pub instance_type: String,
    /// User-data script, relative to the blueprint file.
    pub user_data_file: Option<String>,
    /// Key pair for SSH, if any.
    pub key_name: Option<String>,
    /// Instances refuse IMDSv1 (`HttpTokens=required`).
    pub imdsv2_required: bool,
}

/// Listener protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpProtocol {
    /// Plain HTTP.
    Http,
    /// HTTPS (needs a certificate).
    Https,
}

impl HttpProtocol {
    /// The AWS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "HTTP",
            Self::Https => "HTTPS",
        }
    }
}

/// `[load_balancer]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadBalancerSpec {
    /// Listener port.
    pub listener_port: u16,
    /// Listener protocol.
    pub listener_protocol: HttpProtocol,
    /// ACM certificate for an HTTPS listener.
    pub certificate_arn: Option<String>,
    /// Seconds a deregistered target keeps draining (0–3600).
    pub deregistration_delay: u16,
    /// Target-group health check, stated explicitly.
    pub health_check: HealthCheckSpec,
}

/// `[load_balancer.health_check]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheckSpec {
    /// Path requested, e.g. `/health`.
    pub path: String,
    /// Seconds between checks (5–300).
    pub interval: u16,
    /// Seconds before a check fails (2–120, less than the interval).
    pub timeout: u16,
    /// Successes before a target is healthy (2–10).
    pub healthy_threshold: u8,
    /// Failures before a target is unhealthy (2–10).
    pub unhealthy_threshold: u8,
    /// Expected HTTP codes, e.g. `200` or `200-299` (within 200–499).
    pub matcher: String,
}

/// Which health the Auto Scaling group acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AsgHealthCheck {
    /// Instance status only.
    Ec2,
    /// The load balancer's view of the application too.
    Elb,
}

impl AsgHealthCheck {
    /// The AWS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ec2 => "EC2",
            Self::Elb => "ELB",
        }
    }
}

/// `[auto_scaling]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AutoScalingSpec {
    /// Minimum size.
    pub min: u32,
    /// Desired capacity.
    pub desired: u32,
    /// Maximum size.
    pub max: u32,
    /// Health-check type.
    pub health_check_type: AsgHealthCheck,
    /// Seconds after launch before health checks count.
    pub grace_period: u32,
    /// Target average CPU % for target tracking; `None` = no scaling policy.
    pub cpu_target: Option<f64>,
}

/// `[database]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabaseSpec {
    /// `mysql`, `postgres` or `mariadb`.
    pub engine: String,
    /// e.g. `8.0`.
    pub engine_version: String,
    /// e.g. `db.t3.micro`.
    pub class: String,
    /// A synchronous standby in another AZ.
    pub multi_az: bool,
    /// Storage in GiB.
    pub allocated_storage: u32,
    /// Days of automated backups (0–35; a replica source needs ≥ 1).
    pub backup_retention_days: u8,
    /// Names (identifiers) of the same-Region read replicas.
    pub read_replicas: Vec<String>,
    /// Master user name (the password is RDS-managed in Secrets Manager).
    pub master_username: String,
    /// Always true: RDS creates and rotates the password in Secrets Manager.
    pub manage_master_user_password: bool,
    /// Deletion protection.
    pub deletion_protection: bool,
    /// Storage encrypted at rest.
    pub storage_encrypted: bool,
    /// An existing DB instance that becomes the stack's database instead of a new one (a
    /// promoted DR replica, on Region failover). Never read from a file.
    pub adopt: Option<String>,
}

/// `[dr]`: parsed and validated; replication itself is `haven replicate`'s job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrSpec {
    /// DR Regions.
    pub regions: Vec<String>,
    /// Recovery-point objective in minutes.
    pub rpo_minutes: u32,
}

/// How Route 53 chooses between the Regions' load balancers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DnsRouting {
    /// Failover records: PRIMARY in the stack's Region, SECONDARY in the DR Region, each with a
    /// health check; Route 53 answers the SECONDARY while the PRIMARY is unhealthy.
    Failover,
    /// Weighted records, one per Region, each with a health check.
    Weighted,
}

impl DnsRouting {
    /// The spelling used in blueprints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failover => "failover",
            Self::Weighted => "weighted",
        }
    }
}

/// `[dns]`: the name users reach the stack by, in a Route 53 hosted zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsSpec {
    /// The hosted zone's name, e.g. `example.com` (no final dot).
    pub zone: String,
    /// Create the (public) hosted zone when none of that name exists, and delete it with the
    /// stack; otherwise the zone must exist already.
    pub create_zone: bool,
    /// The record's full name, inside the zone, e.g. `lab.example.com` (no final dot).
    pub record: String,
    /// Failover or weighted.
    pub routing: DnsRouting,
    /// Alias records to the load balancers (the default; the load balancer's 60 s TTL applies)
    /// or, when `false`, CNAME records with [`DnsSpec::ttl`].
    pub alias: bool,
    /// TTL in seconds of the records haven writes that are not aliases.
    pub ttl: u32,
    /// The path Route 53's health checks request on each Region's load balancer.
    pub health_check_path: String,
    /// Weighted routing: the weight (0–255) of the stack's Region, then of the DR Region.
    pub weights: [u8; 2],
}

/// Where the HTTPS listener's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum CertificateSource {
    /// Requested from ACM for the `[dns]` record and validated by DNS through the same zone,
    /// in each Region that has a load balancer (ACM certificates are Regional).
    Request,
    /// An existing ACM certificate, in the stack's Region.
    Arn(String),
}

/// `[https]`: an HTTPS listener on the load balancer, and plain HTTP redirected to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpsSpec {
    /// The certificate.
    pub certificate: CertificateSource,
    /// The HTTPS listener's port (443).
    pub port: u16,
    /// The listener's TLS security policy, e.g. `ELBSecurityPolicy-TLS13-1-2-2021-06`.
    pub tls_policy: String,
    /// The `[load_balancer]` listener answers with a 301 to HTTPS instead of forwarding.
    pub redirect_http: bool,
}

/// One problem in a blueprint: where, what is wrong, and what would be valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlueprintError {
    /// The file name as given to [`parse`].
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte offset in the text (for sorting).
    pub offset: usize,
    /// What is wrong.
    pub problem: String,
    /// What would be valid.
    pub expected: String,
}

impl fmt::Display for BlueprintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}; {}",
            self.file, self.line, self.column, self.problem, self.expected
        )
    }
}

impl std::error::Error for BlueprintError {}

/// Every problem found in a blueprint, sorted by position; never empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlueprintErrors(pub Vec<BlueprintError>);

impl BlueprintErrors {
    /// The problems, first in the file first.
    pub fn errors(&self) -> &[BlueprintError] {
        &self.0
    }
}

impl fmt::Display for BlueprintErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BlueprintErrors {}

/// Parses and validates a blueprint.
///
/// `file` is the name used in messages; `user_data_exists` answers whether a user-data path, as
/// written in the blueprint (relative to the blueprint's directory), names an existing file.
pub fn parse(
    text: &str,
    file: &str,
    user_data_exists: &dyn Fn(&str) -> bool,
) -> Result<Blueprint, BlueprintErrors> {
    parse::parse(text, file, user_data_exists)
}
