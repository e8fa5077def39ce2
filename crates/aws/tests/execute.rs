//! `haven_aws::execute` against moto: each action runs to completion, and its effect is checked
//! through discovery (what the dashboard would show next), not through the action's own answer.

use std::sync::Mutex;
use std::time::Duration;

use haven_aws::{AwsContext, AwsError, DiscoverOptions, ExecuteOptions, discover, execute};
use haven_model::action::{
    Action, ActionKind, HealthCheckChange, Outcome, Progress, ResourceKind, ResourceRef,
    WeightedForward,
};
use haven_model::{InstanceState, ListenerAction, RegionTopology, TargetHealthState};
use haven_testkit::lab::{self, BASE_AMI, Lab, PRIMARY};
use haven_testkit::{Faults, MotoServer, Proxy, Realism};

/// moto makes every state final at once; short limits keep a regression from hanging the suite.
fn quick() -> ExecuteOptions {
    ExecuteOptions {
        read_only: false,
        max_wait: Duration::from_secs(10),
        first_poll: Duration::from_millis(50),
        max_poll: Duration::from_millis(200),
        // moto never shows a reboot or a failover under way.
        unchanged_grace: Duration::from_millis(300),
    }
}

async fn start() -> (MotoServer, Lab, AwsContext) {
    let moto = MotoServer::start().expect("moto_server");
    let lab = lab::build(&moto.endpoint()).await.expect("lab");
    let ctx = AwsContext::from_sdk_config(moto.sdk_config(PRIMARY).await);
    (moto, lab, ctx)
}

async fn primary(ctx: &AwsContext) -> RegionTopology {
    let options = DiscoverOptions {
        include_iam: false,
        ..DiscoverOptions::default()
    };
    let topology = discover(ctx, &[PRIMARY.to_string()], &options).await;
    assert!(topology.errors.is_empty(), "{:?}", topology.errors);
    topology.regions.into_iter().next().expect("primary Region")
}

fn act(kind: ResourceKind, id: &str, action: ActionKind) -> Action {
    Action::new(PRIMARY, ResourceRef::new(kind, id), action)
}

/// Runs the action; it must succeed and end with a "done" progress event.
async fn run(ctx: &AwsContext, action: &Action) -> Outcome {
    let events = Mutex::new(Vec::<Progress>::new());
    let sink = |p: Progress| events.lock().expect("lock").push(p);
    let outcome = execute(ctx, action, &quick(), &sink)
        .await
        .unwrap_or_else(|e| panic!("{} failed: {e}", action.sentence()));
    let events = events.into_inner().expect("lock");
    let last = events.last().expect("progress events");
    assert_eq!(last.step, "done", "{events:?}");
    assert_eq!(last.fraction, Some(1.0));
    // Every call AWS accepted reported itself, and the preview (the dialog, `--dry-run`) named
    // exactly those calls, in the order they were sent.
    let previewed: Vec<String> = action
        .api_calls()
        .iter()
        .filter(|c| !c.operation.starts_with("Describe"))
        .map(|c| c.operation.clone())
        .collect();
    let accepted: Vec<String> = events
        .iter()
        .filter_map(|p| p.accepted.as_ref())
        .map(|call| call.operation.clone())
        .collect();
    assert_eq!(
        accepted,
        previewed,
        "{}: the preview and the calls sent differ: {events:?}",
        action.sentence()
    );
    outcome
}

fn asg<'a>(region: &'a RegionTopology, name: &str) -> &'a haven_model::AutoScalingGroup {
    region
        .auto_scaling_groups
        .iter()
        .find(|g| g.name == name)
        .expect("group")
}

fn state(region: &RegionTopology, id: &str) -> InstanceState {
    region.instance(id).expect("instance").state
}

