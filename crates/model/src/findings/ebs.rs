//! EBS and AMI data protection: encryption at rest (EC2.3, EC2.7), backups (DR-EBS-SNAP) and
//! public data (EC2.1, SEC-AMI-PUBLIC, block public access for snapshots and AMIs).

use std::collections::HashSet;

use super::index::RegionIndex;
use super::{Finding, ResourceKind, ResourceRef, finding};
use crate::topology::{Volume, name_tag};

pub(crate) fn check(index: &RegionIndex, out: &mut Vec<Finding>) {
    let region = index.region;
    let code = Some(index.code());
    let snapshotted: HashSet<&str> = region
        .snapshots
        .iter()
        .filter(|s| s.state == "completed")
        .filter_map(|s| s.volume_id.as_deref())
        .collect();
    let asg_members: HashSet<&str> = region
        .auto_scaling_groups
        .iter()
        .flat_map(|g| g.instances.iter().map(|m| m.instance_id.as_str()))
        .collect();
    for volume in region.volumes.iter().filter(|v| v.state == "in-use") {
        let resource =
            || ResourceRef::new(ResourceKind::Volume, &volume.id).named(name_tag(&volume.tags));
        if !volume.encrypted {
            out.push(finding(
                "EC2.3",
                code,
                resource(),
                format!("encrypted=false; {}", attached(volume)),
            ));
        }
        // An Auto Scaling group rebuilds its instances from the launch template's AMI: the AMI
        // is their volumes' backup, so their volumes are left out.
        let replaceable = !volume.attached_instance_ids.is_empty()
            && volume
                .attached_instance_ids
                .iter()
                .all(|i| asg_members.contains(i.as_str()));
        if !snapshotted.contains(volume.id.as_str()) && !replaceable {
            out.push(finding(
                "DR-EBS-SNAP",
                code,
                resource(),
                format!(
                    "no completed snapshot of this volume ({} GiB {}; {})",
                    volume.size_gib,
                    volume.volume_type,
                    attached(volume)
                ),
            ));
        }
    }
    for snapshot in region.snapshots.iter().filter(|s| s.public == Some(true)) {
        out.push(finding(
            "EC2.1",
            code,
            ResourceRef::new(ResourceKind::Snapshot, &snapshot.id).named(name_tag(&snapshot.tags)),
            format!(
                "createVolumePermission group=all; from {}, {}",
                snapshot.volume_id.as_deref().unwrap_or("unknown volume"),
                if snapshot.encrypted {
                    "encrypted"
                } else {
                    "unencrypted"
                }
            ),
        ));
    }
    for image in region.images.iter().filter(|i| i.public) {
        out.push(finding(
            "SEC-AMI-PUBLIC",
            code,
            ResourceRef::new(ResourceKind::Image, &image.id)
                .named(image.name.as_deref().or_else(|| name_tag(&image.tags))),
            format!(
                "public=true; owner {}",
                image.owner_id.as_deref().unwrap_or("this account")
            ),
        ));
    }
    settings(index, out);
}

fn settings(index: &RegionIndex, out: &mut Vec<Finding>) {
    let settings = &index.region.settings;
    let code = index.code();
    let region = || ResourceRef::new(ResourceKind::Region, code);
    if settings.ebs_encryption_by_default == Some(false) {
        out.push(finding(
            "EC2.7",
            Some(code),
            region(),
            "EbsEncryptionByDefault=false".into(),
        ));
    }
    if settings.snapshot_block_public_access.as_deref() == Some("unblocked") {
        out.push(finding(
            "SEC-SNAP-BPA",
            Some(code),
            region(),
            "snapshot block public access state=unblocked".into(),
        ));
    }
    if settings.image_block_public_access.as_deref() == Some("unblocked") {
        out.push(finding(
            "SEC-AMI-BPA",
            Some(code),
            region(),
            "image block public access state=unblocked".into(),
        ));
    }
}

fn attached(volume: &Volume) -> String {
    if volume.attached_instance_ids.is_empty() {
        "attached".to_string()
    } else {
        format!("attached to {}", volume.attached_instance_ids.join(", "))
    }
}
