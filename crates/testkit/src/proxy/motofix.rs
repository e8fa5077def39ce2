//! Corrections of moto bugs that would make haven's correct requests fail or land elsewhere,
//! applied by the proxy only (production code sends what AWS expects; see
//! `../shared/reference/moto/coverage.md`, RDS table).
//!
//! moto looks the `DBSubnetGroupName` of a cross-Region `CreateDBInstanceReadReplica` up in
//! the *source* Region: with no group of that name there the call fails
//! (`DBSubnetGroupNotFoundFault`), and with one (a stack has the same `<stack>-db-subnets` in
//! both Regions) the replica gets the source Region's group, so it sits in the primary's VPC.
//! Real RDS takes the group in the destination Region
//! (<https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html>:
//! "The specified DB subnet group must be in the same Amazon Web Services Region in which the
//! operation is running"). After such a create succeeds, the proxy sends moto a
//! `ModifyDBInstance DBSubnetGroupName=… ApplyImmediately=true` in the destination Region, which
//! moves the replica into the destination's group (measured), so that what haven then discovers
//! is what AWS would have made. The follow-up is not recorded: haven did not send it.
//!
//! moto also *replaces* an existing DB instance when a read replica of the same identifier is
//! created; AWS answers `DBInstanceAlreadyExists`
//! (<https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html#API_CreateDBInstanceReadReplica_Errors>).
//! The proxy asks moto first ([`name_check`]) and gives AWS's answer when the name is taken.

use super::percent_decode;

/// The form parameters of a query-protocol body, decoded.
fn params(form: &str) -> Vec<(String, String)> {
    form.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The `DescribeDBInstances` body that tells whether the identifier a
/// `CreateDBInstanceReadReplica` asks for is taken.
pub(super) fn name_check(action: &str, form: &str) -> Option<String> {
    if action != "CreateDBInstanceReadReplica" {
        return None;
    }
    let identifier = params(form)
        .into_iter()
        .find(|(key, _)| key == "DBInstanceIdentifier")?
        .1;
    Some(format!(
        "Action=DescribeDBInstances&Version=2014-10-31&DBInstanceIdentifier={}",
        encode(&identifier)
    ))
}

/// Whether a `DescribeDBInstances` answer lists an instance.
pub(super) fn lists_an_instance(answer: &[u8]) -> bool {
    String::from_utf8_lossy(answer).contains("<DBInstanceIdentifier>")
}

/// The request body moto needs after `action` in `region` (form `form`) succeeded, if any.
pub(super) fn follow_up(region: &str, action: &str, form: &str) -> Option<String> {
    if action != "CreateDBInstanceReadReplica" {
        return None;
    }
    let params = params(form);
    let param = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    // arn:aws:rds:<region>:<account>:db:<id>: cross-Region only when the Regions differ.
    let source_region = param("SourceDBInstanceIdentifier")?
        .strip_prefix("arn:")?
        .split(':')
        .nth(2)?;
    if source_region == region {
        return None;
    }
    let group = param("DBSubnetGroupName")?;
    let identifier = param("DBInstanceIdentifier")?;
    let mut body = format!(
        "Action=ModifyDBInstance&Version=2014-10-31&DBInstanceIdentifier={}\
         &DBSubnetGroupName={}&ApplyImmediately=true",
        encode(identifier),
        encode(group)
    );
    let groups = params
        .iter()
        .filter(|(key, _)| key.starts_with("VpcSecurityGroupIds."))
        .enumerate();
    for (index, (_, id)) in groups {
        body.push_str(&format!(
            "&VpcSecurityGroupIds.VpcSecurityGroupId.{}={}",
            index + 1,
            encode(id)
        ));
    }
    Some(body)
}

/// AWS's answer to an EC2 call moto does not implement (it answers HTML 500), with the setting
/// a new account has: snapshot block public access `unblocked` (off by default) and AMI block
/// public access `block-new-sharing` (on by default for accounts created since October 2023).
/// <https://docs.aws.amazon.com/ebs/latest/userguide/block-public-access-snapshots.html>,
/// <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/block-public-access-to-amis.html>.
pub(super) fn stand_in(service: &str, action: &str) -> Option<String> {
    let (element, value) = match (service, action) {
        ("ec2", "GetSnapshotBlockPublicAccessState") => ("state", "unblocked"),
        ("ec2", "GetImageBlockPublicAccessState") => {
            ("imageBlockPublicAccessState", "block-new-sharing")
        }
        _ => return None,
    };
    Some(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response \
         xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>haven-proxy-stand-in\
         </requestId><{element}>{value}</{element}></{action}Response>"
    ))
}

#[cfg(test)]
mod tests {
    use super::follow_up;

    const SOURCE: &str = "arn%3Aaws%3Ards%3Aap-northeast-2%3A123456789012%3Adb%3Alab-db";

    #[test]
    fn a_cross_region_replica_with_a_subnet_group_is_moved_into_the_destination_group() {
        let form = format!(
            "Action=CreateDBInstanceReadReplica&DBInstanceIdentifier=lab-db-us-east-1\
             &SourceDBInstanceIdentifier={SOURCE}&DBSubnetGroupName=lab-db-subnets\
             &VpcSecurityGroupIds.VpcSecurityGroupId.1=sg-1"
        );
        assert_eq!(
            follow_up("us-east-1", "CreateDBInstanceReadReplica", &form).as_deref(),
            Some(
                "Action=ModifyDBInstance&Version=2014-10-31&DBInstanceIdentifier=lab-db-us-east-1\
                 &DBSubnetGroupName=lab-db-subnets&ApplyImmediately=true\
                 &VpcSecurityGroupIds.VpcSecurityGroupId.1=sg-1"
            )
        );
        // Same Region, no subnet group, or another call: moto is right, nothing to add.
        assert_eq!(
            follow_up("ap-northeast-2", "CreateDBInstanceReadReplica", &form),
            None
        );
        let plain = format!(
            "Action=CreateDBInstanceReadReplica&DBInstanceIdentifier=r&SourceDBInstanceIdentifier={SOURCE}"
        );
        assert_eq!(
            follow_up("us-east-1", "CreateDBInstanceReadReplica", &plain),
            None
        );
        assert_eq!(follow_up("us-east-1", "ModifyDBInstance", &form), None);
    }
}
