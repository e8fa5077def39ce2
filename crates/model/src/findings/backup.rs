//! AWS Backup coverage: every RDS DB instance (RDS.26) and every in-use EBS volume (EC2.28)
//! selected by a backup plan of its Region. A Region whose plans could not be read is not judged.

use super::index::RegionIndex;
use super::{Finding, ResourceKind, ResourceRef, finding};
use crate::topology::{BackupSelection, Tags};

/// The plan whose selection assigns the resource, if any.
fn covering<'a>(selections: &'a [BackupSelection], arn: &str, tags: &Tags) -> Option<&'a str> {
    selections
        .iter()
        .find(|s| s.selects(arn, tags))
        .map(|s| s.plan_name.as_str())
}

/// `account` is the partition and account id volume ARNs are built with.
pub(crate) fn check(index: &RegionIndex, account: Option<(&str, &str)>, out: &mut Vec<Finding>) {
    let region = index.region;
    let Some(selections) = &region.backup_selections else {
        return;
    };
    let code = region.region.as_str();
    let evidence = || {
        format!(
            "no selection of the Region's {} backup plan(s) assigns it",
            selections
                .iter()
                .map(|s| s.plan_id.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        )
    };
    for db in &region.db_instances {
        if covering(selections, &db.arn, &db.tags).is_none() {
            out.push(finding(
                "RDS.26",
                Some(code),
                ResourceRef::new(ResourceKind::DbInstance, &db.identifier).with_arn(Some(&db.arn)),
                evidence(),
            ));
        }
    }
    // A volume's ARN needs the account; without it volumes are not judged.
    let Some((partition, account)) = account else {
        return;
    };
    for volume in region.volumes.iter().filter(|v| v.state == "in-use") {
        let arn = format!("arn:{partition}:ec2:{code}:{account}:volume/{}", volume.id);
        if covering(selections, &arn, &volume.tags).is_none() {
            out.push(finding(
                "EC2.28",
                Some(code),
                ResourceRef::new(ResourceKind::Volume, &volume.id)
                    .named(volume.tags.get("Name").map(String::as_str))
                    .with_arn(Some(&arn)),
                evidence(),
            ));
        }
    }
}
