//! Elastic Load Balancing beyond the v2 load balancers: Classic Load Balancers (legacy) and the
//! AWS WAF web ACL an Application Load Balancer is associated with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A Classic Load Balancer (the `elb` API): legacy, superseded by Application and Network Load
/// Balancers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicLoadBalancer {
    /// Name (its id).
    pub name: String,
    /// DNS name.
    pub dns_name: Option<String>,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    /// The VPC.
    pub vpc_id: Option<String>,
    /// Availability Zones it is enabled in.
    pub availability_zones: Vec<String>,
    /// Its subnets.
    pub subnet_ids: Vec<String>,
    /// Security groups.
    pub security_group_ids: Vec<String>,
    /// Listeners.
    pub listeners: Vec<ClassicListener>,
    /// Registered instances.
    pub instance_ids: Vec<String>,
    /// Its attributes; `None` when DescribeLoadBalancerAttributes could not be read.
    pub attributes: Option<ClassicAttributes>,
    /// Its policies; `None` when DescribeLoadBalancerPolicies could not be read (or was not
    /// asked: it is read only for load balancers with an HTTPS or SSL listener).
    pub policies: Option<Vec<ClassicPolicy>>,
    /// Creation time.
    pub created_at: Option<DateTime<Utc>>,
}

impl ClassicLoadBalancer {
    /// Listeners whose front end is encrypted (HTTPS or SSL).
    pub fn encrypted_listeners(&self) -> impl Iterator<Item = &ClassicListener> {
        self.listeners.iter().filter(|l| l.is_encrypted())
    }
}

/// A Classic Load Balancer listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicListener {
    /// Front-end protocol: `HTTP`, `HTTPS`, `TCP` or `SSL`.
    pub protocol: String,
    /// Front-end port.
    pub port: i32,
    /// Back-end protocol.
    pub instance_protocol: Option<String>,
    /// Back-end port.
    pub instance_port: i32,
    /// Server certificate ARN (ACM or IAM): HTTPS and SSL only.
    pub ssl_certificate_id: Option<String>,
    /// Policies attached to it (for HTTPS/SSL: its SSL negotiation policy).
    pub policy_names: Vec<String>,
}

impl ClassicListener {
    /// HTTPS or SSL front end.
    pub fn is_encrypted(&self) -> bool {
        self.protocol.eq_ignore_ascii_case("HTTPS") || self.protocol.eq_ignore_ascii_case("SSL")
    }

    /// `HTTPS:443`.
    pub fn label(&self) -> String {
        format!("{}:{}", self.protocol, self.port)
    }
}

/// A Classic Load Balancer's attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicAttributes {
    /// Cross-zone load balancing.
    pub cross_zone: bool,
    /// Access logs to S3.
    pub access_log: bool,
    /// Connection draining.
    pub connection_draining: bool,
    /// `elb.http.desyncmitigationmode` (`monitor`, `defensive`, `strictest`); `None` when the
    /// answer does not carry it (AWS's default is `defensive`).
    pub desync_mitigation_mode: Option<String>,
}

/// A policy of a Classic Load Balancer (SSL negotiation, stickiness, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicPolicy {
    /// Policy name.
    pub name: String,
    /// Policy type, e.g. `SSLNegotiationPolicyType`.
    pub type_name: Option<String>,
    /// For an SSL negotiation policy: the predefined policy it references
    /// (`Reference-Security-Policy`), e.g. `ELBSecurityPolicy-TLS-1-2-2017-01`.
    pub reference_security_policy: Option<String>,
}

/// The AWS WAF web ACL a load balancer is associated with, as GetWebACLForResource answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WafAssociation {
    /// The web ACL's ARN; `None` when no web ACL is associated.
    pub web_acl_arn: Option<String>,
    /// The web ACL's name.
    pub web_acl_name: Option<String>,
}
