//! AWS Backup, per Region: the resource selections of every backup plan (`ListBackupPlans` →
//! `ListBackupSelections` → `GetBackupSelection`), which the model reads as AWS Backup does to
//! judge RDS.26 and EC2.28. Any failure leaves the Region's selections unread (not judged).

use aws_sdk_backup::Client;
use aws_sdk_backup::types as sdk;
use futures::{StreamExt, TryStreamExt, stream};
use haven_model as model;

use super::{CONCURRENCY, Scope};
use crate::error::{AwsError, Endpoint};

type Result<T> = std::result::Result<T, AwsError>;

pub(super) async fn discover(scope: &Scope<'_>) -> Result<Vec<model::BackupSelection>> {
    let client = scope.ctx.backup(scope.region);
    selections(&client, &scope.ctx.endpoint_label(scope.region)).await
}

fn err<E>(
    label: &Endpoint,
    operation: &str,
    error: aws_sdk_backup::error::SdkError<E, aws_sdk_backup::config::http::HttpResponse>,
) -> AwsError
where
    E: aws_sdk_backup::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    AwsError::from_sdk(model::Service::Backup, operation, label, error)
}

/// A plan's id and name, and one of its selections' id.
struct Assignment {
    plan_id: String,
    plan_name: String,
    selection_id: String,
}

