//! EC2 and VPC: zones, network, security groups, instances, volumes, images, snapshots, launch
//! templates. Every list paginated, every call of a Region run at once.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types as sdk;
use futures::{StreamExt, TryStreamExt, stream};
use haven_model::{self as model, RouteTarget, RulePeer};

use super::convert::{opt, time};
use super::{CONCURRENCY, Scope};
use crate::error::AwsError;

type Result<T> = std::result::Result<T, AwsError>;

/// A Region's network as EC2 describes it; each list succeeds or fails on its own.
pub(super) struct Network {
    pub availability_zones: Result<Vec<model::AvailabilityZone>>,
    pub vpcs: Result<Vec<model::Vpc>>,
    pub subnets: Result<Vec<model::Subnet>>,
    pub route_tables: Result<Vec<model::RouteTable>>,
    pub internet_gateways: Result<Vec<model::InternetGateway>>,
    pub nat_gateways: Result<Vec<model::NatGateway>>,
    pub elastic_ips: Result<Vec<model::ElasticIp>>,
    pub network_acls: Result<Vec<model::NetworkAcl>>,
    pub security_groups: Result<Vec<model::SecurityGroup>>,
}

/// AZs, VPCs, subnets, route tables, gateways, Elastic IPs, network ACLs and security groups,
/// every call at once.
pub(super) async fn network(scope: &Scope<'_>) -> Network {
    let client = scope.ctx.ec2(scope.region);
    let c = &client;
    let (
        availability_zones,
        vpcs,
        subnets,
        route_tables,
        internet_gateways,
        nat_gateways,
        elastic_ips,
        network_acls,
        security_groups,
    ) = tokio::join!(
        availability_zones(c, scope),
        vpcs(c, scope),
        subnets(c, scope),
        route_tables(c, scope),
        internet_gateways(c, scope),
        nat_gateways(c, scope),
        elastic_ips(c, scope),
        network_acls(c, scope),
        security_groups(c, scope),
    );
    Network {
        availability_zones,
        vpcs,
        subnets,
        route_tables,
        internet_gateways,
        nat_gateways,
        elastic_ips,
        network_acls,
        security_groups,
    }
}

/// EBS volumes, the account's AMIs and EBS snapshots.
pub(super) struct Storage {
    pub volumes: Result<Vec<model::Volume>>,
    pub images: Result<Vec<model::Image>>,
    pub snapshots: Result<Vec<model::Snapshot>>,
}

pub(super) async fn storage(scope: &Scope<'_>, account: Option<&str>) -> Storage {
    let client = scope.ctx.ec2(scope.region);
    let c = &client;
    let (volumes, images, snapshots) = tokio::join!(
        volumes(c, scope),
        images(c, scope),
        snapshots(c, scope, account),
    );
    Storage {
        volumes,
        images,
        snapshots,
    }
}

/// Launch templates and their versions.
pub(super) async fn templates(scope: &Scope<'_>) -> Result<Vec<model::LaunchTemplate>> {
    launch_templates(&scope.ctx.ec2(scope.region), scope).await
}

fn tags(list: &[sdk::Tag]) -> model::Tags {
    list.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

async fn availability_zones(c: &Client, s: &Scope<'_>) -> Result<Vec<model::AvailabilityZone>> {
    let out = c
        .describe_availability_zones()
        .send()
        .await
        .map_err(|e| s.err("DescribeAvailabilityZones", e))?;
    Ok(out
        .availability_zones()
        .iter()
        .map(|z| model::AvailabilityZone {
            name: opt(z.zone_name()),
            zone_id: z.zone_id().map(str::to_string),
            state: z
                .state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            zone_type: z.zone_type().map(str::to_string),
        })
        .collect())
}

async fn vpcs(c: &Client, s: &Scope<'_>) -> Result<Vec<model::Vpc>> {
    let items: Vec<sdk::Vpc> = c
        .describe_vpcs()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("DescribeVpcs", e))?;
    Ok(items
        .iter()
        .map(|v| model::Vpc {
            id: opt(v.vpc_id()),
            cidr_block: opt(v.cidr_block()),
            is_default: v.is_default().unwrap_or(false),
            state: v
                .state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            tags: tags(v.tags()),
        })
        .collect())
}