#[tokio::test(flavor = "multi_thread")]
async fn ec2_and_auto_scaling_actions_reach_their_end_state() {
    let (_moto, lab, ctx) = start().await;
    let group = lab.asg_name.as_str();
    let on_group = |kind| act(ResourceKind::AutoScalingGroup, group, kind);

    // Scale out 2 → 3: a third instance in service.
    run(
        &ctx,
        &on_group(ActionKind::SetCapacity {
            desired: Some(3),
            min: None,
            max: None,
            current: None,
        }),
    )
    .await;
    let region = primary(&ctx).await;
    let g = asg(&region, group);
    assert_eq!(g.desired_capacity, 3);
    assert_eq!(
        g.instances
            .iter()
            .filter(|m| m.lifecycle_state == "InService")
            .count(),
        3
    );

    // Min and max through UpdateAutoScalingGroup.
    run(
        &ctx,
        &on_group(ActionKind::SetCapacity {
            desired: None,
            min: Some(1),
            max: Some(8),
            current: None,
        }),
    )
    .await;
    let region = primary(&ctx).await;
    let g = asg(&region, group);
    assert_eq!((g.min_size, g.max_size, g.desired_capacity), (1, 8, 3));

    // Above the max: refused before sending (moto itself would accept it), saying what to add.
    let error = execute(
        &ctx,
        &on_group(ActionKind::SetCapacity {
            desired: Some(9),
            min: None,
            max: None,
            current: None,
        }),
        &quick(),
        &|_| {},
    )
    .await
    .expect_err("9 is above the max");
    assert_eq!(
        error.to_string(),
        "autoscaling SetDesiredCapacity: not sent: desired 9 is above the group's max 8: add \
         --max 9 (or more)"
    );
    let region = primary(&ctx).await;
    let g = asg(&region, group);
    assert_eq!((g.min_size, g.max_size, g.desired_capacity), (1, 8, 3));

    // Suspend, then resume, a process.
    run(
        &ctx,
        &on_group(ActionKind::SuspendProcesses {
            processes: vec!["AZRebalance".into()],
        }),
    )
    .await;
    assert_eq!(
        asg(&primary(&ctx).await, group).suspended_processes,
        ["AZRebalance"]
    );
    run(
        &ctx,
        &on_group(ActionKind::ResumeProcesses { processes: vec![] }),
    )
    .await;
    assert!(
        asg(&primary(&ctx).await, group)
            .suspended_processes
            .is_empty()
    );

    // Terminate the new member with decrement: back to 2, nothing replaced.
    let newest = g
        .instances
        .iter()
        .map(|m| m.instance_id.clone())
        .find(|id| !lab.asg_instance_ids.contains(id))
        .expect("the instance launched by the scale-out");
    run(
        &ctx,
        &act(
            ResourceKind::Instance,
            &newest,
            ActionKind::TerminateAsgInstance {
                decrement: true,
                group: Some(group.into()),
            },
        ),
    )
    .await;
    let region = primary(&ctx).await;
    assert_eq!(state(&region, &newest), InstanceState::Terminated);
    let g = asg(&region, group);
    assert_eq!(g.desired_capacity, 2);
    assert_eq!(g.instances.len(), 2);

    // Stop, start and reboot a member.
    let member = lab.asg_instance_ids[0].as_str();
    let on_member = |kind| act(ResourceKind::Instance, member, kind);
    run(&ctx, &on_member(ActionKind::StopInstance { group: None })).await;
    assert_eq!(state(&primary(&ctx).await, member), InstanceState::Stopped);
    run(&ctx, &on_member(ActionKind::StartInstance)).await;
    assert_eq!(state(&primary(&ctx).await, member), InstanceState::Running);
    run(&ctx, &on_member(ActionKind::RebootInstance)).await;
    assert_eq!(state(&primary(&ctx).await, member), InstanceState::Running);

    // An AMI of it and a snapshot of a volume: new, available, reported as resulting ids.
    let image = run(
        &ctx,
        &on_member(ActionKind::CreateImage {
            name: "haven-test-image".into(),
            no_reboot: true,
        }),
    )
    .await;
    let image_id = image.resulting_ids.first().expect("AMI id").clone();
    assert!(image_id.starts_with("ami-"));
    let snapshot = run(
        &ctx,
        &act(
            ResourceKind::Volume,
            &lab.snapshot_volume_id,
            ActionKind::CreateSnapshot {
                description: Some("haven test".into()),
            },
        ),
    )
    .await;
    let snapshot_id = snapshot.resulting_ids.first().expect("snapshot id").clone();
    let region = primary(&ctx).await;
    let found = region
        .images
        .iter()
        .find(|i| i.id == image_id)
        .expect("new AMI discovered");
    assert_eq!(found.name.as_deref(), Some("haven-test-image"));
    assert_eq!(found.state, "available");
    // B7: what `act` makes carries its source's Name (and haven:stack, when it has one).
    let member_name = region
        .instance(member)
        .and_then(|i| i.tags.get("Name"))
        .expect("lab members are named")
        .clone();
    assert_eq!(
        found.tags.get("Name"),
        Some(&member_name),
        "{:?}",
        found.tags
    );
    assert!(
        region.snapshots.iter().any(|s| s
            .description
            .as_deref()
            .is_some_and(|d| d.contains(&image_id))
            && s.tags.get("Name") == Some(&member_name)),
        "the AMI's snapshot is tagged too: {:?}",
        region.snapshots
    );
    let found = region
        .snapshots
        .iter()
        .find(|s| s.id == snapshot_id)
        .expect("new snapshot discovered");
    assert_eq!(found.state, "completed");
    assert_eq!(
        found.volume_id.as_deref(),
        Some(lab.snapshot_volume_id.as_str())
    );

    // A new launch template version: everything of v1 copied, the type changed, made default.
    let on_template = |kind| act(ResourceKind::LaunchTemplate, &lab.launch_template_id, kind);
    let created = run(
        &ctx,
        &on_template(ActionKind::CreateLaunchTemplateVersion {
            source_version: "1".into(),
            image_id: None,
            instance_type: Some("t3.small".into()),
            description: Some("v2: bigger".into()),
            set_default: true,
        }),
    )
    .await;
    assert_eq!(
        created.resulting_ids,
        [format!("{}:2", lab.launch_template_id)]
    );
    let region = primary(&ctx).await;
    let template = region
        .launch_templates
        .iter()
        .find(|t| t.id == lab.launch_template_id)
        .expect("template");
    assert_eq!(template.default_version, Some(2));
    let v1 = template
        .versions
        .iter()
        .find(|v| v.number == 1)
        .expect("v1");
    let v2 = template
        .versions
        .iter()
        .find(|v| v.number == 2)
        .expect("v2");
    assert_eq!(v2.instance_type.as_deref(), Some("t3.small"));
    assert_eq!(v2.image_id.as_deref(), Some(BASE_AMI));
    assert_eq!(v2.security_group_ids, v1.security_group_ids);
    assert_eq!(v2.iam_instance_profile, v1.iam_instance_profile);
    assert_eq!(v2.metadata_options, v1.metadata_options);
    assert!(v2.has_user_data);
    run(
        &ctx,
        &on_template(ActionKind::SetDefaultLaunchTemplateVersion { version: 1 }),
    )
    .await;
    let region = primary(&ctx).await;
    let template = region
        .launch_templates
        .iter()
        .find(|t| t.id == lab.launch_template_id)
        .expect("template");
    assert_eq!(template.default_version, Some(1));

    // Terminate an instance through EC2.
    let other = lab.asg_instance_ids[1].as_str();
    run(
        &ctx,
        &act(ResourceKind::Instance, other, ActionKind::TerminateInstance),
    )
    .await;
    assert_eq!(
        state(&primary(&ctx).await, other),
        InstanceState::Terminated
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn load_balancer_actions_and_the_az_drill() {
    let (moto, lab, ctx) = start().await;
    let tg = lab.target_group_arn.as_str();
    let on_tg = |kind| act(ResourceKind::TargetGroup, tg, kind);
    let health = |region: &RegionTopology, id: &str| {
        region
            .target_group(tg)
            .expect("target group")
            .targets
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.health)
    };
    let member = lab.asg_instance_ids[0].clone();

    run(
        &ctx,
        &on_tg(ActionKind::DeregisterTargets {
            instance_ids: vec![member.clone()],
        }),
    )
    .await;
    let region = primary(&ctx).await;
    assert!(
        health(&region, &member).is_none_or(|h| h == TargetHealthState::Unused),
        "{:?}",
        health(&region, &member)
    );
    run(
        &ctx,
        &on_tg(ActionKind::RegisterTargets {
            instance_ids: vec![member.clone()],
            port: None,
        }),
    )
    .await;
    assert_eq!(
        health(&primary(&ctx).await, &member),
        Some(TargetHealthState::Healthy)
    );

    run(
        &ctx,
        &on_tg(ActionKind::ModifyHealthCheck {
            change: HealthCheckChange {
                path: Some("/ready".into()),
                interval_seconds: Some(10),
                healthy_threshold: Some(2),
                matcher: Some("200-299".into()),
                ..HealthCheckChange::default()
            },
        }),
    )
    .await;
    let region = primary(&ctx).await;
    let check = &region.target_group(tg).expect("tg").health_check;
    assert_eq!(check.path.as_deref(), Some("/ready"));
    assert_eq!(check.interval_seconds, Some(10));
    assert_eq!(check.healthy_threshold, Some(2));
    assert_eq!(check.matcher.as_deref(), Some("200-299"));

    // Blue/green: a second target group, then 90/10 on the listener.
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&moto.sdk_config(PRIMARY).await);
    let green = elb
        .create_target_group()
        .name("lab-green-tg")
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(80)
        .vpc_id(&lab.vpc_id)
        .send()
        .await
        .expect("green target group");
    let green = green.target_groups()[0]
        .target_group_arn()
        .expect("arn")
        .to_string();
    run(
        &ctx,
        &act(
            ResourceKind::Listener,
            &lab.listener_arn,
            ActionKind::SetListenerWeights {
                target_groups: vec![
                    WeightedForward {
                        target_group_arn: tg.into(),
                        name: Some("blue".into()),
                        weight: 90,
                    },
                    WeightedForward {
                        target_group_arn: green.clone(),
                        name: Some("green".into()),
                        weight: 10,
                    },
                ],
            },
        ),
    )
    .await;
    let region = primary(&ctx).await;
    let listener = region
        .load_balancers
        .iter()
        .flat_map(|lb| &lb.listeners)
        .find(|l| l.arn == lab.listener_arn)
        .expect("listener");
    let ListenerAction::Forward { target_groups } = &listener.default_actions[0] else {
        panic!("not a forward: {:?}", listener.default_actions);
    };
    let weights: Vec<(&str, Option<i32>)> = target_groups
        .iter()
        .map(|t| (t.arn.as_str(), t.weight))
        .collect();
    assert_eq!(weights, [(tg, Some(90)), (green.as_str(), Some(10))]);

    // AZ loss drill: take AZ a out (moto put both members there) with AZRebalance suspended so
    // that they stay, then put it back. (moto never rebalances, so the variant where Auto
    // Scaling replaces the AZ's instances would wait for a replacement that never comes.)
    let az = "ap-northeast-2a";
    let remove = Action::remove_availability_zone(&region, &lab.asg_name, az, true).expect("drill");
    run(&ctx, &remove).await;
    let region = primary(&ctx).await;
    let g = asg(&region, &lab.asg_name);
    assert_eq!(g.subnet_ids, [lab.private_subnet_ids[1].clone()]);
    assert_eq!(g.suspended_processes, ["AZRebalance"]);
    assert_eq!(g.instances.len(), 2, "the AZ's instances keep running");
    for id in &lab.asg_instance_ids {
        assert_ne!(
            health(&region, id),
            Some(TargetHealthState::Healthy),
            "{id} still serves traffic"
        );
    }
    let restore =
        Action::restore_availability_zone(&region, &lab.asg_name, az, &[]).expect("restore");
    run(&ctx, &restore).await;
    let region = primary(&ctx).await;
    let g = asg(&region, &lab.asg_name);
    assert!(g.suspended_processes.is_empty(), "AZRebalance resumed");
    let mut subnets = g.subnet_ids.clone();
    subnets.sort();
    let mut expected = lab.private_subnet_ids.to_vec();
    expected.sort();
    assert_eq!(subnets, expected);
    for id in &lab.asg_instance_ids {
        assert_eq!(
            health(&region, id),
            Some(TargetHealthState::Healthy),
            "{id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rds_actions_reach_their_end_state() {
    let (moto, lab, ctx) = start().await;
    let db = lab.db_identifier.as_str();
    let on_db = |kind| act(ResourceKind::DbInstance, db, kind);

    // Reboot with failover: accepted and followed back to available (moto swaps no AZ).
    run(
        &ctx,
        &on_db(ActionKind::RebootDbInstance {
            force_failover: true,
        }),
    )
    .await;

    let snapshot = run(
        &ctx,
        &on_db(ActionKind::CreateDbSnapshot {
            snapshot_identifier: "haven-before-change".into(),
        }),
    )
    .await;
    assert_eq!(snapshot.resulting_ids, ["haven-before-change"]);

    run(
        &ctx,
        &on_db(ActionKind::ModifyDbInstanceClass {
            class: "db.t3.small".into(),
            apply_immediately: true,
            current: None,
        }),
    )
    .await;

    run(
        &ctx,
        &on_db(ActionKind::CreateReadReplica {
            replica_identifier: "lab-db-replica-2".into(),
            availability_zone: Some("ap-northeast-2a".into()),
            instance_class: None,
        }),
    )
    .await;

    let region = primary(&ctx).await;
    let find = |region: &RegionTopology, id: &str| {
        region
            .db_instances
            .iter()
            .find(|d| d.identifier == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} not discovered"))
    };
    let found = region
        .db_snapshots
        .iter()
        .find(|s| s.identifier == "haven-before-change")
        .expect("DB snapshot discovered");
    assert_eq!(found.status, "available");
    assert_eq!(found.instance_identifier.as_deref(), Some(db));
    assert_eq!(find(&region, db).class, "db.t3.small");
    let replica = find(&region, "lab-db-replica-2");
    assert_eq!(replica.read_replica_source.as_deref(), Some(db));
    assert_eq!(replica.status, "available");
    assert!(
        find(&region, db)
            .read_replica_identifiers
            .contains(&"lab-db-replica-2".to_string())
    );

    // Promote: done only once the instance is available and names no source. moto keeps the
    // replication link for good (see coverage.md); the realism layer ends it as AWS does.
    let proxy = Proxy::start(
        &moto.endpoint(),
        Faults::none().with_realism(Realism::aws()),
    )
    .expect("proxy");
    let through_realism = AwsContext::from_sdk_config(
        haven_testkit::sdk_config_for(&proxy.endpoint(), PRIMARY).await,
    );
    let promoted = run(
        &through_realism,
        &act(
            ResourceKind::DbInstance,
            "lab-db-replica-2",
            ActionKind::PromoteReadReplica,
        ),
    )
    .await;
    assert!(
        promoted
            .message
            .contains("lab-db-replica-2 is a standalone DB instance"),
        "{promoted:?}"
    );
    let sent: Vec<String> = proxy
        .requests()
        .iter()
        .filter(|r| r.action == "PromoteReadReplica")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(
        sent.len() == 1 && sent[0].contains("BackupRetentionPeriod="),
        "the new primary keeps backups: {sent:?}"
    );
    assert_eq!(
        find(&primary(&ctx).await, "lab-db-replica-2").status,
        "available"
    );

    // On bare moto the link never ends and the status never changes: after the unchanged grace
    // the promotion is reported as accepted, with what is odd about it, not waited for an hour.
    let bare = run(
        &ctx,
        &act(
            ResourceKind::DbInstance,
            "lab-db-replica-1",
            ActionKind::PromoteReadReplica,
        ),
    )
    .await;
    assert!(bare.message.contains("never changed status"), "{bare:?}");

    // Aurora: a cluster with a writer and a reader, failed over to the reader.
    let rds = aws_sdk_rds::Client::new(&moto.sdk_config(PRIMARY).await);
    rds.create_db_cluster()
        .db_cluster_identifier("haven-aurora")
        .engine("aurora-mysql")
        .engine_version("8.0.mysql_aurora.3.05.2")
        .master_username("admin")
        .manage_master_user_password(true)
        .send()
        .await
        .expect("cluster");
    for (id, az) in [
        ("haven-aurora-1", "ap-northeast-2a"),
        ("haven-aurora-2", "ap-northeast-2b"),
    ] {
        rds.create_db_instance()
            .db_instance_identifier(id)
            .db_cluster_identifier("haven-aurora")
            .engine("aurora-mysql")
            .db_instance_class("db.r6g.large")
            .availability_zone(az)
            .send()
            .await
            .expect("cluster member");
    }
    run(
        &ctx,
        &act(
            ResourceKind::DbCluster,
            "haven-aurora",
            ActionKind::FailoverDbCluster {
                target_instance: Some("haven-aurora-2".into()),
            },
        ),
    )
    .await;
    let region = primary(&ctx).await;
    let cluster = region
        .db_clusters
        .iter()
        .find(|c| c.identifier == "haven-aurora")
        .expect("cluster");
    let writer: Vec<&str> = cluster
        .members
        .iter()
        .filter(|m| m.is_writer)
        .map(|m| m.instance_identifier.as_str())
        .collect();
    assert_eq!(writer, ["haven-aurora-2"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_call_carries_the_aws_error_code() {
    let moto = MotoServer::start().expect("moto_server");
    let ctx = AwsContext::from_sdk_config(moto.sdk_config(PRIMARY).await);
    let action = act(
        ResourceKind::Instance,
        "i-00000000000000000",
        ActionKind::StopInstance { group: None },
    );
    let error = execute(&ctx, &action, &quick(), &|_| {})
        .await
        .expect_err("no such instance");
    assert_eq!(error.code(), Some("InvalidInstanceID.NotFound"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_refuses_every_mutating_action_before_any_request() {
    // Nothing listens behind the proxy: any request would be recorded (and fail as unreachable).
    let proxy = Proxy::start("http://127.0.0.1:9", Faults::none()).expect("proxy");
    let ctx = AwsContext::from_sdk_config(
        haven_testkit::sdk_config_for(&proxy.endpoint(), PRIMARY).await,
    );
    let options = ExecuteOptions {
        read_only: true,
        ..quick()
    };
    let actions = [
        act(ResourceKind::Instance, "i-1", ActionKind::TerminateInstance),
        act(
            ResourceKind::AutoScalingGroup,
            "lab-asg",
            ActionKind::SetCapacity {
                desired: Some(3),
                min: None,
                max: None,
                current: None,
            },
        ),
        act(
            ResourceKind::DbInstance,
            "lab-db",
            ActionKind::PromoteReadReplica,
        ),
        act(
            ResourceKind::DbInstance,
            "lab-db",
            ActionKind::CreateDbSnapshot {
                snapshot_identifier: "s".into(),
            },
        ),
    ];
    for action in &actions {
        assert!(action.is_mutating());
        let error = execute(&ctx, action, &options, &|_| {})
            .await
            .expect_err("refused");
        assert!(matches!(error, AwsError::ReadOnly { .. }), "{error:?}");
        assert!(error.to_string().contains("nothing was sent"), "{error}");
    }
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
}

#[tokio::test(flavor = "multi_thread")]
async fn c1_a_refresh_without_a_version_rolls_out_the_templates_default_version() {
    let moto = MotoServer::start().expect("moto_server");
    let lab = lab::build(&moto.endpoint()).await.expect("lab");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let ctx = AwsContext::from_sdk_config(
        haven_testkit::sdk_config_for(&proxy.endpoint(), PRIMARY).await,
    );
    // A new version made the default: the group stays pinned to version 1.
    run(
        &ctx,
        &act(
            ResourceKind::LaunchTemplate,
            &lab.launch_template_id,
            ActionKind::CreateLaunchTemplateVersion {
                source_version: "1".into(),
                image_id: None,
                instance_type: Some("t3.small".into()),
                description: Some("v2".into()),
                set_default: true,
            },
        ),
    )
    .await;
    let refresh = act(
        ResourceKind::AutoScalingGroup,
        &lab.asg_name,
        ActionKind::StartInstanceRefresh {
            min_healthy_percentage: Some(90),
            instance_warmup_seconds: None,
            version: None,
        },
    );
    // moto does not implement instance refresh (HTTP 500): only the request is checked.
    let _ = execute(&ctx, &refresh, &quick(), &|_| {}).await;
    let requests = proxy.requests();
    let sent = requests
        .iter()
        .find(|r| r.action == "StartInstanceRefresh")
        .expect("the refresh was sent");
    let body = String::from_utf8_lossy(&sent.body);
    for expected in [
        format!(
            "DesiredConfiguration.LaunchTemplate.LaunchTemplateId={}",
            lab.launch_template_id
        ),
        "DesiredConfiguration.LaunchTemplate.Version=2".to_string(),
        "Preferences.SkipMatching=true".to_string(),
        "Preferences.MinHealthyPercentage=90".to_string(),
    ] {
        assert!(body.contains(&expected), "{expected} in {body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn c4_a_member_goes_to_standby_and_back_without_being_replaced() {
    let (_moto, lab, ctx) = start().await;
    let member = lab.asg_instance_ids[0].as_str();
    let on_member = |kind| act(ResourceKind::Instance, member, kind);
    // The lab's group is at its min (2): lowering the desired capacity is refused unsent.
    let error = execute(
        &ctx,
        &on_member(ActionKind::EnterStandby {
            group: None,
            keep_capacity: false,
        }),
        &quick(),
        &|_| {},
    )
    .await
    .expect_err("at its min");
    assert!(
        error.to_string().contains("not sent") && error.to_string().contains("--keep-capacity"),
        "{error}"
    );
    run(
        &ctx,
        &on_member(ActionKind::EnterStandby {
            group: None,
            keep_capacity: true,
        }),
    )
    .await;
    let region = primary(&ctx).await;
    let g = asg(&region, &lab.asg_name);
    let state = |g: &haven_model::AutoScalingGroup| {
        g.instances
            .iter()
            .find(|m| m.instance_id == member)
            .map(|m| m.lifecycle_state.clone())
    };
    assert_eq!(state(g).as_deref(), Some("Standby"));
    // Stopping it now is not destructive: Auto Scaling does not health-check standby members.
    let stop =
        haven_model::action::applicable(&region, &ResourceRef::new(ResourceKind::Instance, member));
    assert!(
        stop.iter()
            .any(|t| t.name == "instance-stop" && t.risk == haven_model::action::Risk::Disruptive),
        "{stop:?}"
    );
    run(
        &ctx,
        &on_member(ActionKind::ExitStandby {
            group: Some(lab.asg_name.clone()),
        }),
    )
    .await;
    let region = primary(&ctx).await;
    assert_eq!(
        state(asg(&region, &lab.asg_name)).as_deref(),
        Some("InService")
    );
}
