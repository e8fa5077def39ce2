//! The instance-refresh path of a rolling deploy against recorded AWS answers (moto does not
//! implement instance refreshes): the refresh is started with the new version as its desired
//! configuration and not followed (the deploy watches its gates meanwhile); a refresh that AWS
//! fails is read back as a signal, the deploy rolls back, and the rollback's calls — cancel
//! (nothing left to cancel), a refresh back to the old version, the tags — go out in order.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::config::Credentials;
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use chrono::{TimeDelta, Utc};
use haven_aws::deploy::{read_signals, run_call};
use haven_aws::{AwsContext, ExecuteOptions};
use haven_model::action::{Action, ActionKind, Progress, ResourceKind, ResourceRef};
use haven_model::deploy::{
    self, DeploySpec, DeployState, Gate, NewVersion, Next, RollingMode, Strategy,
};
use haven_model::{RegionTopology, Topology};

const REGION: &str = "ap-northeast-2";
const TEMPLATE: &str = "lt-0f880395c91a83699";
const NS: &str = "http://autoscaling.amazonaws.com/doc/2011-01-01/";

fn answer(action: &str, result: &str) -> String {
    format!(
        "<{action}Response xmlns=\"{NS}\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>7c6e177f-f082-11e1-ac58-3714bEXAMPLE</RequestId>\
         </ResponseMetadata></{action}Response>"
    )
}

fn ok(body: String) -> ReplayEvent {
    ReplayEvent::new(
        http::Request::builder()
            .uri("https://autoscaling.ap-northeast-2.amazonaws.com/")
            .body(SdkBody::empty())
            .expect("request"),
        http::Response::builder()
            .status(200)
            .body(SdkBody::from(body))
            .expect("response"),
    )
}

fn error(code: &str, message: &str) -> ReplayEvent {
    ReplayEvent::new(
        http::Request::builder()
            .uri("https://autoscaling.ap-northeast-2.amazonaws.com/")
            .body(SdkBody::empty())
            .expect("request"),
        http::Response::builder()
            .status(400)
            .body(SdkBody::from(format!(
                "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>{code}</Code>\
                 <Message>{message}</Message></Error>\
                 <RequestId>8d6e177f-f082-11e1-ac58-3714bEXAMPLE</RequestId></ErrorResponse>"
            )))
            .expect("response"),
    )
}

/// The group as `DescribeAutoScalingGroups` shows it (the refresh reads its template).
fn group_answer() -> ReplayEvent {
    ok(answer(
        "DescribeAutoScalingGroups",
        &format!(
            "<AutoScalingGroups><member><AutoScalingGroupName>lab-asg</AutoScalingGroupName>\
             <LaunchTemplate><LaunchTemplateId>{TEMPLATE}</LaunchTemplateId>\
             <LaunchTemplateName>lab-web</LaunchTemplateName><Version>1</Version></LaunchTemplate>\
             <MinSize>2</MinSize><MaxSize>4</MaxSize><DesiredCapacity>2</DesiredCapacity>\
             <DefaultCooldown>300</DefaultCooldown><AvailabilityZones><member>ap-northeast-2a\
             </member></AvailabilityZones><HealthCheckType>ELB</HealthCheckType>\
             <CreatedTime>2026-03-02T08:00:00Z</CreatedTime></member></AutoScalingGroups>"
        ),
    ))
}

async fn context(events: Vec<ReplayEvent>) -> (AwsContext, StaticReplayClient) {
    let replay = StaticReplayClient::new(events);
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .credentials_provider(Credentials::new("test", "test", None, None, "recorded"))
        .region(Region::new(REGION))
        .http_client(replay.clone())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await;
    (AwsContext::from_sdk_config(sdk), replay)
}

