//! The one move of `haven failback` that no plan step or action makes: setting a database left
//! behind in an outage aside instead of deleting it. Its data may hold writes the running
//! database never got, so it is kept; it leaves the stack (its `haven:stack` and
//! `haven:logical` tags removed, so `haven up` and `haven down` no longer see it) and may be
//! renamed to free a name the blueprint gives the new primary's replicas (RDS keeps an
//! identifier for the length of a delete, minutes; a rename is immediate:
//! <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_RenameInstance.html>).

use haven_model::Service;
use haven_model::plan::{LOGICAL_TAG, STACK_TAG};
use haven_model::topology::Tags;

use crate::context::AwsContext;
use crate::error::AwsError;
use crate::execute::ExecuteOptions;
use crate::replicate::WaitSink;

/// A DB instance to set aside.
#[derive(Debug, Clone, Copy)]
pub struct SetAside<'a> {
    /// Its Region.
    pub region: &'a str,
    /// Its identifier.
    pub identifier: &'a str,
    /// Its ARN (tags are changed by ARN).
    pub arn: &'a str,
    /// Its new identifier, when it is renamed.
    pub new_identifier: Option<&'a str>,
    /// Tags to add (what it was set aside from).
    pub tags: &'a Tags,
}

/// Sets a DB instance aside: the stack's tags removed, `tags` added, and renamed when asked;
/// waits until it is `available` under its new name. Returns its identifier now.
pub async fn set_aside_db(
    ctx: &AwsContext,
    db: SetAside<'_>,
    options: &ExecuteOptions,
    waiting: WaitSink<'_>,
) -> Result<String, AwsError> {
    let SetAside {
        region,
        identifier,
        arn,
        new_identifier,
        tags,
    } = db;
    if options.read_only {
        return Err(AwsError::ReadOnly {
            action: format!("set {identifier} aside"),
        });
    }
    let rds = ctx.rds(region);
    let endpoint = ctx.endpoint_label(region);
    rds.remove_tags_from_resource()
        .resource_name(arn)
        .tag_keys(STACK_TAG)
        .tag_keys(LOGICAL_TAG)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(Service::Rds, "RemoveTagsFromResource", &endpoint, e))?;
    rds.add_tags_to_resource()
        .resource_name(arn)
        .set_tags(Some(crate::tags::rds(tags)))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(Service::Rds, "AddTagsToResource", &endpoint, e))?;
    let Some(new) = new_identifier else {
        return Ok(identifier.to_string());
    };
    rds.modify_db_instance()
        .db_instance_identifier(identifier)
        .new_db_instance_identifier(new)
        .apply_immediately(true)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(Service::Rds, "ModifyDBInstance", &endpoint, e))?;
    let what = format!("{identifier} renamed to {new} in {region}");
    crate::poll::until(options, Service::Rds, &what, waiting, || async {
        let found = rds
            .describe_db_instances()
            .db_instance_identifier(new)
            .send()
            .await;
        match found {
            Ok(out) => {
                let status = out
                    .db_instances()
                    .first()
                    .and_then(|d| d.db_instance_status())
                    .unwrap_or("renaming")
                    .to_string();
                Ok((status != "available").then_some(status))
            }
            // The new name can take a moment to appear.
            Err(e) => {
                let error = AwsError::from_sdk(Service::Rds, "DescribeDBInstances", &endpoint, e);
                if error.code().is_some_and(|c| c.contains("NotFound")) {
                    Ok(Some("renaming".to_string()))
                } else {
                    Err(error)
                }
            }
        }
    })
    .await?;
    Ok(new.to_string())
}
