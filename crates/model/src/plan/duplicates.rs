//! Two resources that carry the same `haven:stack` and `haven:logical` tags: the plan cannot tell
//! which one the stack uses, so `haven up` stops and names both.
//!
//! How it happens: `CreateVpc`, `CreateSubnet`, `CreateSecurityGroup`, `CreateRouteTable`,
//! `CreateInternetGateway` and `AllocateAddress` take no client token, so they are not
//! idempotent ("Ensuring idempotency in Amazon EC2 API requests" lists the actions that are).
//! When a create reaches AWS but its answer is lost (a timeout, a 5xx), the SDK's retry sends
//! it again and AWS makes a second resource; both carry the stack's tags, which are applied at
//! create. NAT gateways, launch templates and VPC endpoints are created with client tokens, and
//! named resources (load balancers, DB instances) cannot exist twice.

use std::collections::BTreeMap;

use super::{LOGICAL_TAG, Op, RECREATE, ResourceKind, ResourceRef, STACK_TAG, Step};
use crate::topology::RegionTopology;

/// One blocking step per logical resource found more than once in `region` for `stack`: an
/// update no API call can make, so [`super::Plan::blockers`] stops `haven up` before anything is
/// sent, and `haven plan` shows it.
pub(super) fn blockers(region: &RegionTopology, stack: &str) -> Vec<Step> {
    use ResourceKind::*;
    let tagged = (region.vpcs.iter().map(|v| (Vpc, &v.tags, v.id.as_str())))
        .chain(
            region
                .subnets
                .iter()
                .map(|s| (Subnet, &s.tags, s.id.as_str())),
        )
        .chain((region.security_groups.iter()).map(|g| (SecurityGroup, &g.tags, g.id.as_str())))
        .chain((region.route_tables.iter()).map(|t| (RouteTable, &t.tags, t.id.as_str())))
        .chain((region.internet_gateways.iter()).map(|g| (InternetGateway, &g.tags, g.id.as_str())))
        .chain((region.elastic_ips.iter()).map(|a| (ElasticIp, &a.tags, a.allocation_id.as_str())));
    let mut found: BTreeMap<ResourceRef, Vec<&str>> = BTreeMap::new();
    for (kind, tags, id) in tagged {
        if tags.get(STACK_TAG).map(String::as_str) != Some(stack) {
            continue;
        }
        if let Some(logical) = tags.get(LOGICAL_TAG) {
            found
                .entry(ResourceRef::new(kind, logical.as_str()))
                .or_default()
                .push(id);
        }
    }
    found
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(resource, ids)| {
            let detail = format!(
                "{} resources carry haven:stack={stack} and haven:logical={}: {}. A create AWS \
                 had accepted was sent again (the SDK retries a create whose answer was lost, \
                 and this one takes no client token), so one of them is a copy; haven cannot \
                 tell which one the stack uses. Delete the one that holds nothing, or {RECREATE}",
                ids.len(),
                resource.logical,
                ids.join(" and "),
            );
            Step {
                op: Op::Update,
                name: resource.logical.clone(),
                id: ids.first().map(|id| (*id).to_string()),
                region: Some(region.region.clone()),
                depends_on: Vec::new(),
                detail,
                resource,
                retain: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::haven_tags;
    use crate::topology::Tags;
    use crate::topology::{ElasticIp, Subnet, Vpc};

    fn vpc(id: &str, tags: Tags) -> Vpc {
        Vpc {
            id: id.into(),
            cidr_block: "10.0.0.0/16".into(),
            is_default: false,
            state: "available".into(),
            tags,
        }
    }

    fn subnet(id: &str, tags: Tags) -> Subnet {
        Subnet {
            id: id.into(),
            vpc_id: "vpc-1".into(),
            availability_zone: "ap-northeast-2a".into(),
            cidr_block: "10.0.1.0/24".into(),
            map_public_ip_on_launch: true,
            available_ip_address_count: 250,
            default_for_az: false,
            state: "available".into(),
            tags,
        }
    }

    #[test]
    fn d_two_resources_with_the_same_stack_and_logical_tags_block_the_plan() {
        let mut region = RegionTopology {
            region: "ap-northeast-2".into(),
            ..RegionTopology::default()
        };
        region.vpcs = vec![
            vpc("vpc-1", haven_tags("lab", "vpc", "lab-vpc")),
            vpc("vpc-2", haven_tags("lab", "vpc", "lab-vpc")),
            // Another stack's VPC with the same logical name is not a duplicate.
            vpc("vpc-3", haven_tags("other", "vpc", "other-vpc")),
        ];
        region.subnets = vec![
            subnet("subnet-a", haven_tags("lab", "public-ap-northeast-2a", "x")),
            subnet("subnet-b", haven_tags("lab", "public-ap-northeast-2b", "y")),
        ];
        region.elastic_ips = vec![
            ElasticIp {
                allocation_id: "eipalloc-1".into(),
                public_ip: "203.0.113.1".into(),
                association_id: None,
                instance_id: None,
                network_interface_id: None,
                tags: haven_tags("lab", "eip-ap-northeast-2a", "e"),
            };
            2
        ];
        let steps = blockers(&region, "lab");
        assert_eq!(steps.len(), 2, "{steps:#?}");
        let vpc = steps
            .iter()
            .find(|s| s.resource.kind == ResourceKind::Vpc)
            .expect("the VPC");
        assert_eq!(vpc.op, Op::Update);
        assert!(vpc.detail.contains("vpc-1 and vpc-2"), "{}", vpc.detail);
        assert!(vpc.detail.contains("haven:logical=vpc"), "{}", vpc.detail);
        assert!(vpc.detail.contains(RECREATE), "{}", vpc.detail);
        assert_eq!(vpc.region.as_deref(), Some("ap-northeast-2"));
        assert!(blockers(&region, "other").is_empty());
    }

    #[test]
    fn d_a_duplicated_vpc_stops_up_with_both_ids() {
        let text = include_str!("../../../../assets/blueprints/lab.toml");
        let lab = crate::blueprint::parse(text, "lab.toml", &|_| true).expect("lab.toml");
        let mut topology = crate::topology::Topology::new(chrono::DateTime::UNIX_EPOCH);
        let mut region = RegionTopology {
            region: lab.region().to_string(),
            ..RegionTopology::default()
        };
        region.vpcs = vec![
            vpc("vpc-0aaa", haven_tags("lab", "vpc", "lab-vpc")),
            vpc("vpc-0bbb", haven_tags("lab", "vpc", "lab-vpc")),
        ];
        topology.regions.push(region);
        let plan = crate::plan::plan(&lab, &topology);
        let blockers: Vec<&Step> = plan.blockers().collect();
        assert_eq!(blockers.len(), 1, "{blockers:#?}");
        assert_eq!(
            blockers[0].resource,
            ResourceRef::new(ResourceKind::Vpc, "vpc")
        );
        assert!(
            blockers[0].detail.contains("vpc-0aaa and vpc-0bbb"),
            "{}",
            blockers[0].detail
        );
    }
}