async fn subnets(c: &Client, s: &Scope<'_>) -> Result<Vec<model::Subnet>> {
    let items: Vec<sdk::Subnet> = c
        .describe_subnets()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("DescribeSubnets", e))?;
    Ok(items
        .iter()
        .map(|n| model::Subnet {
            id: opt(n.subnet_id()),
            vpc_id: opt(n.vpc_id()),
            availability_zone: opt(n.availability_zone()),
            cidr_block: opt(n.cidr_block()),
            map_public_ip_on_launch: n.map_public_ip_on_launch().unwrap_or(false),
            available_ip_address_count: n.available_ip_address_count().unwrap_or(0),
            default_for_az: n.default_for_az().unwrap_or(false),
            state: n
                .state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            tags: tags(n.tags()),
        })
        .collect())
}

fn route_target(r: &sdk::Route) -> RouteTarget {
    let some = |v: Option<&str>| v.map(str::to_string);
    if let Some(id) = some(r.nat_gateway_id()) {
        return RouteTarget::NatGateway(id);
    }
    if let Some(id) = some(r.gateway_id()) {
        return match id.as_str() {
            "local" => RouteTarget::Local,
            g if g.starts_with("igw-") => RouteTarget::InternetGateway(id),
            g if g.starts_with("vpce-") => RouteTarget::VpcEndpoint(id),
            _ => RouteTarget::Other(id),
        };
    }
    if let Some(id) = some(r.transit_gateway_id()) {
        return RouteTarget::TransitGateway(id);
    }
    if let Some(id) = some(r.vpc_peering_connection_id()) {
        return RouteTarget::VpcPeering(id);
    }
    if let Some(id) = some(r.network_interface_id()).or_else(|| some(r.instance_id())) {
        return RouteTarget::NetworkInterface(id);
    }
    RouteTarget::Other(
        some(r.egress_only_internet_gateway_id())
            .or_else(|| some(r.local_gateway_id()))
            .or_else(|| some(r.carrier_gateway_id()))
            .unwrap_or_default(),
    )
}

async fn route_tables(c: &Client, s: &Scope<'_>) -> Result<Vec<model::RouteTable>> {
    let items: Vec<sdk::RouteTable> = c
        .describe_route_tables()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("DescribeRouteTables", e))?;
    Ok(items
        .iter()
        .map(|t| model::RouteTable {
            id: opt(t.route_table_id()),
            vpc_id: opt(t.vpc_id()),
            routes: t
                .routes()
                .iter()
                .map(|r| model::Route {
                    destination: r
                        .destination_cidr_block()
                        .or(r.destination_ipv6_cidr_block())
                        .or(r.destination_prefix_list_id())
                        .unwrap_or_default()
                        .to_string(),
                    target: route_target(r),
                    state: r
                        .state()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                })
                .collect(),
            associations: t
                .associations()
                .iter()
                .map(|a| model::RouteTableAssociation {
                    id: opt(a.route_table_association_id()),
                    subnet_id: a.subnet_id().map(str::to_string),
                    main: a.main().unwrap_or(false),
                })
                .collect(),
            tags: tags(t.tags()),
        })
        .collect())
}

async fn internet_gateways(c: &Client, s: &Scope<'_>) -> Result<Vec<model::InternetGateway>> {
    let items: Vec<sdk::InternetGateway> = c
        .describe_internet_gateways()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("DescribeInternetGateways", e))?;
    Ok(items
        .iter()
        .map(|g| model::InternetGateway {
            id: opt(g.internet_gateway_id()),
            attached_vpc_ids: g
                .attachments()
                .iter()
                .filter_map(|a| a.vpc_id().map(str::to_string))
                .collect(),
            tags: tags(g.tags()),
        })
        .collect())
}

async fn nat_gateways(c: &Client, s: &Scope<'_>) -> Result<Vec<model::NatGateway>> {
    let items: Vec<sdk::NatGateway> = c
        .describe_nat_gateways()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("DescribeNatGateways", e))?;
    Ok(items
        .iter()
        .filter(|n| n.state() != Some(&sdk::NatGatewayState::Deleted))
        .map(|n| model::NatGateway {
            id: opt(n.nat_gateway_id()),
            vpc_id: opt(n.vpc_id()),
            subnet_id: opt(n.subnet_id()),
            state: n
                .state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            connectivity_type: n
                .connectivity_type()
                .map(|t| t.as_str().to_string())
                .unwrap_or_else(|| "public".into()),
            public_ips: n
                .nat_gateway_addresses()
                .iter()
                .filter_map(|a| a.public_ip().map(str::to_string))
                .collect(),
            tags: tags(n.tags()),
        })
        .collect())
}

