//! Every AWS API action haven calls, with the IAM permissions behind it: the source of
//! `haven iam-policy`. A test in `haven-aws` checks that every operation its code names is here,
//! and `cargo xtask ci` checks that every call the test suite's proxies saw is here too.

use serde_json::{Value, json};

/// An IAM action haven needs: its service prefix (`ec2`, `elasticloadbalancing`, …) and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Permission {
    /// IAM service prefix.
    pub service: &'static str,
    /// Action name, as in the API.
    pub action: &'static str,
}

impl Permission {
    /// `service:Action`, as a policy writes it.
    pub fn name(&self) -> String {
        format!("{}:{}", self.service, self.action)
    }

    /// Reads only (Describe*, List*, Get*).
    pub fn is_read(&self) -> bool {
        is_read(self.action)
    }
}

/// Whether an API action only reads.
pub fn is_read(action: &str) -> bool {
    ["Describe", "List", "Get"]
        .iter()
        .any(|prefix| action.starts_with(prefix))
}

const fn p(service: &'static str, action: &'static str) -> Permission {
    Permission { service, action }
}

/// What `haven` (dashboard, snapshot, check, plan, up, down, act, replicate, failover-region)
/// calls, by service. Creation calls that carry tags also need the service's tagging action,
/// and the RDS-managed master password needs Secrets Manager; both are listed.
pub const PERMISSIONS: &[Permission] = &[
    // Identity.
    p("sts", "GetCallerIdentity"),
    // EC2 and VPC: discovery.
    p("ec2", "DescribeAddresses"),
    p("ec2", "DescribeAvailabilityZones"),
    p("ec2", "DescribeImages"),
    p("ec2", "DescribeInstances"),
    p("ec2", "DescribeInternetGateways"),
    p("ec2", "DescribeLaunchTemplateVersions"),
    p("ec2", "DescribeLaunchTemplates"),
    p("ec2", "DescribeNatGateways"),
    p("ec2", "DescribeNetworkInterfaces"),
    p("ec2", "DescribeRouteTables"),
    p("ec2", "DescribeSecurityGroups"),
    p("ec2", "DescribeSnapshots"),
    p("ec2", "DescribeSubnets"),
    p("ec2", "DescribeVolumes"),
    p("ec2", "DescribeVpcs"),
    // EC2: up / down.
    p("ec2", "AllocateAddress"),
    p("ec2", "AssociateRouteTable"),
    p("ec2", "AttachInternetGateway"),
    p("ec2", "AuthorizeSecurityGroupIngress"),
    p("ec2", "CreateInternetGateway"),
    p("ec2", "CreateLaunchTemplate"),
    p("ec2", "CreateLaunchTemplateVersion"),
    p("ec2", "CreateNatGateway"),
    p("ec2", "CreateRoute"),
    p("ec2", "CreateRouteTable"),
    p("ec2", "CreateSecurityGroup"),
    p("ec2", "CreateSubnet"),
    p("ec2", "CreateTags"),
    p("ec2", "CreateVpc"),
    p("ec2", "CreateVpcEndpoint"),
    p("ec2", "DeleteInternetGateway"),
    p("ec2", "DeleteLaunchTemplate"),
    p("ec2", "DeleteNatGateway"),
    p("ec2", "DeleteRoute"),
    p("ec2", "DeleteRouteTable"),
    p("ec2", "DeleteSecurityGroup"),
    p("ec2", "DeleteSubnet"),
    p("ec2", "DeleteVpc"),
    p("ec2", "DeleteVpcEndpoints"),
    p("ec2", "DetachInternetGateway"),
    p("ec2", "DisassociateRouteTable"),
    p("ec2", "ModifyLaunchTemplate"),
    p("ec2", "ModifySubnetAttribute"),
    p("ec2", "ModifyVpcAttribute"),
    p("ec2", "ReleaseAddress"),
    p("ec2", "ReplaceRoute"),
    p("ec2", "RevokeSecurityGroupEgress"),
    p("ec2", "RevokeSecurityGroupIngress"),
    // EC2: actions and replication.
    p("ec2", "CopyImage"),
    p("ec2", "CopySnapshot"),
    p("ec2", "CreateImage"),
    p("ec2", "CreateSnapshot"),
    p("ec2", "DeleteSnapshot"),
    p("ec2", "DeregisterImage"),
    p("ec2", "RebootInstances"),
    p("ec2", "StartInstances"),
    p("ec2", "StopInstances"),
    p("ec2", "TerminateInstances"),
    // Auto Scaling.
    p("autoscaling", "AttachLoadBalancerTargetGroups"),
    p("autoscaling", "CancelInstanceRefresh"),
    p("autoscaling", "CreateAutoScalingGroup"),
    p("autoscaling", "CreateOrUpdateTags"),
    p("autoscaling", "DeleteAutoScalingGroup"),
    p("autoscaling", "DeletePolicy"),
    p("autoscaling", "DescribeAutoScalingGroups"),
    p("autoscaling", "DescribeAutoScalingInstances"),
    p("autoscaling", "DescribeInstanceRefreshes"),
    p("autoscaling", "DescribePolicies"),
    p("autoscaling", "DescribeScalingActivities"),
    p("autoscaling", "EnterStandby"),
    p("autoscaling", "ExitStandby"),
    p("autoscaling", "PutScalingPolicy"),
    p("autoscaling", "ResumeProcesses"),
    p("autoscaling", "SetDesiredCapacity"),
    p("autoscaling", "StartInstanceRefresh"),
    p("autoscaling", "SuspendProcesses"),
    p("autoscaling", "TerminateInstanceInAutoScalingGroup"),
    p("autoscaling", "UpdateAutoScalingGroup"),
    // Elastic Load Balancing v2.
    p("elasticloadbalancing", "AddTags"),
    p("elasticloadbalancing", "CreateListener"),
    p("elasticloadbalancing", "CreateLoadBalancer"),
    p("elasticloadbalancing", "CreateTargetGroup"),
    p("elasticloadbalancing", "DeleteListener"),
    p("elasticloadbalancing", "DeleteLoadBalancer"),
    p("elasticloadbalancing", "DeleteTargetGroup"),
    p("elasticloadbalancing", "DeregisterTargets"),
    p("elasticloadbalancing", "DescribeListeners"),
    p("elasticloadbalancing", "DescribeLoadBalancerAttributes"),
    p("elasticloadbalancing", "DescribeLoadBalancers"),
    p("elasticloadbalancing", "DescribeTags"),
    p("elasticloadbalancing", "DescribeTargetGroupAttributes"),
    p("elasticloadbalancing", "DescribeTargetGroups"),
    p("elasticloadbalancing", "DescribeTargetHealth"),
    p("elasticloadbalancing", "ModifyListener"),
    p("elasticloadbalancing", "ModifyTargetGroup"),
    p("elasticloadbalancing", "ModifyTargetGroupAttributes"),
    p("elasticloadbalancing", "RegisterTargets"),
    p("elasticloadbalancing", "SetSubnets"),
    // CloudWatch: the alarms (discovery, deploy gates) and the dashboard's metrics.
    p("cloudwatch", "DescribeAlarms"),
    p("cloudwatch", "GetMetricData"),
    // Route 53 (global): discovery of hosted zones, their records and health checks.
    p("route53", "GetHealthCheckStatus"),
    p("route53", "ListHealthChecks"),
    p("route53", "ListHostedZones"),
    p("route53", "ListResourceRecordSets"),
    p("route53", "ListTagsForResources"),
    // Certificate Manager: discovery of certificates (every key type), what uses them, tags.
    p("acm", "DescribeCertificate"),
    p("acm", "ListCertificates"),
    p("acm", "ListTagsForCertificate"),
    // RDS.
    p("rds", "AddTagsToResource"),
    p("rds", "CopyDBClusterSnapshot"),
    p("rds", "CopyDBSnapshot"),
    p("rds", "CreateDBInstance"),
    p("rds", "CreateDBInstanceReadReplica"),
    p("rds", "CreateDBSnapshot"),
    p("rds", "CreateDBSubnetGroup"),
    p("rds", "DeleteDBClusterSnapshot"),
    p("rds", "DeleteDBInstance"),
    p("rds", "DeleteDBSnapshot"),
    p("rds", "DeleteDBSubnetGroup"),
    p("rds", "DescribeDBClusterSnapshots"),
    p("rds", "DescribeDBClusters"),
    p("rds", "DescribeDBInstances"),
    p("rds", "DescribeDBSnapshots"),
    p("rds", "DescribeEvents"),
    p("rds", "DescribeDBSubnetGroups"),
    p("rds", "FailoverDBCluster"),
    p("rds", "ModifyDBInstance"),
    p("rds", "ModifyDBSubnetGroup"),
    p("rds", "PromoteReadReplica"),
    p("rds", "RebootDBInstance"),
    p("rds", "RemoveTagsFromResource"),
    // The master password RDS creates and keeps; the KMS key of encrypted DR copies.
    p("secretsmanager", "CreateSecret"),
    p("secretsmanager", "TagResource"),
    p("kms", "CreateGrant"),
    p("kms", "DescribeKey"),
    // Copying an encrypted EBS snapshot or AMI (and the DR copies of encrypted RDS snapshots)
    // decrypts with the source key and re-encrypts with the destination key on the caller's
    // behalf: "Permissions for IAM users" in the Amazon EBS user guide ("Amazon EBS encryption"
    // → requirements) lists kms:CreateGrant, kms:Decrypt, kms:DescribeKey,
    // kms:GenerateDataKeyWithoutPlainText and kms:ReEncrypt* for it; with a customer managed key
    // the key policy must allow them too.
    p("kms", "Decrypt"),
    p("kms", "GenerateDataKeyWithoutPlaintext"),
    p("kms", "ReEncrypt*"),
    // IAM.
    p("iam", "AddRoleToInstanceProfile"),
    p("iam", "AddUserToGroup"),
    p("iam", "AttachGroupPolicy"),
    p("iam", "AttachRolePolicy"),
    p("iam", "CreateGroup"),
    p("iam", "CreateInstanceProfile"),
    p("iam", "CreateRole"),
    p("iam", "CreateServiceLinkedRole"),
    p("iam", "CreateUser"),
    p("iam", "DeactivateMFADevice"),
    p("iam", "DeleteAccessKey"),
    p("iam", "DeleteGroup"),
    p("iam", "DeleteGroupPolicy"),
    p("iam", "DeleteInstanceProfile"),
    p("iam", "DeleteLoginProfile"),
    p("iam", "DeleteRole"),
    p("iam", "DeleteRolePolicy"),
    p("iam", "DeleteSSHPublicKey"),
    p("iam", "DeleteServiceSpecificCredential"),
    p("iam", "DeleteSigningCertificate"),
    p("iam", "DeleteUser"),
    p("iam", "DeleteUserPolicy"),
    p("iam", "DeleteVirtualMFADevice"),
    p("iam", "DetachGroupPolicy"),
    p("iam", "DetachRolePolicy"),
    p("iam", "DetachUserPolicy"),
    p("iam", "GetAccountPasswordPolicy"),
    p("iam", "GetAccountSummary"),
    p("iam", "GetGroup"),
    p("iam", "GetInstanceProfile"),
    p("iam", "GetLoginProfile"),
    p("iam", "ListAccessKeys"),
    p("iam", "ListAccountAliases"),
    p("iam", "ListAttachedGroupPolicies"),
    p("iam", "ListAttachedRolePolicies"),
    p("iam", "ListAttachedUserPolicies"),
    p("iam", "ListGroupPolicies"),
    p("iam", "ListGroups"),
    p("iam", "ListGroupsForUser"),
    p("iam", "ListInstanceProfileTags"),
    p("iam", "ListInstanceProfiles"),
    p("iam", "ListInstanceProfilesForRole"),
    p("iam", "ListMFADevices"),
    p("iam", "ListRolePolicies"),
    p("iam", "ListRoleTags"),
    p("iam", "ListRoles"),
    p("iam", "ListSSHPublicKeys"),
    p("iam", "ListServiceSpecificCredentials"),
    p("iam", "ListSigningCertificates"),
    p("iam", "ListUserPolicies"),
    p("iam", "ListUserTags"),
    p("iam", "ListUsers"),
    p("iam", "PassRole"),
    p("iam", "RemoveRoleFromInstanceProfile"),
    p("iam", "RemoveUserFromGroup"),
    p("iam", "TagInstanceProfile"),
    p("iam", "TagRole"),
    p("iam", "TagUser"),
    p("iam", "UpdateAccountPasswordPolicy"),
    p("iam", "UpdateAssumeRolePolicy"),
    p("iam", "UpdateGroup"),
    // Route 53 and ACM: the front door `haven up` and `down` build and remove ([dns], [https]),
    // and the users `failover-region`, `failback`, dns-move-traffic and dns-set-weights move.
    p("route53", "ChangeResourceRecordSets"),
    p("route53", "ChangeTagsForResource"),
    p("route53", "CreateHealthCheck"),
    p("route53", "CreateHostedZone"),
    p("route53", "DeleteHealthCheck"),
    p("route53", "DeleteHostedZone"),
    p("route53", "GetChange"),
    p("route53", "GetHostedZone"),
    p("route53", "TestDNSAnswer"),
    p("route53", "ListHostedZonesByName"),
    p("route53", "UpdateHealthCheck"),
    p("acm", "AddTagsToCertificate"),
    p("acm", "DeleteCertificate"),
    p("acm", "RequestCertificate"),
    // --- rds (issue 21): whether a manual DB snapshot is public (RDS.1).
    p("rds", "DescribeDBSnapshotAttributes"),
    p("rds", "DescribeDBClusterSnapshotAttributes"),
    // Load balancers and Auto Scaling (issue 21): Classic Load Balancers (the `elb` API shares
    // the prefix, DescribeLoadBalancers and DescribeLoadBalancerAttributes with v2), the web
    // ACL of each Application Load Balancer, the launch configurations groups use.
    p("elasticloadbalancing", "DescribeLoadBalancerPolicies"),
    p("wafv2", "GetWebACLForResource"),
    p("autoscaling", "DescribeLaunchConfigurations"),
    // `haven up` drops invalid header fields on the stack's ALB (ELB.4).
    p("elasticloadbalancing", "ModifyLoadBalancerAttributes"),
    // EBS, snapshots, AMIs and VPC guards: discovery (issue 21).
    p("ec2", "DescribeNetworkAcls"),
    p("ec2", "DescribeFlowLogs"),
    p("ec2", "DescribeVpcEndpoints"),
    p("ec2", "DescribeSnapshotAttribute"),
    p("ec2", "GetEbsEncryptionByDefault"),
    p("ec2", "GetSnapshotBlockPublicAccessState"),
    p("ec2", "GetImageBlockPublicAccessState"),
    // IAM access and AWS Backup coverage (issue 21): IAM.1, IAM.6, IAM.8, RDS.26, EC2.28.
    p("iam", "GetAccountAuthorizationDetails"),
    p("iam", "ListVirtualMFADevices"),
    p("iam", "GetAccessKeyLastUsed"),
    p("backup", "ListBackupPlans"),
    p("backup", "ListBackupSelections"),
    p("backup", "GetBackupSelection"),
];

