//! Topology fixtures for tests and screenshots, built in code from haven-model types so they
//! always match the current schema. `write_all` writes them as JSON into `assets/fixtures/`.
//!
//! - `lab-healthy.json`: the classic lab in ap-northeast-2 (two AZs, one NAT per AZ, ALB, ASG of
//!   two, Multi-AZ MySQL with a same-Region replica) and its DR copy in us-east-1.
//! - `lab-degraded.json`: the same lab with AZ b serving nothing (stopped instance), a single
//!   shared NAT and a database without standby.
//! - `two-regions.json`: the healthy lab with two cross-Region replicas and more copies.
//! - `large-10k.json`: about 10,000 resources over three Regions (compact JSON).
//! - `lab-deploy.json`: the healthy lab in the middle of blue/green deploy `d1` of stack `lab`
//!   (step shift-50 for 3 minutes, the listener at 50/50, green's target in 2b still
//!   registering).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use haven_model::arn::Arn;
use haven_model::*;

/// The account every fixture belongs to.
pub const ACCOUNT: &str = "123456789012";
/// The primary Region of the lab.
pub const PRIMARY: &str = "ap-northeast-2";
/// The DR Region of the lab.
pub const DR: &str = "us-east-1";

/// When every fixture was "discovered".
pub fn taken_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Builds every fixture and writes it into `dir`; returns the files written.
pub fn write_all(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, topology, pretty) in [
        ("lab-healthy.json", lab_healthy(), true),
        ("lab-degraded.json", lab_degraded(), true),
        ("two-regions.json", two_regions(), true),
        ("large-10k.json", large_10k(), false),
        ("lab-deploy.json", lab_deploy(), true),
    ] {
        let path = dir.join(name);
        let mut text = if pretty {
            topology.to_json()
        } else {
            serde_json::to_string(&topology).map_err(std::io::Error::other)?
        };
        text.push('\n');
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

// ---------------------------------------------------------------------------------------------
// Deterministic ids.

/// An AWS-looking id: `prefix-0` and 16 hex digits mixed from a seed.
fn aws_id(prefix: &str, seed: u64) -> String {
    // splitmix64: stable, spread-out digits without a random number generator.
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    format!("{prefix}-0{:016x}", z)[..prefix.len() + 18].to_string()
}

/// Hashes a readable key into a seed so ids are stable across fixtures.
fn seed(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x1000_0000_01b3)
    })
}

fn id(prefix: &str, key: &str) -> String {
    aws_id(prefix, seed(key))
}

fn tags(name: &str) -> Tags {
    let mut t = Tags::new();
    t.insert("Name".into(), name.into());
    t.insert("lab".into(), "ha".into());
    t
}

fn plain_tags(name: &str) -> Tags {
    let mut t = Tags::new();
    t.insert("Name".into(), name.into());
    t
}

fn ago(minutes: i64) -> Option<DateTime<Utc>> {
    Some(taken_at() - Duration::minutes(minutes))
}

// ---------------------------------------------------------------------------------------------
// Builders for one resource each, with the defaults a lab resource has.

fn zone(region: &str, letter: char, az_id: &str) -> AvailabilityZone {
    AvailabilityZone {
        name: format!("{region}{letter}"),
        zone_id: Some(az_id.into()),
        state: "available".into(),
        zone_type: None,
    }
}

fn vpc(id: &str, cidr: &str, name: Option<&str>, is_default: bool) -> Vpc {
    Vpc {
        id: id.into(),
        cidr_block: cidr.into(),
        is_default,
        state: "available".into(),
        tags: name.map(tags).unwrap_or_default(),
    }
}

fn subnet(
    id: &str,
    vpc_id: &str,
    az: &str,
    cidr: &str,
    name: Option<&str>,
    public: bool,
) -> Subnet {
    Subnet {
        id: id.into(),
        vpc_id: vpc_id.into(),
        availability_zone: az.into(),
        cidr_block: cidr.into(),
        // The default VPC's subnets map public IPs (AWS's default); the blueprint turns it
        // off for the stack's public subnets too (EC2.15).
        map_public_ip_on_launch: public && name.is_none(),
        available_ip_address_count: 249,
        default_for_az: name.is_none(),
        state: "available".into(),
        tags: name.map(tags).unwrap_or_default(),
    }
}

fn route(destination: &str, target: RouteTarget) -> Route {
    Route {
        destination: destination.into(),
        target,
        state: "active".into(),
    }
}

fn route_table(
    id: &str,
    vpc_id: &str,
    name: Option<&str>,
    main: bool,
    subnets: &[&str],
    routes: Vec<Route>,
) -> RouteTable {
    let mut associations: Vec<RouteTableAssociation> = subnets
        .iter()
        .map(|s| RouteTableAssociation {
            id: id_from("rtbassoc", &format!("{id}{s}")),
            subnet_id: Some((*s).into()),
            main: false,
        })
        .collect();
    if main {
        associations.push(RouteTableAssociation {
            id: id_from("rtbassoc", &format!("{id}main")),
            subnet_id: None,
            main: true,
        });
    }
    RouteTable {
        id: id.into(),
        vpc_id: vpc_id.into(),
        routes,
        associations,
        tags: name.map(tags).unwrap_or_default(),
    }
}

fn id_from(prefix: &str, key: &str) -> String {
    id(prefix, key)
}

fn nat(id: &str, vpc_id: &str, subnet_id: &str, name: &str, ip: &str) -> NatGateway {
    NatGateway {
        id: id.into(),
        vpc_id: vpc_id.into(),
        subnet_id: subnet_id.into(),
        state: "available".into(),
        connectivity_type: "public".into(),
        public_ips: vec![ip.into()],
        tags: tags(name),
    }
}

fn tcp_rule(port: i32, peer: RulePeer, description: &str) -> SecurityGroupRule {
    SecurityGroupRule {
        protocol: "tcp".into(),
        from_port: Some(port),
        to_port: Some(port),
        peer,
        description: Some(description.into()),
    }
}

fn all_egress() -> Vec<SecurityGroupRule> {
    vec![SecurityGroupRule {
        protocol: "-1".into(),
        from_port: None,
        to_port: None,
        peer: RulePeer::Cidr("0.0.0.0/0".into()),
        description: None,
    }]
}

fn security_group(
    id: &str,
    name: &str,
    description: &str,
    vpc_id: &str,
    ingress: Vec<SecurityGroupRule>,
) -> SecurityGroup {
    SecurityGroup {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        vpc_id: Some(vpc_id.into()),
        ingress,
        egress: all_egress(),
        tags: if name == "default" {
            Tags::new()
        } else {
            tags(name)
        },
    }
}

struct InstanceSpec<'a> {
    id: &'a str,
    state: InstanceState,
    az: &'a str,
    subnet_id: &'a str,
    vpc_id: &'a str,
    private_ip: String,
    image_id: &'a str,
    sg: &'a str,
    name: &'a str,
    asg: Option<&'a str>,
    lt: Option<(&'a str, &'a str)>,
    launched_minutes_ago: i64,
}

fn instance(spec: InstanceSpec<'_>) -> Instance {
    let mut t = tags(spec.name);
    if let Some(asg) = spec.asg {
        t.insert("aws:autoscaling:groupName".into(), asg.into());
    }
    Instance {
        id: spec.id.into(),
        state: spec.state,
        instance_type: "t3.micro".into(),
        availability_zone: spec.az.into(),
        subnet_id: Some(spec.subnet_id.into()),
        vpc_id: Some(spec.vpc_id.into()),
        private_ip: Some(spec.private_ip),
        public_ip: None,
        image_id: Some(spec.image_id.into()),
        launch_time: ago(spec.launched_minutes_ago),
        security_group_ids: vec![spec.sg.into()],
        iam_instance_profile_arn: Some(format!(
            "arn:aws:iam::{ACCOUNT}:instance-profile/lab-ec2-profile"
        )),
        key_name: None,
        launch_template: spec.lt.map(|(lt_id, name)| LaunchTemplateRef {
            id: Some(lt_id.into()),
            name: Some(name.into()),
            version: Some("1".into()),
        }),
        metadata_options: Some(MetadataOptions {
            http_tokens: Some("required".into()),
            http_put_response_hop_limit: Some(2),
            http_endpoint: Some("enabled".into()),
        }),
        volume_ids: vec![id("vol", spec.id)],
        detailed_monitoring: false,
        tags: t,
    }
}