/// DescribeAddresses has no pagination: one call returns every address of the Region.
async fn elastic_ips(c: &Client, s: &Scope<'_>) -> Result<Vec<model::ElasticIp>> {
    let output = c
        .describe_addresses()
        .send()
        .await
        .map_err(|e| s.err("DescribeAddresses", e))?;
    Ok(output
        .addresses()
        .iter()
        .filter(|a| a.domain() != Some(&sdk::DomainType::Standard))
        .map(|a| model::ElasticIp {
            allocation_id: opt(a.allocation_id()),
            public_ip: opt(a.public_ip()),
            association_id: a.association_id().map(str::to_string),
            instance_id: a.instance_id().map(str::to_string),
            network_interface_id: a.network_interface_id().map(str::to_string),
            tags: tags(a.tags()),
        })
        .collect())
}

async fn network_acls(c: &Client, s: &Scope<'_>) -> Result<Vec<model::NetworkAcl>> {
    let items: Vec<sdk::NetworkAcl> = c
        .describe_network_acls()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("DescribeNetworkAcls", e))?;
    Ok(items
        .iter()
        .map(|a| model::NetworkAcl {
            id: opt(a.network_acl_id()),
            vpc_id: opt(a.vpc_id()),
            is_default: a.is_default().unwrap_or(false),
            subnet_ids: a
                .associations()
                .iter()
                .filter_map(|x| x.subnet_id().map(str::to_string))
                .collect(),
            entries: a
                .entries()
                .iter()
                .map(|e| model::NaclEntry {
                    rule_number: e.rule_number().unwrap_or_default(),
                    egress: e.egress().unwrap_or(false),
                    protocol: opt(e.protocol()),
                    allow: e.rule_action() == Some(&sdk::RuleAction::Allow),
                    cidr_block: e.cidr_block().map(str::to_string),
                    ipv6_cidr_block: e.ipv6_cidr_block().map(str::to_string),
                    from_port: e.port_range().and_then(|p| p.from()),
                    to_port: e.port_range().and_then(|p| p.to()),
                })
                .collect(),
            tags: tags(a.tags()),
        })
        .collect())
}

fn rules(permissions: &[sdk::IpPermission]) -> Vec<model::SecurityGroupRule> {
    let mut rules = Vec::new();
    for p in permissions {
        let rule = |peer: RulePeer, description: Option<&str>| model::SecurityGroupRule {
            protocol: opt(p.ip_protocol()),
            from_port: p.from_port(),
            to_port: p.to_port(),
            peer,
            description: description.map(str::to_string),
        };
        for r in p.ip_ranges() {
            rules.push(rule(RulePeer::Cidr(opt(r.cidr_ip())), r.description()));
        }
        for r in p.ipv6_ranges() {
            rules.push(rule(
                RulePeer::Ipv6Cidr(opt(r.cidr_ipv6())),
                r.description(),
            ));
        }
        for r in p.user_id_group_pairs() {
            rules.push(rule(
                RulePeer::SecurityGroup(opt(r.group_id())),
                r.description(),
            ));
        }
        for r in p.prefix_list_ids() {
            rules.push(rule(
                RulePeer::PrefixList(opt(r.prefix_list_id())),
                r.description(),
            ));
        }
    }
    rules
}

async fn security_groups(c: &Client, s: &Scope<'_>) -> Result<Vec<model::SecurityGroup>> {
    let items: Vec<sdk::SecurityGroup> = c
        .describe_security_groups()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("DescribeSecurityGroups", e))?;
    Ok(items
        .iter()
        .map(|g| model::SecurityGroup {
            id: opt(g.group_id()),
            name: opt(g.group_name()),
            description: opt(g.description()),
            vpc_id: g.vpc_id().map(str::to_string),
            ingress: rules(g.ip_permissions()),
            egress: rules(g.ip_permissions_egress()),
            tags: tags(g.tags()),
        })
        .collect())
}

fn instance_state(state: Option<&sdk::InstanceStateName>) -> model::InstanceState {
    use model::InstanceState as S;
    match state {
        Some(sdk::InstanceStateName::Pending) => S::Pending,
        Some(sdk::InstanceStateName::Running) => S::Running,
        Some(sdk::InstanceStateName::ShuttingDown) => S::ShuttingDown,
        Some(sdk::InstanceStateName::Terminated) => S::Terminated,
        Some(sdk::InstanceStateName::Stopping) => S::Stopping,
        Some(sdk::InstanceStateName::Stopped) => S::Stopped,
        _ => S::Unknown,
    }
}

