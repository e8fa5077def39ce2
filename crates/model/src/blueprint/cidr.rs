//! IPv4 CIDR blocks: parsing with a readable reason, containment and overlap.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 network in CIDR notation, e.g. `10.0.0.0/16`; host bits are always zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Cidr {
    network: Ipv4Addr,
    prefix: u8,
}

/// Why a string is not an IPv4 CIDR block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidrError {
    /// Not `a.b.c.d/n` at all.
    Malformed,
    /// The prefix length is not 0–32.
    BadPrefix,
    /// Bits after the prefix are set; carries the network it probably meant.
    HostBitsSet(Ipv4Cidr),
}

impl Ipv4Cidr {
    /// The block of `prefix` bits (at most 32) containing `address`.
    pub fn new(address: Ipv4Addr, prefix: u8) -> Self {
        let prefix = prefix.min(32);
        Self {
            network: Ipv4Addr::from(u32::from(address) & Self::mask(prefix)),
            prefix,
        }
    }

    /// The network address.
    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    /// The prefix length (0–32).
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    fn mask(prefix: u8) -> u32 {
        if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix))
        }
    }

    fn first(&self) -> u32 {
        u32::from(self.network)
    }

    fn last(&self) -> u32 {
        self.first() | !Self::mask(self.prefix)
    }

    /// `other` lies wholly inside this block.
    pub fn contains(&self, other: &Ipv4Cidr) -> bool {
        other.prefix >= self.prefix && other.first() >= self.first() && other.last() <= self.last()
    }

    /// The two blocks share at least one address.
    pub fn overlaps(&self, other: &Ipv4Cidr) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }

    /// The block holds every IPv4 address (`0.0.0.0/0`).
    pub fn is_anywhere(&self) -> bool {
        self.prefix == 0
    }

    /// Parses `a.b.c.d/n`, refusing host bits (AWS does too).
    pub fn parse(text: &str) -> Result<Self, CidrError> {
        let (address, prefix) = text.split_once('/').ok_or(CidrError::Malformed)?;
        let address = Ipv4Addr::from_str(address).map_err(|_| CidrError::Malformed)?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CidrError::Malformed);
        }
        let prefix: u8 = prefix.parse().map_err(|_| CidrError::BadPrefix)?;
        if prefix > 32 {
            return Err(CidrError::BadPrefix);
        }
        let network = Ipv4Addr::from(u32::from(address) & Self::mask(prefix));
        let cidr = Self { network, prefix };
        if network != address {
            return Err(CidrError::HostBitsSet(cidr));
        }
        Ok(cidr)
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl serde::Serialize for Ipv4Cidr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> Ipv4Cidr {
        Ipv4Cidr::parse(text).expect("valid CIDR")
    }

    #[test]
    fn parses_and_relates_blocks() {
        let vpc = cidr("10.0.0.0/16");
        assert!(vpc.contains(&cidr("10.0.16.0/20")));
        assert!(!vpc.contains(&cidr("10.1.0.0/24")));
        assert!(!vpc.contains(&cidr("10.0.0.0/8")));
        assert!(cidr("10.0.0.0/20").overlaps(&cidr("10.0.15.0/24")));
        assert!(!cidr("10.0.0.0/20").overlaps(&cidr("10.0.16.0/24")));
        assert!(cidr("0.0.0.0/0").is_anywhere());
        assert_eq!(cidr("203.0.113.7/32").to_string(), "203.0.113.7/32");
    }

    #[test]
    fn says_why_a_block_is_wrong() {
        assert_eq!(Ipv4Cidr::parse("10.0.0.0"), Err(CidrError::Malformed));
        assert_eq!(Ipv4Cidr::parse("10.0.0.300/16"), Err(CidrError::Malformed));
        assert_eq!(Ipv4Cidr::parse("10.0.0.0/33"), Err(CidrError::BadPrefix));
        assert_eq!(
            Ipv4Cidr::parse("10.0.1.0/16"),
            Err(CidrError::HostBitsSet(cidr("10.0.0.0/16")))
        );
    }
}