/// Each request's form body, decoded into `key=value` pairs.
fn requests(replay: &StaticReplayClient) -> Vec<Vec<(String, String)>> {
    replay
        .actual_requests()
        .map(|r| {
            let body = std::str::from_utf8(r.body().bytes().unwrap_or_default())
                .unwrap_or_default()
                .to_string();
            body.split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (decode(k), decode(v)))
                .collect()
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn param<'a>(request: &'a [(String, String)], key: &str) -> Option<&'a str> {
    request
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn quiet(_: Progress) {}

fn start_refresh(version: &str) -> deploy::DeployCall {
    deploy::DeployCall::Act(Action::new(
        REGION,
        ResourceRef::new(ResourceKind::AutoScalingGroup, "lab-asg"),
        ActionKind::StartInstanceRefresh {
            version: Some(version.into()),
            min_healthy_percentage: Some(100),
            instance_warmup_seconds: None,
        },
    ))
}

#[tokio::test]
async fn a_deploy_starts_the_refresh_with_the_new_version_and_does_not_wait_for_it() {
    let (ctx, replay) = context(vec![
        group_answer(),
        ok(answer(
            "StartInstanceRefresh",
            "<InstanceRefreshId>08b91cf7-8fa6-48af-b6a6-d227f40f1b9b</InstanceRefreshId>",
        )),
    ])
    .await;
    let outcome = run_call(
        &ctx,
        REGION,
        &start_refresh("2"),
        &ExecuteOptions::default(),
        &quiet,
    )
    .await
    .expect("started");
    assert!(
        outcome.message.contains("08b91cf7") && outcome.message.contains("started"),
        "{}",
        outcome.message
    );
    let sent = requests(&replay);
    // Read the group, start: no DescribeInstanceRefreshes follows (the deploy polls its gates).
    assert_eq!(sent.len(), 2, "{sent:?}");
    let start = &sent[1];
    assert_eq!(param(start, "Action"), Some("StartInstanceRefresh"));
    assert_eq!(param(start, "AutoScalingGroupName"), Some("lab-asg"));
    assert_eq!(
        param(
            start,
            "DesiredConfiguration.LaunchTemplate.LaunchTemplateId"
        ),
        Some(TEMPLATE)
    );
    assert_eq!(
        param(start, "DesiredConfiguration.LaunchTemplate.Version"),
        Some("2")
    );
    assert_eq!(
        param(start, "Preferences.MinHealthyPercentage"),
        Some("100")
    );
    assert_eq!(param(start, "Preferences.SkipMatching"), Some("true"));
}

/// The lab (fixture) in the middle of a rolling deploy `r1` by instance refresh, version 1 → 2.
fn refreshing() -> (RegionTopology, DeployState) {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../assets/fixtures/lab-healthy.json"),
    )
    .expect("fixture");
    let mut region = Topology::from_json(&text).expect("fixture").regions[0].clone();
    let since = (Utc::now() - TimeDelta::minutes(3)).to_rfc3339();
    let group = &mut region.auto_scaling_groups[0];
    for (key, value) in [
        (haven_model::plan::STACK_TAG, "lab"),
        (deploy::DEPLOY_TAG, "r1"),
        (deploy::ROLE_TAG, "rolling"),
        (deploy::STEP_TAG, "refreshing"),
        (deploy::SINCE_TAG, since.as_str()),
        (deploy::STRATEGY_TAG, "rolling"),
        (deploy::VERSION_TAG, "2"),
        (deploy::FROM_TAG, "1"),
        (deploy::CAPACITY_TAG, "2/4/2"),
    ] {
        group.tags.insert(key.to_string(), value.to_string());
    }
    let state = DeployState::read(&region, "lab").expect("a running deploy");
    (region, state)
}

