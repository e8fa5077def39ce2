//! Where each check is defined: the AWS Security Hub control page for AWS ids, the AWS page a
//! haven rule rests on for haven's own. `haven check --format sarif` gives it as each rule's
//! `helpUri`; docs/findings.md's id table lists the same (a test keeps them equal).

/// Security Hub's control reference, one page per service.
const SECURITY_HUB: &str = "https://docs.aws.amazon.com/securityhub/latest/userguide";

/// Whether an id is an AWS Security Hub control id (`EC2.15`, `AutoScaling.1`), as opposed to
/// one of haven's (`HA-NAT-AZ`, `SEC-CHAIN`, `DR-XR`).
pub fn is_aws_control(id: &str) -> bool {
    id.split_once('.').is_some_and(|(service, number)| {
        !service.is_empty()
            && service.chars().all(|c| c.is_ascii_alphanumeric())
            && !number.is_empty()
            && number.chars().all(|c| c.is_ascii_digit())
    })
}

/// The page that defines a check: `ec2-controls.html#ec2-15` for `EC2.15`; for haven's ids,
/// the AWS documentation the rule rests on. `None` for an id haven does not know.
pub fn help_url(id: &str) -> Option<String> {
    if is_aws_control(id) {
        let (service, number) = id.split_once('.')?;
        let service = service.to_ascii_lowercase();
        return Some(format!(
            "{SECURITY_HUB}/{service}-controls.html#{service}-{number}"
        ));
    }
    HAVEN_RULES
        .iter()
        .find(|(rule, _)| *rule == id)
        .map(|(_, url)| (*url).to_string())
}

/// haven's own rules and the AWS page each one rests on.
const HAVEN_RULES: &[(&str, &str)] = &[
    (
        "HA-NAT-AZ",
        "https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-basics.html",
    ),
    (
        "HA-ALB-AZ",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-subnets.html",
    ),
    (
        "HA-ASG-ALB-AZ",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html",
    ),
    (
        "HA-ASG-GRACE",
        "https://docs.aws.amazon.com/autoscaling/ec2/userguide/health-check-grace-period.html",
    ),
    (
        "HA-ASG-CAP",
        "https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-availability-zone-balanced.html",
    ),
    (
        "HA-TG-XZ",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/disable-cross-zone.html",
    ),
    (
        "HA-TG-OPEN",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html",
    ),
    (
        "HA-AUR-REP",
        "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.AuroraHighAvailability.html",
    ),
    (
        "HA-ALARM-HOSTS",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html",
    ),
    (
        "HA-ALARM-LAG",
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Monitoring.html",
    ),
    (
        "HA-IR-LATEST",
        "https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-rollback.html",
    ),
    (
        "SEC-CERT-UNUSED",
        "https://docs.aws.amazon.com/acm/latest/userguide/managed-renewal.html",
    ),
    (
        "SEC-CHAIN",
        "https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html",
    ),
    (
        "SEC-REACH",
        "https://docs.aws.amazon.com/vpc/latest/reachability/what-is-reachability-analyzer.html",
    ),
    (
        "SEC-RDS-EOS",
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/extended-support.html",
    ),
    (
        "HA-ASG-REBALANCE",
        "https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-capacity-rebalancing.html",
    ),
    (
        "HA-CLB-LEGACY",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/migrate-classic-load-balancer.html",
    ),
    (
        "SEC-ASG-PUBLIC-IP",
        "https://docs.aws.amazon.com/autoscaling/ec2/userguide/asg-in-vpc.html",
    ),
    (
        "DR-EBS-SNAP",
        "https://docs.aws.amazon.com/ebs/latest/userguide/ebs-snapshots.html",
    ),
    (
        "SEC-AMI-PUBLIC",
        "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/sharingamis-intro.html",
    ),
    (
        "SEC-SNAP-BPA",
        "https://docs.aws.amazon.com/ebs/latest/userguide/block-public-access-snapshots.html",
    ),
    (
        "SEC-AMI-BPA",
        "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/block-public-access-to-amis.html",
    ),
    (
        "HA-VPCE-AZ",
        "https://docs.aws.amazon.com/vpc/latest/privatelink/interface-endpoints.html",
    ),
    (
        "SEC-ADMIN-MFA",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa.html",
    ),
    (
        "DR-DNS",
        "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-types.html",
    ),
    (
        "DR-DNS-HC",
        "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover.html",
    ),
    (
        "DR-DNS-TTL",
        "https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html",
    ),
    (
        "DR-XR",
        "https://docs.aws.amazon.com/wellarchitected/latest/reliability-pillar/rel_planning_for_recovery_disaster_recovery.html",
    ),
    (
        "DR-KMS",
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.XRgn.html",
    ),
    (
        "DR-RPO",
        "https://docs.aws.amazon.com/resilience-hub/latest/userguide/resiliency-policies.html",
    ),
    (
        "DR-RR-SRC",
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.html",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_ids_point_at_their_security_hub_control() {
        assert_eq!(
            help_url("EC2.15").as_deref(),
            Some(
                "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-15"
            )
        );
        assert_eq!(
            help_url("AutoScaling.1").as_deref(),
            Some(
                "https://docs.aws.amazon.com/securityhub/latest/userguide/autoscaling-controls.html#autoscaling-1"
            )
        );
        assert!(is_aws_control("ELB.13"));
        assert!(!is_aws_control("HA-NAT-AZ"));
        assert!(!is_aws_control("EC2."));
    }
}
