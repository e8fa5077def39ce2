//! haven's tags in each service's own shape.

use aws_sdk_ec2::types::{ResourceType, TagSpecification};
use haven_model::topology::Tags;

/// EC2 tags for the create call itself, so the resource is never untagged.
pub(crate) fn ec2_spec(kind: ResourceType, tags: &Tags) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

/// RDS tags.
pub(crate) fn rds(tags: &Tags) -> Vec<aws_sdk_rds::types::Tag> {
    tags.iter()
        .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(k).value(v).build())
        .collect()
}

/// Elastic Load Balancing tags.
pub(crate) fn elb(tags: &Tags) -> Vec<aws_sdk_elasticloadbalancingv2::types::Tag> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect()
}

/// IAM tags.
pub(crate) fn iam(tags: &Tags) -> Vec<aws_sdk_iam::types::Tag> {
    tags.iter()
        .filter_map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect()
}