fn volume_for(instance: &Instance) -> Volume {
    Volume {
        id: instance.volume_ids.first().cloned().unwrap_or_default(),
        availability_zone: instance.availability_zone.clone(),
        size_gib: 8,
        volume_type: "gp3".into(),
        state: "in-use".into(),
        encrypted: true,
        attached_instance_ids: vec![instance.id.clone()],
        snapshot_id: None,
        tags: Tags::new(),
    }
}

fn health_check() -> HealthCheck {
    HealthCheck {
        enabled: true,
        protocol: Some("HTTP".into()),
        port: Some("traffic-port".into()),
        path: Some("/health".into()),
        interval_seconds: Some(10),
        timeout_seconds: Some(5),
        healthy_threshold: Some(2),
        unhealthy_threshold: Some(2),
        matcher: Some("200".into()),
    }
}

fn target(instance_id: &str, health: TargetHealthState) -> Target {
    let (reason, description) = match health {
        TargetHealthState::Healthy => (None, None),
        TargetHealthState::Unhealthy => (Some("Target.Timeout"), Some("Request timed out")),
        TargetHealthState::Unused => (
            Some("Target.InvalidState"),
            Some("Target is in the stopped state"),
        ),
        TargetHealthState::Initial => (
            Some("Elb.RegistrationInProgress"),
            Some("Target registration is in progress"),
        ),
        TargetHealthState::Draining => (
            Some("Target.DeregistrationInProgress"),
            Some("Target deregistration is in progress"),
        ),
        _ => (None, None),
    };
    Target {
        id: instance_id.into(),
        port: Some(80),
        availability_zone: None,
        health,
        reason: reason.map(Into::into),
        description: description.map(Into::into),
    }
}

fn target_group(
    region: &str,
    name: &str,
    vpc_id: &str,
    lb_arn: &str,
    targets: Vec<Target>,
) -> TargetGroup {
    let mut attributes = BTreeMap::new();
    attributes.insert("deregistration_delay.timeout_seconds".into(), "30".into());
    attributes.insert("stickiness.enabled".into(), "false".into());
    attributes.insert(
        "load_balancing.cross_zone.enabled".into(),
        "use_load_balancer_configuration".into(),
    );
    TargetGroup {
        arn: tg_arn(region, name),
        name: name.into(),
        protocol: Some("HTTP".into()),
        port: Some(80),
        target_type: "instance".into(),
        vpc_id: Some(vpc_id.into()),
        load_balancer_arns: vec![lb_arn.into()],
        health_check: health_check(),
        attributes,
        targets,
    }
}

fn tg_arn(region: &str, name: &str) -> String {
    format!(
        "arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:targetgroup/{name}/{}",
        &id("x", name)[3..]
    )
}

fn lb_arn(region: &str, name: &str) -> String {
    format!(
        "arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:loadbalancer/app/{name}/{}",
        &id("x", name)[3..]
    )
}

fn load_balancer(
    region: &str,
    name: &str,
    vpc_id: &str,
    zones: &[(&str, &str)],
    sg: &str,
    tg_arns: &[&str],
) -> LoadBalancer {
    let arn = lb_arn(region, name);
    let mut attributes = BTreeMap::new();
    attributes.insert("deletion_protection.enabled".into(), "false".into());
    attributes.insert(
        "routing.http.drop_invalid_header_fields.enabled".into(),
        "true".into(),
    );
    attributes.insert("access_logs.s3.enabled".into(), "false".into());
    attributes.insert(
        "routing.http.desync_mitigation_mode".into(),
        "defensive".into(),
    );
    LoadBalancer {
        dns_name: Some(format!("{name}-1234567890.{region}.elb.amazonaws.com")),
        canonical_hosted_zone_id: None,
        scheme: "internet-facing".into(),
        lb_type: "application".into(),
        state: "active".into(),
        vpc_id: Some(vpc_id.into()),
        zones: zones
            .iter()
            .map(|(az, subnet)| LoadBalancerZone {
                availability_zone: (*az).into(),
                subnet_id: Some((*subnet).into()),
            })
            .collect(),
        security_group_ids: vec![sg.into()],
        attributes,
        listeners: vec![Listener {
            arn: format!(
                "{}/listener/{}",
                arn.replace(":loadbalancer/", ":listener/"),
                &id("x", "listener")[3..]
            ),
            port: Some(80),
            protocol: Some("HTTP".into()),
            certificates: Vec::new(),
            ssl_policy: None,
            default_actions: vec![ListenerAction::Forward {
                target_groups: tg_arns
                    .iter()
                    .map(|a| WeightedTargetGroup {
                        arn: (*a).into(),
                        weight: None,
                    })
                    .collect(),
            }],
        }],
        created_at: ago(60 * 24 * 3),
        // The lab's ALB has no web ACL (ELB.16: an accepted exception of the blueprint).
        waf: Some(WafAssociation {
            web_acl_arn: None,
            web_acl_name: None,
        }),
        arn,
        name: name.into(),
    }
}

fn asg_member(instance: &Instance, lifecycle: &str, health: &str) -> AsgInstance {
    AsgInstance {
        instance_id: instance.id.clone(),
        availability_zone: instance.availability_zone.clone(),
        lifecycle_state: lifecycle.into(),
        health_status: health.into(),
        launch_template: instance.launch_template.clone(),
        protected_from_scale_in: false,
    }
}

#[allow(clippy::too_many_arguments)]
fn auto_scaling_group(
    region: &str,
    name: &str,
    (min, desired, max): (i32, i32, i32),
    azs: &[&str],
    subnets: &[&str],
    lt: (&str, &str),
    tg_arns: Vec<String>,
    instances: Vec<AsgInstance>,
) -> AutoScalingGroup {
    AutoScalingGroup {
        name: name.into(),
        arn: Some(format!(
            "arn:aws:autoscaling:{region}:{ACCOUNT}:autoScalingGroup:{}:autoScalingGroupName/{name}",
            uuidish(name)
        )),
        min_size: min,
        max_size: max,
        desired_capacity: desired,
        availability_zones: azs.iter().map(|s| (*s).into()).collect(),
        subnet_ids: subnets.iter().map(|s| (*s).into()).collect(),
        health_check_type: "ELB".into(),
        health_check_grace_period: Some(300),
        launch_template: Some(LaunchTemplateRef {
            id: Some(lt.0.into()),
            name: Some(lt.1.into()),
            version: Some("$Latest".into()),
        }),
        launch_configuration: None,
        instance_type_overrides: Vec::new(),
        target_group_arns: tg_arns,
        load_balancer_names: Vec::new(),
        instances,
        suspended_processes: Vec::new(),
        policies: vec![ScalingPolicy {
            name: "lab-cpu-50".into(),
            policy_type: "TargetTrackingScaling".into(),
            metric: Some("ASGAverageCPUUtilization".into()),
            target_value: Some(50.0),
            enabled: true,
        }],
        status: None,
        created_at: ago(60 * 24 * 3),
        tags: plain_tags("lab-web"),
        capacity_rebalance: Some(false),
        instances_distribution: None,
        instance_requirements: false,
    }
}

fn uuidish(key: &str) -> String {
    let h = &id("x", key)[3..];
    format!(
        "{}-{}-{}-{}-{}{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[..4],
        &h[4..16],
        ""
    )
}

fn launch_template(lt_id: &str, name: &str, ami: &str, sg: &str) -> LaunchTemplate {
    LaunchTemplate {
        id: lt_id.into(),
        name: name.into(),
        default_version: Some(1),
        latest_version: Some(1),
        versions: vec![LaunchTemplateVersion {
            number: 1,
            description: Some("nginx web, IMDSv2".into()),
            is_default: true,
            created_at: ago(60 * 24 * 3),
            image_id: Some(ami.into()),
            instance_type: Some("t3.micro".into()),
            key_name: None,
            security_group_ids: vec![sg.into()],
            iam_instance_profile: Some("lab-ec2-profile".into()),
            metadata_options: Some(MetadataOptions {
                http_tokens: Some("required".into()),
                http_put_response_hop_limit: Some(2),
                http_endpoint: Some("enabled".into()),
            }),
            associate_public_ip: Some(false),
            has_user_data: true,
        }],
        tags: tags(name),
    }
}

fn db_arn(region: &str, identifier: &str) -> String {
    format!("arn:aws:rds:{region}:{ACCOUNT}:db:{identifier}")
}

struct DbSpec<'a> {
    region: &'a str,
    identifier: &'a str,
    az: &'a str,
    multi_az: bool,
    secondary_az: Option<&'a str>,
    source: Option<String>,
    replicas: Vec<String>,
    subnet_group: &'a str,
    sg: &'a str,
    status: &'a str,
}