/// Whether haven's list holds `action` of `service` (the IAM prefix, or the SigV4 signing name:
/// the same for every service haven uses but CloudWatch, which signs as `monitoring`).
pub fn covers(service: &str, action: &str) -> bool {
    // CloudWatch signs its requests as `monitoring`; its IAM actions are `cloudwatch:*`.
    let service = match service {
        "monitoring" => "cloudwatch",
        other => other,
    };
    PERMISSIONS
        .iter()
        .any(|p| p.service == service && p.action == action)
}

/// The least-privilege IAM policy for haven: one statement of reads, and (unless `read_only`)
/// one of changes. IAM actions that create or delete identities are kept to the `/haven/`
/// path; every other action needs `*` (EC2 describes cannot be scoped).
pub fn policy_document(read_only: bool) -> Value {
    let names = |read: bool, iam_scoped: Option<bool>| -> Vec<String> {
        let mut names: Vec<String> = PERMISSIONS
            .iter()
            .filter(|p| p.is_read() == read)
            .filter(|p| match iam_scoped {
                None => true,
                Some(scoped) => {
                    (p.service == "iam"
                        && !p.is_read()
                        && p.action != "UpdateAccountPasswordPolicy"
                        && p.action != "CreateServiceLinkedRole")
                        == scoped
                }
            })
            .map(Permission::name)
            .collect();
        names.sort();
        names
    };
    let mut statements = vec![json!({
        "Sid": "HavenRead",
        "Effect": "Allow",
        "Action": names(true, None),
        "Resource": "*",
    })];
    if !read_only {
        statements.push(json!({
            "Sid": "HavenChange",
            "Effect": "Allow",
            "Action": names(false, Some(false)),
            "Resource": "*",
        }));
        statements.push(json!({
            "Sid": "HavenIdentitiesUnderItsPath",
            "Effect": "Allow",
            "Action": names(false, Some(true)),
            "Resource": [
                "arn:aws:iam::*:role/haven/*",
                "arn:aws:iam::*:instance-profile/haven/*",
                "arn:aws:iam::*:group/haven/*",
                "arn:aws:iam::*:user/haven/*",
            ],
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signals_calls_are_in_the_policy_under_cloudwatchs_iam_prefix() {
        assert!(covers("monitoring", "GetMetricData"));
        assert!(covers("monitoring", "DescribeAlarms"));
        assert!(covers("rds", "DescribeEvents"));
        assert!(covers("autoscaling", "DescribeScalingActivities"));
        assert!(!covers("monitoring", "PutMetricData"));
        let read_only = policy_document(true).to_string();
        assert!(
            read_only.contains("\"cloudwatch:GetMetricData\""),
            "{read_only}"
        );
    }

    #[test]
    fn d_iam_policy_allows_the_kms_calls_of_encrypted_copies() {
        let policy = policy_document(false).to_string();
        for action in [
            "kms:CreateGrant",
            "kms:DescribeKey",
            "kms:Decrypt",
            "kms:GenerateDataKeyWithoutPlaintext",
            "kms:ReEncrypt*",
        ] {
            assert!(
                policy.contains(&format!("\"{action}\"")),
                "{action}: {policy}"
            );
        }
        // None of them is a read: the read-only policy cannot copy anything.
        let read_only = policy_document(true).to_string();
        assert!(!read_only.contains("kms:ReEncrypt"), "{read_only}");
        assert!(!read_only.contains("kms:Decrypt"), "{read_only}");
    }

    #[test]
    fn every_permission_is_listed_once_and_reads_are_separate() {
        let mut names: Vec<String> = PERMISSIONS.iter().map(Permission::name).collect();
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count, "duplicates in PERMISSIONS");
        let read_only = policy_document(true);
        let statements = read_only["Statement"].as_array().expect("statements");
        assert_eq!(statements.len(), 1);
        let actions = statements[0]["Action"].as_array().expect("actions");
        assert!(actions.iter().all(|a| {
            let name = a.as_str().unwrap_or_default();
            name.contains(":Describe") || name.contains(":List") || name.contains(":Get")
        }));
        let full = policy_document(false);
        let scoped = &full["Statement"][2];
        assert!(
            scoped["Action"]
                .as_array()
                .expect("actions")
                .contains(&json!("iam:CreateRole"))
        );
        assert!(
            !full["Statement"][1]["Action"]
                .as_array()
                .expect("actions")
                .contains(&json!("iam:CreateRole")),
            "identity changes only under /haven/"
        );
    }
}
