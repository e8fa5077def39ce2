//! Amazon Resource Names, read just enough to locate a resource.

/// The parts of an ARN: `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: &'a str,
    /// Service, e.g. `rds`.
    pub service: &'a str,
    /// Region (empty for global resources).
    pub region: &'a str,
    /// Account id (empty for AWS-owned resources such as public AMIs).
    pub account: &'a str,
    /// Everything after the account: `db:my-db`, `image/ami-…`, `targetgroup/name/id`.
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits an ARN; `None` when the text is not one.
    pub fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let arn = Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        };
        (!arn.partition.is_empty() && !arn.service.is_empty() && !arn.resource.is_empty())
            .then_some(arn)
    }

    /// The resource's own id: the part after the resource type (`db:x` → `x`, `image/ami-1` → `ami-1`).
    pub fn resource_id(&self) -> &'a str {
        match self.resource.split_once([':', '/']) {
            Some((_, id)) => id,
            None => self.resource,
        }
    }

    /// Builds the ARN of a Regional EC2 resource, e.g. `("image", "ami-1")`.
    pub fn ec2(region: &str, account: &str, kind: &str, id: &str) -> String {
        format!("arn:aws:ec2:{region}:{account}:{kind}/{id}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_rds_and_ec2_arns() {
        let db = Arn::parse("arn:aws:rds:us-east-1:123456789012:db:lab-db-dr").expect("arn");
        assert_eq!(
            (db.service, db.region, db.resource_id()),
            ("rds", "us-east-1", "lab-db-dr")
        );
        let ami = Arn::parse("arn:aws:ec2:ap-northeast-2::image/ami-1").expect("arn");
        assert_eq!((ami.account, ami.resource_id()), ("", "ami-1"));
        assert_eq!(Arn::parse("lab-db"), None);
        assert_eq!(Arn::parse("arn:aws:rds"), None);
    }
}
