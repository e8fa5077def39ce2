//! Network controls: network ACLs open to SSH/RDP (EC2.21), VPC flow logs (EC2.6), interface
//! endpoints in one AZ (HA-VPCE-AZ) and unassociated Elastic IPs (EC2.12).

use std::collections::{BTreeSet, HashSet};

use super::index::RegionIndex;
use super::{Finding, ResourceKind, ResourceRef, finding};
use crate::topology::{NaclEntry, name_tag};

/// The remote-administration ports EC2.21 is about.
const ADMIN_PORTS: [i32; 2] = [22, 3389];

pub(crate) fn check(index: &RegionIndex, out: &mut Vec<Finding>) {
    let region = index.region;
    let code = Some(index.code());
    for acl in &region.network_acls {
        let open: Vec<String> = acl
            .entries
            .iter()
            .filter(|e| opens_admin_port(e))
            .map(describe)
            .collect();
        if !open.is_empty() {
            let default = if acl.is_default { " (default ACL)" } else { "" };
            out.push(finding(
                "EC2.21",
                code,
                ResourceRef::new(ResourceKind::NetworkAcl, &acl.id).named(name_tag(&acl.tags)),
                format!("{}{default}; VPC {}", open.join("; "), acl.vpc_id),
            ));
        }
    }
    if let Some(flow_logs) = &region.flow_logs {
        let logged: HashSet<&str> = flow_logs
            .iter()
            .filter(|f| f.logs_rejects())
            .map(|f| f.resource_id.as_str())
            .collect();
        for vpc in region
            .vpcs
            .iter()
            .filter(|v| !logged.contains(v.id.as_str()))
        {
            let accept_only = flow_logs
                .iter()
                .any(|f| f.resource_id == vpc.id && !f.logs_rejects());
            out.push(finding(
                "EC2.6",
                code,
                ResourceRef::new(ResourceKind::Vpc, &vpc.id).named(name_tag(&vpc.tags)),
                if accept_only {
                    "flow logs record accepted traffic only (REJECT or ALL needed)".into()
                } else {
                    format!(
                        "no flow log{}",
                        if vpc.is_default { " (default VPC)" } else { "" }
                    )
                },
            ));
        }
    }
    for endpoint in region
        .vpc_endpoints
        .iter()
        .filter(|e| e.endpoint_type.eq_ignore_ascii_case("interface"))
        .filter(|e| {
            !matches!(
                e.state.as_str(),
                "deleting" | "deleted" | "failed" | "rejected"
            )
        })
    {
        let zones: Option<BTreeSet<&str>> = endpoint
            .subnet_ids
            .iter()
            .map(|s| index.subnet(s).map(|s| s.availability_zone.as_str()))
            .collect();
        // Judged only when every subnet is known (or there is a single one).
        let single = match &zones {
            Some(zones) => zones.len() == 1,
            None => endpoint.subnet_ids.len() == 1,
        };
        if single {
            out.push(finding(
                "HA-VPCE-AZ",
                code,
                ResourceRef::new(ResourceKind::VpcEndpoint, &endpoint.id)
                    .named(name_tag(&endpoint.tags).or(Some(&endpoint.service_name))),
                format!(
                    "{}: subnets {} in {}",
                    endpoint.service_name,
                    endpoint.subnet_ids.join(", "),
                    zones.and_then(|z| z.into_iter().next()).unwrap_or("one AZ")
                ),
            ));
        }
    }
    for eip in region.elastic_ips.iter().filter(|e| {
        e.association_id.is_none() && e.instance_id.is_none() && e.network_interface_id.is_none()
    }) {
        out.push(finding(
            "EC2.12",
            code,
            ResourceRef::new(ResourceKind::ElasticIp, &eip.allocation_id)
                .named(name_tag(&eip.tags).or(Some(&eip.public_ip))),
            format!(
                "{} is not associated with an instance or network interface",
                eip.public_ip
            ),
        ));
    }
}

/// AWS Config's nacl-no-unrestricted-ssh-rdp: an inbound entry allowing a TCP or UDP source
/// of 0.0.0.0/0 or ::/0 to port 22 or 3389 (all protocols and all ports included).
fn opens_admin_port(entry: &NaclEntry) -> bool {
    let world = entry.cidr_block.as_deref() == Some("0.0.0.0/0")
        || entry.ipv6_cidr_block.as_deref() == Some("::/0");
    let tcp_or_udp = matches!(
        entry.protocol.as_str(),
        "-1" | "all" | "6" | "tcp" | "17" | "udp"
    );
    let covers = |port: i32| match (entry.from_port, entry.to_port) {
        (Some(from), Some(to)) => from <= port && port <= to,
        _ => true,
    };
    !entry.egress && entry.allow && world && tcp_or_udp && ADMIN_PORTS.iter().any(|p| covers(*p))
}

/// `rule 100: allow all traffic from 0.0.0.0/0`.
fn describe(entry: &NaclEntry) -> String {
    let protocol = match entry.protocol.as_str() {
        "-1" | "all" => "all traffic".to_string(),
        "6" | "tcp" => "tcp".to_string(),
        "17" | "udp" => "udp".to_string(),
        other => format!("protocol {other}"),
    };
    let ports = match (entry.from_port, entry.to_port) {
        (Some(from), Some(to)) if from == to => format!(" {from}"),
        (Some(from), Some(to)) => format!(" {from}-{to}"),
        _ => String::new(),
    };
    let source = entry
        .cidr_block
        .as_deref()
        .or(entry.ipv6_cidr_block.as_deref())
        .unwrap_or("?");
    format!(
        "rule {}: allow {protocol}{ports} from {source}",
        entry.rule_number
    )
}
