//! Network ACLs: the stateless, per-subnet filter that sits in front of security groups.

use serde::{Deserialize, Serialize};

use super::Tags;

/// A network ACL and the subnets it guards. Every subnet has exactly one; a subnet not
/// associated explicitly uses its VPC's default ACL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAcl {
    /// `acl-…`
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// The VPC's default ACL (it guards every subnet without an explicit association).
    pub is_default: bool,
    /// Subnets associated with it.
    pub subnet_ids: Vec<String>,
    /// Entries, inbound and outbound, in any order ([`NetworkAcl::decide`] sorts them).
    pub entries: Vec<NaclEntry>,
    /// Tags.
    pub tags: Tags,
}

/// One numbered entry of a network ACL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NaclEntry {
    /// Evaluated lowest first; 32767 is the catch-all `*` deny.
    pub rule_number: i32,
    /// Outbound (true) or inbound (false).
    pub egress: bool,
    /// IP protocol number as AWS gives it: `-1` (all), `6` (TCP), `17` (UDP), …
    pub protocol: String,
    /// `allow` (true) or `deny` (false).
    pub allow: bool,
    /// IPv4 CIDR, when the entry is IPv4.
    pub cidr_block: Option<String>,
    /// IPv6 CIDR, when the entry is IPv6.
    pub ipv6_cidr_block: Option<String>,
    /// First port (TCP/UDP); `None` for all ports.
    pub from_port: Option<i32>,
    /// Last port (TCP/UDP); `None` for all ports.
    pub to_port: Option<i32>,
}

impl NaclEntry {
    /// Whether the entry matches TCP traffic to `port` from (or to) anywhere on the IPv4
    /// internet (`0.0.0.0/0`).
    pub fn matches_world_tcp(&self, port: u16) -> bool {
        let world = self.cidr_block.as_deref() == Some("0.0.0.0/0")
            || self.ipv6_cidr_block.as_deref() == Some("::/0");
        let tcp = matches!(self.protocol.as_str(), "-1" | "6" | "tcp" | "all");
        let port = i32::from(port);
        let in_range = match (self.from_port, self.to_port) {
            (Some(from), Some(to)) => from <= port && port <= to,
            _ => true,
        };
        world && tcp && in_range
    }
}

impl NetworkAcl {
    /// The first entry (lowest rule number) in the given direction that matches TCP traffic
    /// from the internet on `port`: AWS applies that one and stops. `None` means the implicit
    /// `*` entry denies it.
    pub fn decide(&self, egress: bool, port: u16) -> Option<&NaclEntry> {
        let mut entries: Vec<&NaclEntry> = self
            .entries
            .iter()
            .filter(|e| e.egress == egress && e.matches_world_tcp(port))
            .collect();
        entries.sort_by_key(|e| e.rule_number);
        entries.into_iter().next()
    }

    /// Whether inbound TCP from the internet on `port` passes this ACL.
    pub fn allows_world_inbound(&self, port: u16) -> bool {
        self.decide(false, port).is_some_and(|e| e.allow)
    }
}