async fn selections(client: &Client, label: &Endpoint) -> Result<Vec<model::BackupSelection>> {
    let plans: Vec<sdk::BackupPlansListMember> = client
        .list_backup_plans()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| err(label, "ListBackupPlans", e))?;
    let per_plan: Vec<Vec<Assignment>> = stream::iter(plans)
        .map(|plan| async move {
            let plan_id = plan.backup_plan_id().unwrap_or_default().to_string();
            let listed: Vec<sdk::BackupSelectionsListMember> = client
                .list_backup_selections()
                .backup_plan_id(&plan_id)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| err(label, "ListBackupSelections", e))?;
            Ok::<_, AwsError>(
                listed
                    .iter()
                    .map(|s| Assignment {
                        plan_id: plan_id.clone(),
                        plan_name: plan.backup_plan_name().unwrap_or_default().to_string(),
                        selection_id: s.selection_id().unwrap_or_default().to_string(),
                    })
                    .collect(),
            )
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    stream::iter(per_plan.into_iter().flatten())
        .map(|a| async move {
            let out = client
                .get_backup_selection()
                .backup_plan_id(&a.plan_id)
                .selection_id(&a.selection_id)
                .send()
                .await
                .map_err(|e| err(label, "GetBackupSelection", e))?;
            Ok(selection(a, out.backup_selection()))
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

fn selection(a: Assignment, s: Option<&sdk::BackupSelection>) -> model::BackupSelection {
    let Some(s) = s else {
        // No document: AWS Backup would select nothing we can name; keep an empty selection
        // that selects every resource only if AWS said so (it did not), so list nothing.
        return model::BackupSelection {
            plan_id: a.plan_id,
            plan_name: a.plan_name,
            selection_id: a.selection_id,
            not_resources: vec!["*".into()],
            ..model::BackupSelection::default()
        };
    };
    let mut conditions = Vec::new();
    if let Some(c) = s.conditions() {
        for (operator, list) in [
            ("StringEquals", c.string_equals()),
            ("StringNotEquals", c.string_not_equals()),
            ("StringLike", c.string_like()),
            ("StringNotLike", c.string_not_like()),
        ] {
            conditions.extend(list.iter().map(|p| {
                model::TagCondition::new(
                    operator,
                    p.condition_key().unwrap_or_default(),
                    p.condition_value().unwrap_or_default(),
                )
            }));
        }
    }
    model::BackupSelection {
        plan_id: a.plan_id,
        plan_name: a.plan_name,
        selection_id: a.selection_id,
        selection_name: s.selection_name().to_string(),
        iam_role_arn: Some(s.iam_role_arn().to_string()).filter(|r| !r.is_empty()),
        resources: s.resources().to_vec(),
        not_resources: s.not_resources().to_vec(),
        list_of_tags: s
            .list_of_tags()
            .iter()
            .map(|t| {
                model::TagCondition::new(
                    t.condition_type().as_str(),
                    t.condition_key(),
                    t.condition_value(),
                )
            })
            .collect(),
        conditions,
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_backup::operation::get_backup_selection::GetBackupSelectionOutput;
    use aws_sdk_backup::operation::list_backup_plans::ListBackupPlansOutput;
    use aws_sdk_backup::operation::list_backup_selections::ListBackupSelectionsOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    fn label() -> Endpoint {
        Endpoint {
            label: "AWS (ap-northeast-2)".into(),
            region: "ap-northeast-2".into(),
        }
    }

    /// One plan with one selection by ARN wildcard, tags and conditions: read into the model's
    /// selection, which then selects the tagged volume and not the scratch one.
    #[tokio::test]
    async fn reads_each_plans_selections_with_their_resources_tags_and_conditions() {
        let plans = mock!(Client::list_backup_plans).then_output(|| {
            ListBackupPlansOutput::builder()
                .backup_plans_list(
                    sdk::BackupPlansListMember::builder()
                        .backup_plan_id("plan-1")
                        .backup_plan_name("daily")
                        .build(),
                )
                .build()
        });
        let listed = mock!(Client::list_backup_selections)
            .match_requests(|r| r.backup_plan_id() == Some("plan-1"))
            .then_output(|| {
                ListBackupSelectionsOutput::builder()
                    .backup_selections_list(
                        sdk::BackupSelectionsListMember::builder()
                            .selection_id("sel-1")
                            .backup_plan_id("plan-1")
                            .build(),
                    )
                    .build()
            });
        let got = mock!(Client::get_backup_selection)
            .match_requests(|r| {
                r.backup_plan_id() == Some("plan-1") && r.selection_id() == Some("sel-1")
            })
            .then_output(|| {
                let param = |k: &str, v: &str| {
                    sdk::ConditionParameter::builder()
                        .condition_key(k)
                        .condition_value(v)
                        .build()
                };
                GetBackupSelectionOutput::builder()
                    .backup_plan_id("plan-1")
                    .selection_id("sel-1")
                    .backup_selection(
                        sdk::BackupSelection::builder()
                            .selection_name("volumes")
                            .iam_role_arn("arn:aws:iam::123456789012:role/backup")
                            .resources("arn:aws:ec2:*:*:volume/*")
                            .not_resources("arn:aws:ec2:*:*:volume/vol-scratch")
                            .list_of_tags(
                                sdk::Condition::builder()
                                    .condition_type(sdk::ConditionType::Stringequals)
                                    .condition_key("backup")
                                    .condition_value("daily")
                                    .build()
                                    .expect("condition"),
                            )
                            .conditions(
                                sdk::Conditions::builder()
                                    .string_not_equals(param("aws:ResourceTag/env", "dev"))
                                    .build(),
                            )
                            .build()
                            .expect("selection"),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_backup, RuleMode::MatchAny, &[&plans, &listed, &got]);
        let read = selections(&client, &label()).await.expect("read");
        assert_eq!(read.len(), 1);
        let s = &read[0];
        assert_eq!(
            (s.plan_name.as_str(), s.selection_name.as_str()),
            ("daily", "volumes")
        );
        assert_eq!(s.list_of_tags[0].key, "backup");
        assert_eq!(s.conditions[0].operator, "StringNotEquals");
        assert_eq!(
            s.conditions[0].key, "env",
            "the aws:ResourceTag/ prefix is dropped"
        );
        let arn = |id: &str| format!("arn:aws:ec2:ap-northeast-2:123456789012:volume/{id}");
        let prod: model::Tags = [("env".to_string(), "prod".to_string())].into();
        assert!(s.selects(&arn("vol-1"), &prod));
        assert!(!s.selects(&arn("vol-scratch"), &prod));
        let dev: model::Tags = [("env".to_string(), "dev".to_string())].into();
        assert!(!s.selects(&arn("vol-1"), &dev));
    }

    /// A selection that cannot be read fails the Region's read: its resources are not judged.
    #[tokio::test]
    async fn a_failing_call_is_an_error_not_an_empty_list() {
        let plans = mock!(Client::list_backup_plans).then_output(|| {
            ListBackupPlansOutput::builder()
                .backup_plans_list(
                    sdk::BackupPlansListMember::builder()
                        .backup_plan_id("plan-1")
                        .build(),
                )
                .build()
        });
        let denied = mock!(Client::list_backup_selections).then_error(|| {
            aws_sdk_backup::operation::list_backup_selections::ListBackupSelectionsError::unhandled(
                "AccessDenied",
            )
        });
        let client = mock_client!(aws_sdk_backup, RuleMode::MatchAny, &[&plans, &denied]);
        let error = selections(&client, &label()).await.expect_err("denied");
        assert!(
            error.to_string().contains("ListBackupSelections"),
            "{error}"
        );
    }
}