fn db_instance(spec: DbSpec<'_>) -> DbInstance {
    DbInstance {
        identifier: spec.identifier.into(),
        arn: db_arn(spec.region, spec.identifier),
        engine: "mysql".into(),
        engine_version: Some("8.0.40".into()),
        class: "db.t3.micro".into(),
        status: spec.status.into(),
        multi_az: spec.multi_az,
        availability_zone: Some(spec.az.into()),
        secondary_availability_zone: spec.secondary_az.map(Into::into),
        endpoint: Some(Endpoint {
            address: format!(
                "{}.c9akciq32.{}.rds.amazonaws.com",
                spec.identifier, spec.region
            ),
            port: Some(3306),
        }),
        publicly_accessible: false,
        storage_encrypted: true,
        kms_key_id: Some(format!(
            "arn:aws:kms:{}:{ACCOUNT}:key/{}",
            spec.region,
            uuidish(spec.region)
        )),
        backup_retention_days: if spec.source.is_some() { 0 } else { 7 },
        deletion_protection: spec.source.is_none(),
        auto_minor_version_upgrade: true,
        monitoring_interval: Some(60),
        // What `haven up` asks for (RDS.9's four MySQL logs).
        cloudwatch_logs_exports: ["audit", "error", "general", "slowquery"]
            .map(String::from)
            .to_vec(),
        cluster_identifier: None,
        read_replica_source: spec.source,
        read_replica_identifiers: spec.replicas,
        replica_lag: None,
        subnet_group_name: Some(spec.subnet_group.into()),
        vpc_security_group_ids: vec![spec.sg.into()],
        master_user_secret_arn: Some(format!(
            "arn:aws:secretsmanager:{}:{ACCOUNT}:secret:rds!db-{}",
            spec.region,
            uuidish(spec.identifier)
        )),
        allocated_storage_gib: Some(20),
        created_at: ago(60 * 24 * 2),
        tags: plain_tags(spec.identifier),
        security: DbSecurity {
            copy_tags_to_snapshot: Some(true),
            iam_database_authentication: Some(true),
            master_username: Some("dbadmin".into()),
            engine_lifecycle_support: Some("open-source-rds-extended-support".into()),
        },
    }
}

fn iam() -> Iam {
    let policy = |name: &str| format!("arn:aws:iam::aws:policy/{name}");
    Iam {
        users: vec![IamUser {
            name: "lab-alice".into(),
            arn: format!("arn:aws:iam::{ACCOUNT}:user/lab-alice"),
            created_at: ago(60 * 24 * 30),
            console_access: true,
            password_last_used: ago(60 * 5),
            mfa_devices: vec![format!("arn:aws:iam::{ACCOUNT}:mfa/lab-alice")],
            access_keys: vec![AccessKey {
                id: "AKIAEXAMPLEALICE0001".into(),
                status: "Active".into(),
                created_at: ago(60 * 24 * 30),
                last_used_read: true,
                last_used: ago(60 * 24),
            }],
            groups: vec!["lab-operators".into()],
            attached_policy_arns: Vec::new(),
            tags: Default::default(),
        }],
        groups: vec![IamGroup {
            name: "lab-operators".into(),
            arn: format!("arn:aws:iam::{ACCOUNT}:group/lab-operators"),
            attached_policy_arns: vec![policy("AdministratorAccess")],
        }],
        roles: vec![IamRole {
            name: "lab-ec2-role".into(),
            arn: format!("arn:aws:iam::{ACCOUNT}:role/lab-ec2-role"),
            path: "/".into(),
            trusted_services: vec!["ec2.amazonaws.com".into()],
            attached_policy_arns: vec![policy("AmazonSSMManagedInstanceCore")],
            tags: Default::default(),
        }],
        instance_profiles: vec![InstanceProfile {
            name: "lab-ec2-profile".into(),
            arn: format!("arn:aws:iam::{ACCOUNT}:instance-profile/lab-ec2-profile"),
            role_names: vec!["lab-ec2-role".into()],
            tags: Default::default(),
        }],
        password_policy: Some(PasswordPolicy {
            minimum_length: Some(14),
            require_symbols: true,
            require_numbers: true,
            require_uppercase: true,
            require_lowercase: true,
            allow_users_to_change: true,
            max_age_days: Some(90),
            reuse_prevention: Some(24),
            hard_expiry: false,
        }),
        account: AccountSummary {
            root_mfa_enabled: Some(true),
            root_access_keys_present: Some(false),
            root_virtual_mfa: Some(false),
            alias: None,
        },
        customer_policies: Some(Vec::new()),
    }
}

// ---------------------------------------------------------------------------------------------
// The lab.

/// How the lab deviates from the healthy one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LabShape {
    /// AZ b's instance is stopped and its target `unused`.
    az_b_down: bool,
    /// One NAT gateway (in AZ a) for both private subnets.
    single_nat: bool,
    /// The primary DB is Single-AZ.
    single_az_db: bool,
    /// Cross-Region replicas in the DR Region.
    dr_replicas: usize,
}

/// A default VPC with one default subnet per AZ and no instances (what every Region has).
fn default_vpc(r: &mut RegionTopology, region: &str, letters: &[char]) {
    let vpc_id = id("vpc", &format!("{region}default"));
    r.vpcs.push(vpc(&vpc_id, "172.31.0.0/16", None, true));
    let igw_id = id("igw", &format!("{region}default"));
    r.internet_gateways.push(InternetGateway {
        id: igw_id.clone(),
        attached_vpc_ids: vec![vpc_id.clone()],
        tags: Tags::new(),
    });
    let mut subnet_ids = Vec::new();
    for (i, letter) in letters.iter().enumerate() {
        let sid = id("subnet", &format!("{region}default{letter}"));
        r.subnets.push(subnet(
            &sid,
            &vpc_id,
            &format!("{region}{letter}"),
            &format!("172.31.{}.0/20", i * 16),
            None,
            true,
        ));
        subnet_ids.push(sid);
    }
    r.route_tables.push(route_table(
        &id("rtb", &format!("{region}default")),
        &vpc_id,
        None,
        true,
        &[],
        vec![
            route("172.31.0.0/16", RouteTarget::Local),
            route("0.0.0.0/0", RouteTarget::InternetGateway(igw_id)),
        ],
    ));
    r.security_groups.push(security_group(
        &id("sg", &format!("{region}default")),
        "default",
        "default VPC security group",
        &vpc_id,
        Vec::new(),
    ));
}

fn lab(shape: LabShape) -> Topology {
    let mut topology = Topology::new(taken_at());
    topology.account_id = Some(ACCOUNT.into());
    topology.caller_arn = Some(format!("arn:aws:iam::{ACCOUNT}:user/lab-alice"));
    topology.iam = Some(iam());
    let mut primary = primary_region(shape);
    let mut dr = dr_region(&primary, shape);
    lab_alarms(&mut primary, &mut dr, shape);
    lab_guards(&mut primary);
    lab_guards(&mut dr);
    // `haven up` makes no AWS Backup plan: discovery reads none (RDS.26 and EC2.28 fail).
    primary.backup_selections = Some(Vec::new());
    dr.backup_selections = Some(Vec::new());
    topology.regions = vec![primary, dr];
    topology
}

/// What `haven up` leaves as AWS made it: each VPC guarded by its default network ACL (rule
/// 100 allows all traffic, in and out), no flow logs; and an account that turned EBS encryption
/// by default and block public access for snapshots and AMIs on in every Region.
fn lab_guards(r: &mut RegionTopology) {
    let region = r.region.clone();
    for vpc in &r.vpcs {
        let all = |egress: bool, rule_number: i32, allow: bool| NaclEntry {
            rule_number,
            egress,
            protocol: "-1".into(),
            allow,
            cidr_block: Some("0.0.0.0/0".into()),
            ipv6_cidr_block: None,
            from_port: None,
            to_port: None,
        };
        r.network_acls.push(NetworkAcl {
            id: id("acl", &format!("{region}{}", vpc.id)),
            vpc_id: vpc.id.clone(),
            is_default: true,
            subnet_ids: r
                .subnets
                .iter()
                .filter(|s| s.vpc_id == vpc.id)
                .map(|s| s.id.clone())
                .collect(),
            entries: vec![
                all(false, 100, true),
                all(false, 32767, false),
                all(true, 100, true),
                all(true, 32767, false),
            ],
            tags: Tags::new(),
        });
    }
    r.flow_logs = Some(Vec::new());
    r.settings = RegionSettings {
        ebs_encryption_by_default: Some(true),
        snapshot_block_public_access: Some("block-all-sharing".into()),
        image_block_public_access: Some("block-new-sharing".into()),
    };
}