fn instance(i: &sdk::Instance) -> model::Instance {
    let tags = tags(i.tags());
    // AWS tags instances launched from a template with the template id and version.
    let launch_template = tags
        .get("aws:ec2launchtemplate:id")
        .map(|id| model::LaunchTemplateRef {
            id: Some(id.clone()),
            name: None,
            version: tags.get("aws:ec2launchtemplate:version").cloned(),
        });
    model::Instance {
        id: opt(i.instance_id()),
        state: instance_state(i.state().and_then(|s| s.name())),
        instance_type: i
            .instance_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        availability_zone: opt(i.placement().and_then(|p| p.availability_zone())),
        subnet_id: i.subnet_id().filter(|s| !s.is_empty()).map(str::to_string),
        vpc_id: i.vpc_id().filter(|s| !s.is_empty()).map(str::to_string),
        private_ip: i.private_ip_address().map(str::to_string),
        public_ip: i.public_ip_address().map(str::to_string),
        image_id: i.image_id().map(str::to_string),
        launch_time: time(i.launch_time()),
        security_group_ids: i
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect(),
        iam_instance_profile_arn: i
            .iam_instance_profile()
            .and_then(|p| p.arn())
            .map(str::to_string),
        key_name: i.key_name().map(str::to_string),
        launch_template,
        metadata_options: i.metadata_options().map(|m| model::MetadataOptions {
            http_tokens: m.http_tokens().map(|t| t.as_str().to_string()),
            http_put_response_hop_limit: m.http_put_response_hop_limit(),
            http_endpoint: m.http_endpoint().map(|t| t.as_str().to_string()),
        }),
        volume_ids: i
            .block_device_mappings()
            .iter()
            .filter_map(|b| b.ebs()?.volume_id().map(str::to_string))
            .collect(),
        detailed_monitoring: matches!(
            i.monitoring().and_then(|m| m.state()),
            Some(sdk::MonitoringState::Enabled)
        ),
        tags,
    }
}

/// Every instance of the Region, page by page: each page but the last is handed to `on_page`
/// as it arrives (the dashboard draws it), and the whole list is returned.
///
/// The first page holds `scope.first_page` instances when set (a small first page answers
/// sooner; DescribeInstances takes 5 to 1000), the others `scope.page_size`, or 1000.
pub(super) async fn instances(
    scope: &Scope<'_>,
    on_page: &(dyn Fn(Vec<model::Instance>) + Send + Sync),
) -> Result<Vec<model::Instance>> {
    let c = scope.ctx.ec2(scope.region);
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        // Unset, AWS decides the page size (and some endpoints, moto among them, use 100): the
        // largest page AWS allows makes a fleet of up to 1,000 instances one call.
        let size = match (&token, scope.first_page) {
            (None, Some(first)) => Some(first),
            _ => scope.page_size.or(Some(1000)),
        };
        let out = c
            .describe_instances()
            .set_max_results(size)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| scope.err("DescribeInstances", e))?;
        let page: Vec<model::Instance> = out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .map(instance)
            .collect();
        token = out
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() {
            all.extend(page);
            return Ok(all);
        }
        on_page(page.clone());
        all.extend(page);
    }
}

async fn volumes(c: &Client, s: &Scope<'_>) -> Result<Vec<model::Volume>> {
    let items: Vec<sdk::Volume> = c
        .describe_volumes()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("DescribeVolumes", e))?;
    Ok(items
        .iter()
        .map(|v| model::Volume {
            id: opt(v.volume_id()),
            availability_zone: opt(v.availability_zone()),
            size_gib: v.size().unwrap_or(0),
            volume_type: v
                .volume_type()
                .map(|t| t.as_str().to_string())
                .unwrap_or_default(),
            state: v
                .state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            encrypted: v.encrypted().unwrap_or(false),
            attached_instance_ids: v
                .attachments()
                .iter()
                .filter_map(|a| a.instance_id().map(str::to_string))
                .collect(),
            snapshot_id: v
                .snapshot_id()
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            tags: tags(v.tags()),
        })
        .collect())
}