#[tokio::test]
async fn a_refresh_that_aws_fails_rolls_the_deploy_back_to_the_old_version() {
    let (region, state) = refreshing();
    let started = (Utc::now() - TimeDelta::minutes(2)).format("%Y-%m-%dT%H:%M:%SZ");
    // What the gates read: no failed launch; the refresh failed (its instances never healthy).
    let (ctx, replay) = context(vec![
        ok(answer("DescribeScalingActivities", "<Activities/>")),
        ok(answer(
            "DescribeInstanceRefreshes",
            &format!(
                "<InstanceRefreshes><member><InstanceRefreshId>08b91cf7-8fa6-48af-b6a6-\
                 d227f40f1b9b</InstanceRefreshId><AutoScalingGroupName>lab-asg\
                 </AutoScalingGroupName><Status>Failed</Status><StatusReason>Instances failed \
                 to reach a healthy state within the health check grace period\
                 </StatusReason><StartTime>{started}</StartTime><PercentageComplete>50\
                 </PercentageComplete></member></InstanceRefreshes>"
            ),
        )),
    ])
    .await;
    let (signals, warnings) = read_signals(
        &ctx,
        REGION,
        &["lab-asg".to_string()],
        &[],
        state.since.expect("since"),
    )
    .await;
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(requests(&replay).len(), 2);
    let spec = DeploySpec {
        id: "r1".into(),
        stack: "lab".into(),
        region: REGION.into(),
        version: NewVersion::LaunchTemplateVersion(2),
        strategy: Strategy::Rolling {
            batch: 1,
            min_healthy_percent: 100,
            mode: RollingMode::InstanceRefresh,
        },
        gates: Gate::defaults(),
        health_timeout: std::time::Duration::from_secs(600),
    };
    let Next::Rollback {
        failed,
        reason,
        calls,
    } = deploy::next(&spec, Some(&state), &region, &signals, Utc::now())
    else {
        panic!("expected a rollback");
    };
    assert_eq!(failed.map(|f| f.gate), Some(Gate::InstanceRefresh));
    assert!(
        reason.contains("Failed") && reason.contains("healthy state"),
        "{reason}"
    );

    // The rollback against recorded answers: tag, cancel (AWS has nothing left to cancel),
    // a refresh back to version 1, tag rolled back.
    let tags = || {
        ok(answer("CreateOrUpdateTags", "")
            .replace("<CreateOrUpdateTagsResult></CreateOrUpdateTagsResult>", ""))
    };
    let elb_tags = || {
        ok(
            "<AddTagsResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\">\
            <AddTagsResult/><ResponseMetadata><RequestId>9e6e177f-f082-11e1-ac58-3714bEXAMPLE\
            </RequestId></ResponseMetadata></AddTagsResponse>"
                .to_string(),
        )
    };
    let (ctx, replay) = context(vec![
        tags(),
        elb_tags(),
        error(
            "ActiveInstanceRefreshNotFound",
            "No in progress or pending Instance Refresh found for Auto Scaling group lab-asg",
        ),
        group_answer(),
        ok(answer(
            "StartInstanceRefresh",
            "<InstanceRefreshId>9a0c6a1e-2b3d-4c5e-8f90-123456789abc</InstanceRefreshId>",
        )),
        tags(),
        elb_tags(),
    ])
    .await;
    for call in &calls {
        run_call(&ctx, REGION, call, &ExecuteOptions::default(), &quiet)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", call.name()));
    }
    let sent = requests(&replay);
    let actions: Vec<&str> = sent.iter().filter_map(|r| param(r, "Action")).collect();
    assert_eq!(
        actions,
        [
            "CreateOrUpdateTags",
            "AddTags",
            "CancelInstanceRefresh",
            "DescribeAutoScalingGroups",
            "StartInstanceRefresh",
            "CreateOrUpdateTags",
            "AddTags"
        ]
    );
    assert!(
        sent[0].iter().any(|(_, v)| v == "rolling-back"),
        "{:?}",
        sent[0]
    );
    assert_eq!(
        param(&sent[4], "DesiredConfiguration.LaunchTemplate.Version"),
        Some("1"),
        "back to the old version"
    );
    assert!(
        sent[5].iter().any(|(_, v)| v == "rolled-back"),
        "{:?}",
        sent[5]
    );
}