/// The alarms a well-run lab has: unhealthy hosts of its target group (firing when AZ b serves
/// nothing) and the lag of its first replica in each Region.
fn lab_alarms(primary: &mut RegionTopology, dr: &mut RegionTopology, shape: LabShape) {
    let alarm = |region: &str,
                 name: &str,
                 metric: (&str, &str, &str, String),
                 firing: Option<&str>| {
        let (namespace, metric_name, dimension, value) = metric;
        let threshold = if metric_name == "ReplicaLag" {
            60.0
        } else {
            0.0
        };
        let quiet = format!(
            "Threshold Crossed: 3 datapoints [0.0 (02/03/26 08:58:00), 0.0 (02/03/26 08:57:00), \
             0.0 (02/03/26 08:56:00)] were not greater than the threshold ({threshold:.1})."
        );
        Alarm {
            name: name.into(),
            arn: Some(format!(
                "arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{name}"
            )),
            state: if firing.is_some() { "ALARM" } else { "OK" }.into(),
            reason: Some(firing.map_or(quiet, str::to_string)),
            updated_at: ago(if firing.is_some() { 12 } else { 180 }),
            composite: false,
            metrics: vec![AlarmMetric {
                namespace: namespace.into(),
                name: metric_name.into(),
                dimensions: [(dimension.to_string(), value)].into(),
            }],
            comparison: Some("GreaterThanThreshold".into()),
            threshold: Some(threshold),
            actions_enabled: true,
            alarm_actions: vec![format!("arn:aws:sns:{region}:{ACCOUNT}:lab-oncall")],
        }
    };
    if let Some(tg) = primary.target_groups.first() {
        let dimension = tg
            .arn
            .rsplit_once(':')
            .map(|(_, d)| d.to_string())
            .unwrap_or_default();
        let firing = shape.az_b_down.then_some(
            "Threshold Crossed: 3 datapoints [1.0 (02/03/26 08:48:00), 1.0 (02/03/26 08:47:00), 1.0 (02/03/26 08:46:00)] were greater than the threshold (0.0).",
        );
        primary.alarms.push(alarm(
            PRIMARY,
            "lab-unhealthy-hosts",
            (
                "AWS/ApplicationELB",
                "UnHealthyHostCount",
                "TargetGroup",
                dimension,
            ),
            firing,
        ));
    }
    for (code, region) in [(PRIMARY, primary), (DR, dr)] {
        let Some(replica) = region
            .db_instances
            .iter()
            .find(|d| d.read_replica_source.is_some())
        else {
            continue;
        };
        let name = format!("{}-lag", replica.identifier);
        let id = replica.identifier.clone();
        region.alarms.push(alarm(
            code,
            &name,
            ("AWS/RDS", "ReplicaLag", "DBInstanceIdentifier", id),
            None,
        ));
    }
}

fn primary_region(shape: LabShape) -> RegionTopology {
    let region = PRIMARY;
    let az = |l: char| format!("{region}{l}");
    let mut r = RegionTopology {
        region: region.into(),
        availability_zones: vec![
            zone(region, 'a', "apne2-az1"),
            zone(region, 'b', "apne2-az2"),
            zone(region, 'c', "apne2-az3"),
            zone(region, 'd', "apne2-az4"),
        ],
        ..RegionTopology::default()
    };
    default_vpc(&mut r, region, &['a', 'b', 'c', 'd']);

    let vpc_id = id("vpc", "lab-vpc");
    r.vpcs
        .push(vpc(&vpc_id, "10.0.0.0/16", Some("lab-vpc"), false));
    let igw = id("igw", "lab-igw");
    r.internet_gateways.push(InternetGateway {
        id: igw.clone(),
        attached_vpc_ids: vec![vpc_id.clone()],
        tags: tags("lab-igw"),
    });
    let pub_a = id("subnet", "lab-public-a");
    let pub_b = id("subnet", "lab-public-b");
    let prv_a = id("subnet", "lab-private-a");
    let prv_b = id("subnet", "lab-private-b");
    r.subnets.extend([
        subnet(
            &pub_a,
            &vpc_id,
            &az('a'),
            "10.0.0.0/24",
            Some("lab-public-a"),
            true,
        ),
        subnet(
            &pub_b,
            &vpc_id,
            &az('b'),
            "10.0.1.0/24",
            Some("lab-public-b"),
            true,
        ),
        subnet(
            &prv_a,
            &vpc_id,
            &az('a'),
            "10.0.10.0/24",
            Some("lab-private-a"),
            false,
        ),
        subnet(
            &prv_b,
            &vpc_id,
            &az('b'),
            "10.0.11.0/24",
            Some("lab-private-b"),
            false,
        ),
    ]);
    let nat_a = id("nat", "lab-nat-a");
    let nat_b = id("nat", "lab-nat-b");
    r.nat_gateways
        .push(nat(&nat_a, &vpc_id, &pub_a, "lab-nat-a", "3.36.12.40"));
    if !shape.single_nat {
        r.nat_gateways
            .push(nat(&nat_b, &vpc_id, &pub_b, "lab-nat-b", "3.36.77.151"));
    }
    r.route_tables.push(route_table(
        &id("rtb", "lab-main"),
        &vpc_id,
        None,
        true,
        &[],
        vec![route("10.0.0.0/16", RouteTarget::Local)],
    ));
    r.route_tables.push(route_table(
        &id("rtb", "lab-public-rt"),
        &vpc_id,
        Some("lab-public-rt"),
        false,
        &[&pub_a, &pub_b],
        vec![
            route("10.0.0.0/16", RouteTarget::Local),
            route("0.0.0.0/0", RouteTarget::InternetGateway(igw.clone())),
        ],
    ));
    for (suffix, subnet_id, nat_id) in [
        ('a', &prv_a, &nat_a),
        ('b', &prv_b, if shape.single_nat { &nat_a } else { &nat_b }),
    ] {
        let name = format!("lab-private-rt-{suffix}");
        r.route_tables.push(route_table(
            &id("rtb", &name),
            &vpc_id,
            Some(&name),
            false,
            &[subnet_id],
            vec![
                route("10.0.0.0/16", RouteTarget::Local),
                route("0.0.0.0/0", RouteTarget::NatGateway(nat_id.clone())),
            ],
        ));
    }

    let sg_alb = id("sg", "lab-alb");
    let sg_app = id("sg", "lab-app");
    let sg_db = id("sg", "lab-db");
    r.security_groups.extend([
        security_group(
            &id("sg", "lab-default"),
            "default",
            "default VPC security group",
            &vpc_id,
            Vec::new(),
        ),
        security_group(
            &sg_alb,
            "lab-alb",
            "HTTP and HTTPS from anywhere",
            &vpc_id,
            vec![
                tcp_rule(80, RulePeer::Cidr("0.0.0.0/0".into()), "HTTP from anywhere"),
                tcp_rule(
                    443,
                    RulePeer::Cidr("0.0.0.0/0".into()),
                    "HTTPS from anywhere",
                ),
            ],
        ),
        security_group(
            &sg_app,
            "lab-app",
            "HTTP from the load balancer only",
            &vpc_id,
            vec![tcp_rule(
                80,
                RulePeer::SecurityGroup(sg_alb.clone()),
                "HTTP from lab-alb",
            )],
        ),
        security_group(
            &sg_db,
            "lab-db",
            "MySQL from the app tier only",
            &vpc_id,
            vec![tcp_rule(
                3306,
                RulePeer::SecurityGroup(sg_app.clone()),
                "MySQL from lab-app",
            )],
        ),
    ]);

    let ami = id("ami", "lab-web-ami");
    r.images.push(Image {
        id: ami.clone(),
        name: Some("lab-web-ami".into()),
        description: Some("nginx web tier baked from Amazon Linux 2023".into()),
        state: "available".into(),
        owner_id: Some(ACCOUNT.into()),
        created_at: ago(60 * 24 * 4),
        public: false,
        snapshot_ids: vec![id("snap", "lab-web-ami-root")],
        source_image_id: None,
        source_image_region: None,
        tags: tags("lab-web-ami"),
    });
    r.snapshots.push(Snapshot {
        id: id("snap", "lab-web-ami-root"),
        volume_id: Some(id("vol", "lab-bake")),
        volume_size_gib: Some(8),
        state: "completed".into(),
        progress: Some("100%".into()),
        started_at: ago(60 * 24 * 4),
        owner_id: Some(ACCOUNT.into()),
        encrypted: true,
        description: Some(format!("Created by CreateImage for {ami}")),
        tags: Tags::new(),
        public: Some(false),
    });
    r.snapshots.push(Snapshot {
        id: id("snap", "lab-web-root"),
        volume_id: Some(id("vol", "lab-bake")),
        volume_size_gib: Some(8),
        state: "completed".into(),
        progress: Some("100%".into()),
        started_at: ago(60 * 26),
        owner_id: Some(ACCOUNT.into()),
        encrypted: true,
        description: Some("lab-web root volume".into()),
        tags: tags("lab-web-root"),
        public: Some(false),
    });

    let lt_id = id("lt", "lab-web");
    r.launch_templates
        .push(launch_template(&lt_id, "lab-web", &ami, &sg_app));

    let web_a = instance(InstanceSpec {
        id: &id("i", "lab-web-a"),
        state: InstanceState::Running,
        az: &az('a'),
        subnet_id: &prv_a,
        vpc_id: &vpc_id,
        private_ip: "10.0.10.57".into(),
        image_id: &ami,
        sg: &sg_app,
        name: "lab-web",
        asg: Some("lab-asg"),
        lt: Some((&lt_id, "lab-web")),
        launched_minutes_ago: 60 * 20,
    });
    let web_b = instance(InstanceSpec {
        id: &id("i", "lab-web-b"),
        state: if shape.az_b_down {
            InstanceState::Stopped
        } else {
            InstanceState::Running
        },
        az: &az('b'),
        subnet_id: &prv_b,
        vpc_id: &vpc_id,
        private_ip: "10.0.11.203".into(),
        image_id: &ami,
        sg: &sg_app,
        name: "lab-web",
        asg: Some("lab-asg"),
        lt: Some((&lt_id, "lab-web")),
        launched_minutes_ago: 60 * 20,
    });
    r.volumes.extend([volume_for(&web_a), volume_for(&web_b)]);

    let alb_arn = lb_arn(region, "lab-alb");
    let tg = tg_arn(region, "lab-web-tg");
    r.target_groups.push(target_group(
        region,
        "lab-web-tg",
        &vpc_id,
        &alb_arn,
        vec![
            target(&web_a.id, TargetHealthState::Healthy),
            target(
                &web_b.id,
                if shape.az_b_down {
                    TargetHealthState::Unused
                } else {
                    TargetHealthState::Healthy
                },
            ),
        ],
    ));
    r.load_balancers.push(load_balancer(
        region,
        "lab-alb",
        &vpc_id,
        &[(&az('a'), &pub_a), (&az('b'), &pub_b)],
        &sg_alb,
        &[&tg],
    ));
    r.auto_scaling_groups.push(auto_scaling_group(
        region,
        "lab-asg",
        (2, 2, 4),
        &[&az('a'), &az('b')],
        &[&prv_a, &prv_b],
        (&lt_id, "lab-web"),
        vec![tg],
        vec![
            asg_member(&web_a, "InService", "Healthy"),
            asg_member(
                &web_b,
                "InService",
                if shape.az_b_down {
                    "Unhealthy"
                } else {
                    "Healthy"
                },
            ),
        ],
    ));
    r.instances.extend([web_a, web_b]);

    r.db_subnet_groups.push(DbSubnetGroup {
        name: "lab-db-subnets".into(),
        arn: Some(format!(
            "arn:aws:rds:{region}:{ACCOUNT}:subgrp:lab-db-subnets"
        )),
        vpc_id: Some(vpc_id.clone()),
        subnet_ids: vec![prv_a.clone(), prv_b.clone()],
        status: Some("Complete".into()),
    });
    let mut replicas = vec!["lab-db-replica-1".to_string()];
    for n in 0..shape.dr_replicas {
        replicas.push(db_arn(DR, &dr_replica_name(n)));
    }
    r.db_instances.push(db_instance(DbSpec {
        region,
        identifier: "lab-db",
        az: &az('a'),
        multi_az: !shape.single_az_db,
        secondary_az: (!shape.single_az_db).then_some("ap-northeast-2b"),
        source: None,
        replicas,
        subnet_group: "lab-db-subnets",
        sg: &sg_db,
        status: "available",
    }));
    r.db_instances.push(db_instance(DbSpec {
        region,
        identifier: "lab-db-replica-1",
        az: &az('b'),
        multi_az: false,
        secondary_az: None,
        source: Some("lab-db".into()),
        replicas: Vec::new(),
        subnet_group: "lab-db-subnets",
        sg: &sg_db,
        status: "available",
    }));
    r.db_snapshots.push(DbSnapshot {
        identifier: "lab-db-manual-1".into(),
        arn: format!("arn:aws:rds:{region}:{ACCOUNT}:snapshot:lab-db-manual-1"),
        instance_identifier: Some("lab-db".into()),
        cluster_identifier: None,
        snapshot_type: "manual".into(),
        status: "available".into(),
        engine: "mysql".into(),
        created_at: ago(60 * 24),
        encrypted: true,
        percent_progress: Some(100),
        source_snapshot: None,
        source_region: None,
        tags: Tags::new(),
        public: Some(false),
    });
    r
}