async fn images(c: &Client, s: &Scope<'_>) -> Result<Vec<model::Image>> {
    // Only the account's own images: the public catalogue is AWS's, not the stack's.
    let items: Vec<sdk::Image> = c
        .describe_images()
        .owners("self")
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("DescribeImages", e))?;
    Ok(items
        .iter()
        .map(|i| model::Image {
            id: opt(i.image_id()),
            name: i.name().map(str::to_string),
            description: i.description().map(str::to_string),
            state: i
                .state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            owner_id: i.owner_id().map(str::to_string),
            created_at: i
                .creation_date()
                .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
                .map(|d| d.with_timezone(&chrono::Utc)),
            public: i.public().unwrap_or(false),
            snapshot_ids: i
                .block_device_mappings()
                .iter()
                .filter_map(|b| b.ebs()?.snapshot_id().map(str::to_string))
                .collect(),
            source_image_id: i.source_image_id().map(str::to_string),
            source_image_region: i.source_image_region().map(str::to_string),
            tags: tags(i.tags()),
        })
        .collect())
}

async fn snapshots(
    c: &Client,
    s: &Scope<'_>,
    account: Option<&str>,
) -> Result<Vec<model::Snapshot>> {
    let items: Vec<sdk::Snapshot> = c
        .describe_snapshots()
        .owner_ids("self")
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("DescribeSnapshots", e))?;
    Ok(items
        .iter()
        // Some endpoints (moto) also return the snapshots behind AWS's public AMIs.
        .filter(|n| account.is_none() || n.owner_id() == account)
        .map(|n| model::Snapshot {
            id: opt(n.snapshot_id()),
            volume_id: n.volume_id().map(str::to_string),
            volume_size_gib: n.volume_size(),
            state: n
                .state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            progress: n.progress().map(str::to_string),
            started_at: time(n.start_time()),
            owner_id: n.owner_id().map(str::to_string),
            encrypted: n.encrypted().unwrap_or(false),
            description: n.description().map(str::to_string),
            tags: tags(n.tags()),
            // Filled by the public-snapshot list (`ec2_data`).
            public: None,
        })
        .collect())
}

fn template_version(v: &sdk::LaunchTemplateVersion) -> model::LaunchTemplateVersion {
    let data = v.launch_template_data();
    let mut security_group_ids: Vec<String> = data
        .map(|d| d.security_group_ids().to_vec())
        .unwrap_or_default();
    for interface in data.map(|d| d.network_interfaces()).unwrap_or_default() {
        security_group_ids.extend(interface.groups().iter().cloned());
    }
    model::LaunchTemplateVersion {
        number: v.version_number().unwrap_or(0),
        description: v.version_description().map(str::to_string),
        is_default: v.default_version().unwrap_or(false),
        created_at: time(v.create_time()),
        image_id: data.and_then(|d| d.image_id()).map(str::to_string),
        instance_type: data
            .and_then(|d| d.instance_type())
            .map(|t| t.as_str().to_string()),
        key_name: data.and_then(|d| d.key_name()).map(str::to_string),
        security_group_ids,
        iam_instance_profile: data
            .and_then(|d| d.iam_instance_profile())
            .and_then(|p| p.arn().or(p.name()))
            .map(str::to_string),
        metadata_options: data
            .and_then(|d| d.metadata_options())
            .map(|m| model::MetadataOptions {
                http_tokens: m.http_tokens().map(|t| t.as_str().to_string()),
                http_put_response_hop_limit: m.http_put_response_hop_limit(),
                http_endpoint: m.http_endpoint().map(|t| t.as_str().to_string()),
            }),
        associate_public_ip: data.and_then(|d| {
            d.network_interfaces()
                .iter()
                .find_map(|n| n.associate_public_ip_address())
        }),
        has_user_data: data
            .and_then(|d| d.user_data())
            .is_some_and(|u| !u.is_empty()),
    }
}

async fn launch_templates(c: &Client, s: &Scope<'_>) -> Result<Vec<model::LaunchTemplate>> {
    let items: Vec<sdk::LaunchTemplate> = c
        .describe_launch_templates()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| s.err("DescribeLaunchTemplates", e))?;
    stream::iter(items)
        .map(|t| async move {
            let id = opt(t.launch_template_id());
            let versions: Vec<sdk::LaunchTemplateVersion> = c
                .describe_launch_template_versions()
                .launch_template_id(&id)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| s.err("DescribeLaunchTemplateVersions", e))?;
            let mut versions: Vec<model::LaunchTemplateVersion> =
                versions.iter().map(template_version).collect();
            versions.sort_by_key(|v| std::cmp::Reverse(v.number));
            Ok(model::LaunchTemplate {
                id,
                name: opt(t.launch_template_name()),
                default_version: t.default_version_number(),
                latest_version: t.latest_version_number(),
                versions,
                tags: tags(t.tags()),
            })
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}