fn dr_replica_name(n: usize) -> String {
    if n == 0 {
        "lab-db-dr".into()
    } else {
        format!("lab-db-dr-{}", n + 1)
    }
}

fn dr_region(primary: &RegionTopology, shape: LabShape) -> RegionTopology {
    let region = DR;
    let az = |l: char| format!("{region}{l}");
    let mut r = RegionTopology {
        region: region.into(),
        availability_zones: ['a', 'b', 'c', 'd', 'e', 'f']
            .iter()
            .enumerate()
            .map(|(i, l)| zone(region, *l, &format!("use1-az{}", i + 1)))
            .collect(),
        ..RegionTopology::default()
    };
    default_vpc(&mut r, region, &['a', 'b', 'c', 'd', 'e', 'f']);
    let vpc_id = id("vpc", "lab-dr-vpc");
    r.vpcs
        .push(vpc(&vpc_id, "10.1.0.0/16", Some("lab-dr-vpc"), false));
    let dr_a = id("subnet", "lab-dr-private-a");
    let dr_b = id("subnet", "lab-dr-private-b");
    r.subnets.extend([
        subnet(
            &dr_a,
            &vpc_id,
            &az('a'),
            "10.1.10.0/24",
            Some("lab-dr-private-a"),
            false,
        ),
        subnet(
            &dr_b,
            &vpc_id,
            &az('b'),
            "10.1.11.0/24",
            Some("lab-dr-private-b"),
            false,
        ),
    ]);
    r.route_tables.push(route_table(
        &id("rtb", "lab-dr-main"),
        &vpc_id,
        None,
        true,
        &[],
        vec![route("10.1.0.0/16", RouteTarget::Local)],
    ));
    let sg_db = id("sg", "lab-dr-db");
    r.security_groups.extend([
        security_group(
            &id("sg", "lab-dr-default"),
            "default",
            "default VPC security group",
            &vpc_id,
            Vec::new(),
        ),
        security_group(
            &sg_db,
            "lab-dr-db",
            "MySQL from the DR VPC",
            &vpc_id,
            vec![tcp_rule(
                3306,
                RulePeer::Cidr("10.1.0.0/16".into()),
                "MySQL from lab-dr-vpc",
            )],
        ),
    ]);
    r.db_subnet_groups.push(DbSubnetGroup {
        name: "lab-dr-db-subnets".into(),
        arn: Some(format!(
            "arn:aws:rds:{region}:{ACCOUNT}:subgrp:lab-dr-db-subnets"
        )),
        vpc_id: Some(vpc_id.clone()),
        subnet_ids: vec![dr_a, dr_b],
        status: Some("Complete".into()),
    });
    for n in 0..shape.dr_replicas {
        r.db_instances.push(db_instance(DbSpec {
            region,
            identifier: &dr_replica_name(n),
            az: &az(if n % 2 == 0 { 'a' } else { 'b' }),
            multi_az: false,
            secondary_az: None,
            source: Some(db_arn(PRIMARY, "lab-db")),
            replicas: Vec::new(),
            subnet_group: "lab-dr-db-subnets",
            sg: &sg_db,
            status: if n == 0 { "available" } else { "creating" },
        }));
    }

    // The copied AMI and its snapshot, named as the console names them.
    let source_ami = primary
        .images
        .first()
        .map(|i| i.id.clone())
        .unwrap_or_default();
    let copy_ami = id("ami", "lab-web-ami-dr");
    let copy_ami_snap = id("snap", "lab-web-ami-dr-root");
    r.images.push(Image {
        id: copy_ami.clone(),
        name: Some("lab-web-ami".into()),
        description: Some(format!(
            "[Copied {source_ami} from {PRIMARY}] nginx web tier baked from Amazon Linux 2023"
        )),
        state: "available".into(),
        owner_id: Some(ACCOUNT.into()),
        created_at: ago(60 * 3 + 20),
        public: false,
        snapshot_ids: vec![copy_ami_snap.clone()],
        source_image_id: None,
        source_image_region: None,
        tags: tags("lab-web-ami"),
    });
    r.snapshots.push(Snapshot {
        id: copy_ami_snap,
        volume_id: Some("vol-ffffffff".into()),
        volume_size_gib: Some(8),
        state: "completed".into(),
        progress: Some("100%".into()),
        started_at: ago(60 * 3 + 20),
        owner_id: Some(ACCOUNT.into()),
        encrypted: true,
        description: Some(format!("Copied for DestinationAmi {copy_ami}")),
        tags: Tags::new(),
        public: Some(false),
    });
    let source_snap = id("snap", "lab-web-root");
    r.snapshots.push(Snapshot {
        id: id("snap", "lab-web-root-dr"),
        volume_id: Some("vol-ffffffff".into()),
        volume_size_gib: Some(8),
        state: "completed".into(),
        progress: Some("100%".into()),
        started_at: ago(60 * 25 + 10),
        owner_id: Some(ACCOUNT.into()),
        encrypted: true,
        description: Some(format!(
            "[Copied {source_snap} from {PRIMARY}] lab-web root volume"
        )),
        tags: tags("lab-web-root"),
        public: Some(false),
    });
    if shape.dr_replicas > 1 {
        // A copy still running, tagged by haven with its source.
        let mut t = tags("lab-web-root");
        t.insert(
            "haven:source".into(),
            Arn::ec2(PRIMARY, ACCOUNT, "snapshot", &source_snap),
        );
        r.snapshots.push(Snapshot {
            id: id("snap", "lab-web-root-dr-2"),
            volume_id: Some("vol-ffffffff".into()),
            volume_size_gib: Some(8),
            state: "pending".into(),
            progress: Some("42%".into()),
            started_at: ago(4),
            owner_id: Some(ACCOUNT.into()),
            encrypted: true,
            description: Some("haven DR copy of lab-web root volume".into()),
            tags: t,
            public: Some(false),
        });
    }
    r
}

/// The classic lab, every AZ serving, with its DR copy in us-east-1.
pub fn lab_healthy() -> Topology {
    lab(LabShape {
        az_b_down: false,
        single_nat: false,
        single_az_db: false,
        dr_replicas: 1,
    })
}

/// The healthy lab in the middle of blue/green deploy `d1` of stack `lab`: green (`lab-asg-d1`,
/// target group `lab-d1`, launch template version 2 on a new AMI) beside blue, the listener
/// forwarding 50/50, step `shift-50` since 3 minutes, green's instance in 2b still `initial`.
pub fn lab_deploy() -> Topology {
    let mut topology = lab_healthy();
    let Some(r) = topology.regions.iter_mut().find(|r| r.region == PRIMARY) else {
        return topology;
    };
    let deploy_tags = |role: &str| -> BTreeMap<String, String> {
        [
            ("haven:stack", "lab"),
            ("haven:deploy", "d1"),
            ("haven:deploy-role", role),
            ("haven:deploy-step", "shift-50"),
            ("haven:deploy-since", "2026-03-02T08:57:00Z"),
            ("haven:deploy-strategy", "blue-green"),
            ("haven:deploy-version", "2"),
            ("haven:deploy-from", "1"),
            ("haven:deploy-capacity", "2/4/2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    };
    let new_ami = "ami-0d1e2f3a4b5c6d7e8";
    let lt = &mut r.launch_templates[0];
    let mut v2 = lt.versions[0].clone();
    v2.number = 2;
    v2.description = Some("haven deploy d1".into());
    v2.is_default = false;
    v2.created_at = Some(taken_at() - Duration::minutes(10));
    v2.image_id = Some(new_ami.into());
    lt.versions.push(v2);
    lt.latest_version = Some(2);

    let blue = &mut r.auto_scaling_groups[0];
    blue.tags.extend(deploy_tags("blue"));
    if let Some(lt) = &mut blue.launch_template {
        lt.version = Some("1".into());
    }
    let mut green = blue.clone();
    let blue_tg = r.target_groups[0].clone();
    let green_tg_arn = blue_tg
        .arn
        .replace("lab-web-tg/7a90e8168e7730ff", "lab-d1/3c1d2e3f4a5b6c7d");
    green.name = "lab-asg-d1".into();
    green.arn = green.arn.map(|arn| {
        arn.replace(
            "7da027c3-82f3-7d10-7da0-27c382f37d10",
            "5b8e1d20-6a0c-4f3b-9d7e-1c2b3a4d5e6f",
        )
        .replace("lab-asg", "lab-asg-d1")
    });
    if let Some(lt) = &mut green.launch_template {
        lt.version = Some("2".into());
    }
    green.target_group_arns = vec![green_tg_arn.clone()];
    green.created_at = Some(taken_at() - Duration::minutes(9));
    green.tags = deploy_tags("green");
    green.tags.insert("Name".into(), "lab-web".into());

    let ids = ["i-0a1b2c3d4e5f60718", "i-0b2c3d4e5f6071829"];
    let mut targets = Vec::new();
    for (n, (id, health)) in ids
        .into_iter()
        .zip([TargetHealthState::Healthy, TargetHealthState::Initial])
        .enumerate()
    {
        let mut instance = r.instances[n].clone();
        instance.id = id.into();
        instance.image_id = Some(new_ami.into());
        instance.launch_time = Some(taken_at() - Duration::minutes(8));
        if let Some(lt) = &mut instance.launch_template {
            lt.version = Some("2".into());
        }
        instance.private_ip = instance.private_ip.as_deref().map(|ip| {
            let net = ip.rsplit_once('.').map_or(ip, |(net, _)| net);
            format!("{net}.{}", 91 + n)
        });
        instance
            .tags
            .insert("aws:autoscaling:groupName".into(), green.name.clone());
        instance.volume_ids.clear();
        r.instances.push(instance);
        if let Some(member) = green.instances.get_mut(n) {
            member.instance_id = id.into();
            if let Some(lt) = &mut member.launch_template {
                lt.version = Some("2".into());
            }
        }
        let registering = health == TargetHealthState::Initial;
        targets.push(Target {
            id: id.into(),
            port: Some(80),
            availability_zone: None,
            health,
            reason: registering.then(|| "Elb.RegistrationInProgress".into()),
            description: registering.then(|| "Target registration is in progress".into()),
        });
    }
    let mut green_tg = blue_tg.clone();
    green_tg.arn = green_tg_arn.clone();
    green_tg.name = "lab-d1".into();
    green_tg.targets = targets;
    r.auto_scaling_groups.push(green);
    r.target_groups.push(green_tg);
    for listener in r.load_balancers.iter_mut().flat_map(|lb| &mut lb.listeners) {
        for action in &mut listener.default_actions {
            if let ListenerAction::Forward { target_groups } = action {
                *target_groups = vec![
                    WeightedTargetGroup {
                        arn: blue_tg.arn.clone(),
                        weight: Some(50),
                    },
                    WeightedTargetGroup {
                        arn: green_tg_arn.clone(),
                        weight: Some(50),
                    },
                ];
            }
        }
    }
    topology
}

/// The lab with AZ b serving nothing, one shared NAT and a Single-AZ database.
pub fn lab_degraded() -> Topology {
    lab(LabShape {
        az_b_down: true,
        single_nat: true,
        single_az_db: true,
        dr_replicas: 1,
    })
}

/// The healthy lab with two cross-Region replicas (one still being created) and a copy in flight.
pub fn two_regions() -> Topology {
    lab(LabShape {
        az_b_down: false,
        single_nat: false,
        single_az_db: false,
        dr_replicas: 2,
    })
}

// ---------------------------------------------------------------------------------------------
// A large stack.

/// About 10,000 resources: three Regions × three AZs, each with a stack VPC of public, app and
/// data subnets, a few hundred instances per subnet behind load balancers, security groups,
/// volumes, AMIs, snapshots and databases.
pub fn large_10k() -> Topology {
    let mut topology = Topology::new(taken_at());
    topology.account_id = Some(ACCOUNT.into());
    topology.caller_arn = Some(format!("arn:aws:iam::{ACCOUNT}:role/platform-admin"));
    topology.iam = Some(iam());
    let regions = [
        ("ap-northeast-2", "apne2"),
        ("us-east-1", "use1"),
        ("eu-west-1", "euw1"),
    ];
    for (index, (region, short)) in regions.iter().enumerate() {
        let mut r = large_region(region, short, index);
        r.backup_selections = Some(large_backup_selections(short));
        topology.regions.push(r);
    }
    topology.errors.push(DiscoveryError {
        region: Some("eu-west-1".into()),
        service: Service::Rds,
        operation: "DescribeDBSnapshots".into(),
        code: Some("Throttling".into()),
        message: "Rate exceeded".into(),
        part: None,
    });
    topology
}

/// A daily plan for every volume but scratch ones, and the databases tagged for it.
fn large_backup_selections(short: &str) -> Vec<BackupSelection> {
    let plan_id = uuidish(&format!("{short}-daily"));
    vec![
        BackupSelection {
            plan_id: plan_id.clone(),
            plan_name: "daily".into(),
            selection_id: uuidish(&format!("{short}-volumes")),
            selection_name: "volumes".into(),
            iam_role_arn: Some(format!(
                "arn:aws:iam::{ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole"
            )),
            resources: vec!["arn:aws:ec2:*:*:volume/*".into()],
            conditions: vec![TagCondition::new(
                "StringNotEquals",
                "aws:ResourceTag/scratch",
                "true",
            )],
            ..BackupSelection::default()
        },
        BackupSelection {
            plan_id,
            plan_name: "daily".into(),
            selection_id: uuidish(&format!("{short}-databases")),
            selection_name: "databases".into(),
            iam_role_arn: Some(format!(
                "arn:aws:iam::{ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole"
            )),
            list_of_tags: vec![TagCondition::new("StringEquals", "backup", "daily")],
            ..BackupSelection::default()
        },
    ]
}

fn large_region(region: &str, short: &str, index: usize) -> RegionTopology {
    let letters = ['a', 'b', 'c'];
    let mut r = RegionTopology {
        region: region.into(),
        availability_zones: letters
            .iter()
            .enumerate()
            .map(|(i, l)| zone(region, *l, &format!("{short}-az{}", i + 1)))
            .collect(),
        ..RegionTopology::default()
    };
    default_vpc(&mut r, region, &letters);
    let key = |s: &str| format!("{region}/{s}");
    let vpc_id = id("vpc", &key("shop-vpc"));
    let second_octet = 20 + index;
    r.vpcs.push(vpc(
        &vpc_id,
        &format!("10.{second_octet}.0.0/16"),
        Some("shop-vpc"),
        false,
    ));
    let igw = id("igw", &key("shop-igw"));
    r.internet_gateways.push(InternetGateway {
        id: igw.clone(),
        attached_vpc_ids: vec![vpc_id.clone()],
        tags: tags("shop-igw"),
    });
    r.route_tables.push(route_table(
        &id("rtb", &key("main")),
        &vpc_id,
        None,
        true,
        &[],
        vec![route(
            &format!("10.{second_octet}.0.0/16"),
            RouteTarget::Local,
        )],
    ));
    let sg_lb = id("sg", &key("shop-lb"));
    let sg_app = id("sg", &key("shop-app"));
    let sg_db = id("sg", &key("shop-db"));
    r.security_groups.extend([
        security_group(
            &sg_lb,
            "shop-lb",
            "HTTPS from anywhere",
            &vpc_id,
            vec![tcp_rule(443, RulePeer::Cidr("0.0.0.0/0".into()), "HTTPS")],
        ),
        security_group(
            &sg_app,
            "shop-app",
            "HTTP from the load balancers",
            &vpc_id,
            vec![tcp_rule(
                8080,
                RulePeer::SecurityGroup(sg_lb.clone()),
                "from shop-lb",
            )],
        ),
        security_group(
            &sg_db,
            "shop-db",
            "PostgreSQL from the app tier",
            &vpc_id,
            vec![tcp_rule(
                5432,
                RulePeer::SecurityGroup(sg_app.clone()),
                "from shop-app",
            )],
        ),
    ]);
    // Per-service security groups, as large accounts have.
    for n in 0..120 {
        let name = format!("svc-{n:03}");
        r.security_groups.push(security_group(
            &id("sg", &key(&name)),
            &name,
            "service-to-service",
            &vpc_id,
            vec![tcp_rule(
                9000 + n,
                RulePeer::SecurityGroup(sg_app.clone()),
                "from shop-app",
            )],
        ));
    }
    let ami = id("ami", &key("shop-ami"));
    for n in 0..40 {
        let image_id = if n == 0 {
            ami.clone()
        } else {
            id("ami", &key(&format!("shop-ami-{n}")))
        };
        r.images.push(Image {
            id: image_id,
            name: Some(format!("shop-app-{:04}", 1000 + n)),
            description: Some("shop application build".into()),
            state: "available".into(),
            owner_id: Some(ACCOUNT.into()),
            created_at: ago(60 * 24 * (40 - n as i64)),
            public: false,
            snapshot_ids: vec![id("snap", &key(&format!("shop-ami-{n}")))],
            source_image_id: None,
            source_image_region: None,
            tags: tags(&format!("shop-app-{:04}", 1000 + n)),
        });
    }
    let lt_id = id("lt", &key("shop-app"));
    r.launch_templates
        .push(launch_template(&lt_id, "shop-app", &ami, &sg_app));

    let mut public_subnets = Vec::new();
    let mut app_subnets = Vec::new();
    let mut data_subnets = Vec::new();
    for (i, letter) in letters.iter().enumerate() {
        let az = format!("{region}{letter}");
        let pub_id = id("subnet", &key(&format!("public-{letter}")));
        let nat_id = id("nat", &key(&format!("nat-{letter}")));
        r.subnets.push(subnet(
            &pub_id,
            &vpc_id,
            &az,
            &format!("10.{second_octet}.{}.0/24", i),
            Some(&format!("shop-public-{letter}")),
            true,
        ));
        r.nat_gateways.push(nat(
            &nat_id,
            &vpc_id,
            &pub_id,
            &format!("shop-nat-{letter}"),
            &format!("52.{index}.{i}.10"),
        ));
        public_subnets.push((az.clone(), pub_id.clone()));
        let mut private_ids = Vec::new();
        for tier in 0..2 {
            let app_id = id("subnet", &key(&format!("app-{letter}-{tier}")));
            r.subnets.push(subnet(
                &app_id,
                &vpc_id,
                &az,
                &format!("10.{second_octet}.{}.0/22", 32 + i * 8 + tier * 4),
                Some(&format!("shop-app-{letter}{}", tier + 1)),
                false,
            ));
            app_subnets.push((az.clone(), app_id.clone()));
            private_ids.push(app_id);
        }
        let data_id = id("subnet", &key(&format!("data-{letter}")));
        r.subnets.push(subnet(
            &data_id,
            &vpc_id,
            &az,
            &format!("10.{second_octet}.{}.0/24", 200 + i),
            Some(&format!("shop-data-{letter}")),
            false,
        ));
        data_subnets.push((az.clone(), data_id.clone()));
        private_ids.push(data_id);
        let rt_name = format!("shop-private-rt-{letter}");
        let refs: Vec<&str> = private_ids.iter().map(String::as_str).collect();
        r.route_tables.push(route_table(
            &id("rtb", &key(&rt_name)),
            &vpc_id,
            Some(&rt_name),
            false,
            &refs,
            vec![
                route(&format!("10.{second_octet}.0.0/16"), RouteTarget::Local),
                route("0.0.0.0/0", RouteTarget::NatGateway(nat_id)),
            ],
        ));
    }
    let pub_refs: Vec<&str> = public_subnets.iter().map(|(_, s)| s.as_str()).collect();
    r.route_tables.push(route_table(
        &id("rtb", &key("shop-public-rt")),
        &vpc_id,
        Some("shop-public-rt"),
        false,
        &pub_refs,
        vec![
            route(&format!("10.{second_octet}.0.0/16"), RouteTarget::Local),
            route("0.0.0.0/0", RouteTarget::InternetGateway(igw)),
        ],
    ));

    // Services: each an ASG spread over the three AZs' app subnets, a target group and a share of
    // the load balancers. 6 ASGs × ~150 instances ≈ 900 instances per Region (≈ 2,700 in all).
    let services = ["web", "api", "cart", "search", "auth", "media"];
    let lbs: Vec<String> = ["shop-public", "shop-internal"]
        .iter()
        .map(|n| lb_arn(region, &format!("{n}-{short}")))
        .collect();
    let zones: Vec<(&str, &str)> = public_subnets
        .iter()
        .map(|(az, s)| (az.as_str(), s.as_str()))
        .collect();
    let mut tgs_per_lb: Vec<Vec<String>> = vec![Vec::new(), Vec::new()];
    let mut counter = 0u32;
    for (s, service) in services.iter().enumerate() {
        let tg_name = format!("shop-{service}-{short}");
        let tg = tg_arn(region, &tg_name);
        let lb = s % 2;
        tgs_per_lb[lb].push(tg.clone());
        let asg_name = format!("shop-{service}");
        let mut members = Vec::new();
        let mut targets = Vec::new();
        let per_service = 150;
        for n in 0..per_service {
            let (az, subnet_id) = &app_subnets[n % app_subnets.len()];
            counter += 1;
            // A few instances in every state, so the large map shows them all.
            let (state, health, lifecycle) = match n % 50 {
                7 => (
                    InstanceState::Pending,
                    TargetHealthState::Initial,
                    "Pending",
                ),
                13 => (
                    InstanceState::Running,
                    TargetHealthState::Unhealthy,
                    "InService",
                ),
                29 if s == 0 => (
                    InstanceState::ShuttingDown,
                    TargetHealthState::Draining,
                    "Terminating",
                ),
                _ => (
                    InstanceState::Running,
                    TargetHealthState::Healthy,
                    "InService",
                ),
            };
            let inst = instance(InstanceSpec {
                id: &id("i", &key(&format!("{service}-{n}"))),
                state,
                az,
                subnet_id,
                vpc_id: &vpc_id,
                private_ip: format!(
                    "10.{second_octet}.{}.{}",
                    32 + (counter / 250),
                    (counter % 250) + 4
                ),
                image_id: &ami,
                sg: &sg_app,
                name: &format!("shop-{service}"),
                asg: Some(&asg_name),
                lt: Some((&lt_id, "shop-app")),
                launched_minutes_ago: 60 * 24 + i64::from(counter % 600),
            });
            members.push(asg_member(
                &inst,
                lifecycle,
                if health == TargetHealthState::Unhealthy {
                    "Unhealthy"
                } else {
                    "Healthy"
                },
            ));
            targets.push(target(&inst.id, health));
            r.volumes.push(volume_for(&inst));
            r.instances.push(inst);
        }
        r.target_groups
            .push(target_group(region, &tg_name, &vpc_id, &lbs[lb], targets));
        let azs: Vec<String> = letters.iter().map(|l| format!("{region}{l}")).collect();
        let az_refs: Vec<&str> = azs.iter().map(String::as_str).collect();
        let subnet_refs: Vec<&str> = app_subnets.iter().map(|(_, s)| s.as_str()).collect();
        r.auto_scaling_groups.push(auto_scaling_group(
            region,
            &asg_name,
            (
                per_service as i32 / 2,
                per_service as i32,
                per_service as i32 * 2,
            ),
            &az_refs,
            &subnet_refs,
            (&lt_id, "shop-app"),
            vec![tg],
            members,
        ));
    }
    for (n, name) in ["shop-public", "shop-internal"].iter().enumerate() {
        let tg_refs: Vec<&str> = tgs_per_lb[n].iter().map(String::as_str).collect();
        let mut lb = load_balancer(
            region,
            &format!("{name}-{short}"),
            &vpc_id,
            &zones,
            &sg_lb,
            &tg_refs,
        );
        if n == 1 {
            lb.scheme = "internal".into();
        }
        r.load_balancers.push(lb);
    }
    // Batch workers outside any ASG, in the data subnets.
    for n in 0..60 {
        let (az, subnet_id) = &data_subnets[n % data_subnets.len()];
        let inst = instance(InstanceSpec {
            id: &id("i", &key(&format!("batch-{n}"))),
            state: if n % 20 == 3 {
                InstanceState::Stopped
            } else {
                InstanceState::Running
            },
            az,
            subnet_id,
            vpc_id: &vpc_id,
            private_ip: format!("10.{second_octet}.{}.{}", 200 + n % 3, 10 + n),
            image_id: &ami,
            sg: &sg_app,
            name: &format!("batch-{n:02}"),
            asg: None,
            lt: None,
            launched_minutes_ago: 60 * 24 * 7,
        });
        r.volumes.push(volume_for(&inst));
        r.instances.push(inst);
    }
    // EBS snapshots of the data volumes.
    for n in 0..300 {
        r.snapshots.push(Snapshot {
            id: id("snap", &key(&format!("backup-{n}"))),
            volume_id: Some(id("vol", &key(&format!("data-{}", n % 30)))),
            volume_size_gib: Some(100),
            state: "completed".into(),
            progress: Some("100%".into()),
            started_at: ago(60 * (n as i64 + 1)),
            owner_id: Some(ACCOUNT.into()),
            encrypted: true,
            description: Some(format!("nightly backup {n}")),
            tags: plain_tags(&format!("backup-{n:03}")),
            public: Some(false),
        });
    }
    // Databases: a Multi-AZ writer and two readers per Region; in the second and third Regions a
    // cross-Region replica of the first Region's writer.
    let data_refs: Vec<String> = data_subnets.iter().map(|(_, s)| s.clone()).collect();
    r.db_subnet_groups.push(DbSubnetGroup {
        name: "shop-data".into(),
        arn: None,
        vpc_id: Some(vpc_id.clone()),
        subnet_ids: data_refs,
        status: Some("Complete".into()),
    });
    let primary_region = "ap-northeast-2";
    let writer = format!("shop-db-{short}");
    let mut writer_db = db_instance(DbSpec {
        region,
        identifier: &writer,
        az: &format!("{region}a"),
        multi_az: true,
        secondary_az: Some(&format!("{region}c")),
        source: (index > 0).then(|| db_arn(primary_region, "shop-db-apne2")),
        replicas: vec![format!("{writer}-r1"), format!("{writer}-r2")],
        subnet_group: "shop-data",
        sg: &sg_db,
        status: "available",
    });
    writer_db.engine = "postgres".into();
    writer_db.engine_version = Some("16.4".into());
    if index == 0 {
        writer_db
            .read_replica_identifiers
            .push(db_arn("us-east-1", "shop-db-use1"));
        writer_db
            .read_replica_identifiers
            .push(db_arn("eu-west-1", "shop-db-euw1"));
    }
    r.db_instances.push(writer_db);
    for (n, letter) in ['b', 'c'].iter().enumerate() {
        let mut reader = db_instance(DbSpec {
            region,
            identifier: &format!("{writer}-r{}", n + 1),
            az: &format!("{region}{letter}"),
            multi_az: false,
            secondary_az: None,
            source: Some(writer.clone()),
            replicas: Vec::new(),
            subnet_group: "shop-data",
            sg: &sg_db,
            status: if n == 1 && index == 2 {
                "modifying"
            } else {
                "available"
            },
        });
        reader.engine = "postgres".into();
        reader.engine_version = Some("16.4".into());
        r.db_instances.push(reader);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_have_the_shapes_the_dashboard_tests_rely_on() {
        let healthy = lab_healthy();
        let primary = healthy.region(PRIMARY).expect("primary");
        assert_eq!(primary.instances.len(), 2);
        assert!(healthy.replica_links().iter().any(|l| l.cross_region));
        assert_eq!(healthy.image_copies().len(), 1);
        assert_eq!(healthy.snapshot_copies().len(), 1);
        let degraded = lab_degraded();
        let primary = degraded.region(PRIMARY).expect("primary");
        let lb = &primary.load_balancers[0];
        let by_az = primary.load_balancer_health_by_az(lb);
        assert_eq!(by_az["ap-northeast-2b"].healthy, 0);
        let deploy = lab_deploy();
        let primary = deploy.region(PRIMARY).expect("primary");
        let d1 = haven_model::deploy::DeployState::read(primary, "lab").expect("d1 runs");
        assert_eq!(
            (d1.step.as_str(), d1.green_percent()),
            ("shift-50", Some(50))
        );
        assert_eq!(d1.green.map(|g| g.group), Some("lab-asg-d1".to_string()));
        let large = large_10k();
        let count: usize = large
            .regions
            .iter()
            .map(|r| {
                r.instances.len()
                    + r.volumes.len()
                    + r.subnets.len()
                    + r.security_groups.len()
                    + r.images.len()
                    + r.snapshots.len()
                    + r.target_groups
                        .iter()
                        .map(|t| t.targets.len())
                        .sum::<usize>()
                    + r.db_instances.len()
                    + r.route_tables.len()
            })
            .sum();
        assert!((9_000..12_000).contains(&count), "{count}");
    }
}
