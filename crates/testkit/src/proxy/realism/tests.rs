//! Each behaviour driven with the real AWS SDK through the proxy to moto.

use super::*;
use crate::lab::{BASE_AMI, DR, PRIMARY};
use crate::proxy::{Faults, Proxy};
use crate::{MotoServer, sdk_config_for};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, LaunchTemplateIamInstanceProfileSpecificationRequest,
    RequestLaunchTemplateData,
};

struct Aws {
    _moto: MotoServer,
    proxy: Proxy,
    ec2: aws_sdk_ec2::Client,
    iam: aws_sdk_iam::Client,
    asg: aws_sdk_autoscaling::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
    rds: aws_sdk_rds::Client,
}

async fn aws(realism: Realism) -> Aws {
    let moto = MotoServer::start().expect("moto_server starts");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none().with_realism(realism))
        .expect("proxy starts")
        .not_haven();
    let config = sdk_config_for(&proxy.endpoint(), PRIMARY).await;
    Aws {
        ec2: aws_sdk_ec2::Client::new(&config),
        iam: aws_sdk_iam::Client::new(&config),
        asg: aws_sdk_autoscaling::Client::new(&config),
        elb: aws_sdk_elasticloadbalancingv2::Client::new(&config),
        rds: aws_sdk_rds::Client::new(&config),
        _moto: moto,
        proxy,
    }
}

fn count(proxy: &Proxy, kind: RealismKind) -> usize {
    proxy
        .realism_events()
        .iter()
        .filter(|e| e.kind == kind)
        .count()
}

/// Realism without the `*.NotFound` window, for tests of other behaviours.
fn settled() -> Realism {
    Realism {
        not_found_window: Duration::ZERO,
        ..Realism::aws()
    }
}

fn template_data(profile: Option<&str>) -> RequestLaunchTemplateData {
    let data = RequestLaunchTemplateData::builder()
        .image_id(BASE_AMI)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro);
    match profile {
        Some(name) => data
            .iam_instance_profile(
                LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                    .name(name)
                    .build(),
            )
            .build(),
        None => data.build(),
    }
}

#[test]
fn realism_is_off_by_default_and_scales_time() {
    assert_eq!(Faults::none().realism, None);
    let realism = Realism::aws()
        .failing_launches(INSUFFICIENT_CAPACITY)
        .failing_copies()
        .silent_region(PRIMARY);
    assert_eq!(realism.scaled(realism.rds_create), Duration::from_secs(1));
    assert!(realism.failing_copies);
    assert!(realism.silences(PRIMARY, "sts") && realism.silences(PRIMARY, "ec2"));
    assert!(
        !realism.silences(PRIMARY, "iam"),
        "IAM is global: silent with us-east-1 only"
    );
    assert!(Realism::aws().silent_region(DR).silences(DR, "iam"));
    assert!(!realism.silences(DR, "ec2"));
    assert_eq!(
        timestamp(UNIX_EPOCH + Duration::from_secs(1_795_999_999)),
        "2026-11-30T00:53:19Z"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_client_tokens_are_bound_to_their_parameters() {
    let aws = aws(settled()).await;
    let create = |name: &str, token: &str| {
        aws.ec2
            .create_launch_template()
            .launch_template_name(name)
            .client_token(token)
            .launch_template_data(template_data(None))
            .send()
    };
    let first = create("web", "token-1").await.expect("first create");
    let id = first
        .launch_template()
        .and_then(|t| t.launch_template_id())
        .expect("id")
        .to_owned();

    // The same token and parameters: the first answer again, and moto is not asked.
    let again = create("web", "token-1").await.expect("a retry succeeds");
    assert_eq!(
        again.launch_template().and_then(|t| t.launch_template_id()),
        Some(id.as_str())
    );
    assert!(aws.proxy.requests().last().expect("recorded").injected);

    // The same token with other parameters: IdempotentParameterMismatch, nothing created.
    let error = create("web-2", "token-1")
        .await
        .expect_err("another name under the same token");
    assert_eq!(error.code(), Some("IdempotentParameterMismatch"));
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(400));

    // Deleted since: the same token still gives the first (gone) template back.
    aws.ec2
        .delete_launch_template()
        .launch_template_name("web")
        .send()
        .await
        .expect("delete");
    let replayed = create("web", "token-1").await.expect("replayed");
    assert_eq!(
        replayed
            .launch_template()
            .and_then(|t| t.launch_template_id()),
        Some(id.as_str())
    );
    let listed = aws
        .ec2
        .describe_launch_templates()
        .send()
        .await
        .expect("describe");
    assert!(listed.launch_templates().is_empty(), "nothing re-created");

    // Another token is a new request.
    create("web", "token-2").await.expect("a new token creates");
    assert_eq!(count(&aws.proxy, RealismKind::TokenReplayed), 2);
    assert_eq!(count(&aws.proxy, RealismKind::TokenMismatch), 1);

    // After a reset of what realism learned (as after a moto reset), the token is new again.
    aws.proxy.reset_realism();
    let fresh = create("other", "token-1").await.expect("a forgotten token");
    assert_ne!(
        fresh.launch_template().and_then(|t| t.launch_template_id()),
        Some(id.as_str())
    );
    assert_eq!(
        count(&aws.proxy, RealismKind::TokenMismatch),
        1,
        "events are kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_instance_profile_is_refused_until_iam_has_propagated_it() {
    let aws = aws(Realism {
        iam_propagation: Duration::from_secs(2),
        ..settled()
    })
    .await;
    aws.iam
        .create_role()
        .role_name("AppRole")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .expect("role");
    aws.iam
        .create_instance_profile()
        .instance_profile_name("AppProfile")
        .send()
        .await
        .expect("profile");
    aws.iam
        .add_role_to_instance_profile()
        .instance_profile_name("AppProfile")
        .role_name("AppRole")
        .send()
        .await
        .expect("add role");
    let template = aws
        .ec2
        .create_launch_template()
        .launch_template_name("app")
        .launch_template_data(template_data(Some("AppProfile")))
        .send()
        .await
        .expect("a launch template accepts any profile name");
    let template_id = template
        .launch_template()
        .and_then(|t| t.launch_template_id())
        .expect("id")
        .to_owned();
    let create_group = || {
        aws.asg
            .create_auto_scaling_group()
            .auto_scaling_group_name("app")
            .launch_template(
                aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                    .launch_template_id(&template_id)
                    .version("1")
                    .build(),
            )
            .availability_zones("ap-northeast-2a")
            .min_size(1)
            .max_size(2)
            .send()
    };
    let error = create_group()
        .await
        .expect_err("profile not propagated yet");
    assert_eq!(error.code(), Some("ValidationError"));
    assert_eq!(
        error.message(),
        Some(
            "You must use a valid fully-formed launch template. Value (AppProfile) for parameter \
             iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"
        )
    );
    let run = aws
        .ec2
        .run_instances()
        .image_id(BASE_AMI)
        .min_count(1)
        .max_count(1)
        .iam_instance_profile(
            aws_sdk_ec2::types::IamInstanceProfileSpecification::builder()
                .arn("arn:aws:iam::123456789012:instance-profile/AppProfile")
                .build(),
        )
        .send()
        .await
        .expect_err("RunInstances too");
    assert_eq!(run.code(), Some("InvalidParameterValue"));
    assert!(
        run.message()
            .is_some_and(|m| m.contains("Invalid IAM Instance Profile name")),
        "{run:?}"
    );

    tokio::time::sleep(Duration::from_millis(2100)).await;
    create_group()
        .await
        .expect("accepted once IAM has propagated");
    assert_eq!(count(&aws.proxy, RealismKind::ProfileNotReady), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_just_created_are_not_found_by_the_first_request_naming_them() {
    let aws = aws(Realism::aws()).await;
    let vpc_id = |out: aws_sdk_ec2::operation::create_vpc::CreateVpcOutput| {
        out.vpc()
            .and_then(|v| v.vpc_id())
            .expect("vpc id")
            .to_owned()
    };
    let modify = |vpc: String| {
        aws.ec2
            .modify_vpc_attribute()
            .vpc_id(vpc)
            .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build())
            .send()
    };
    let vpc = vpc_id(
        aws.ec2
            .create_vpc()
            .cidr_block("10.1.0.0/16")
            .send()
            .await
            .expect("vpc"),
    );
    let error = modify(vpc.clone()).await.expect_err("not propagated yet");
    assert_eq!(error.code(), Some("InvalidVpcID.NotFound"));
    assert_eq!(
        error.message(),
        Some(format!("The vpc ID '{vpc}' does not exist").as_str())
    );
    modify(vpc.clone())
        .await
        .expect("the next request finds it");

    // A security group named in a rule right after its creation.
    let group = aws
        .ec2
        .create_security_group()
        .group_name("app")
        .description("app")
        .vpc_id(&vpc)
        .send()
        .await
        .expect("group")
        .group_id()
        .expect("group id")
        .to_owned();
    let error = aws
        .ec2
        .describe_security_groups()
        .group_ids(&group)
        .send()
        .await
        .expect_err("not propagated yet");
    assert_eq!(error.code(), Some("InvalidGroup.NotFound"));

    // After the window, the first request finds it.
    let late = vpc_id(
        aws.ec2
            .create_vpc()
            .cidr_block("10.2.0.0/16")
            .send()
            .await
            .expect("vpc"),
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    modify(late).await.expect("propagated by now");
    assert_eq!(count(&aws.proxy, RealismKind::NotFoundWindow), 2);
}

async fn db_status(rds: &aws_sdk_rds::Client, id: &str) -> Option<aws_sdk_rds::types::DbInstance> {
    match rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
    {
        Ok(out) => out.db_instances().first().cloned(),
        Err(error) => {
            assert_eq!(error.code(), Some("DBInstanceNotFound"), "{error:?}");
            None
        }
    }
}

/// Polls until the instance has `wanted` status (`None`: gone), collecting the statuses seen.
async fn wait_db(rds: &aws_sdk_rds::Client, id: &str, wanted: Option<&str>) -> Vec<String> {
    let started = Instant::now();
    let mut seen: Vec<String> = Vec::new();
    loop {
        let db = db_status(rds, id).await;
        let status = db
            .as_ref()
            .and_then(|d| d.db_instance_status())
            .map(str::to_owned);
        if seen.last() != status.as_ref()
            && let Some(status) = &status
        {
            seen.push(status.clone());
        }
        if status.as_deref() == wanted {
            return seen;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{id} never reached {wanted:?}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rds_goes_through_its_lifecycle_and_refuses_calls_meanwhile() {
    let aws = aws(settled()).await;
    let rds = &aws.rds;
    let created = rds
        .create_db_instance()
        .db_instance_identifier("db")
        .engine("mysql")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("secret-password-1")
        .backup_retention_period(1)
        .send()
        .await
        .expect("create");
    assert_eq!(
        created.db_instance().and_then(|d| d.db_instance_status()),
        Some("creating")
    );
    let refused = rds
        .modify_db_instance()
        .db_instance_identifier("db")
        .db_instance_class("db.t3.small")
        .apply_immediately(true)
        .send()
        .await
        .expect_err("creating");
    assert_eq!(refused.code(), Some("InvalidDBInstanceState"));
    let refused = rds
        .create_db_snapshot()
        .db_instance_identifier("db")
        .db_snapshot_identifier("early")
        .send()
        .await
        .expect_err("creating");
    assert_eq!(refused.code(), Some("InvalidDBInstanceState"));
    assert_eq!(
        wait_db(rds, "db", Some("available")).await,
        ["creating", "backing-up", "available"]
    );

    // A reboot and a modification each take their time.
    rds.reboot_db_instance()
        .db_instance_identifier("db")
        .send()
        .await
        .expect("reboot");
    assert_eq!(
        wait_db(rds, "db", Some("available")).await,
        ["rebooting", "available"]
    );
    let modified = rds
        .modify_db_instance()
        .db_instance_identifier("db")
        .allocated_storage(30)
        .apply_immediately(true)
        .send()
        .await
        .expect("modify");
    assert_eq!(
        modified.db_instance().and_then(|d| d.db_instance_status()),
        Some("modifying")
    );
    wait_db(rds, "db", Some("available")).await;

    // A replica, promoted: `modifying`, and then the replication link is gone on both sides.
    rds.create_db_instance_read_replica()
        .db_instance_identifier("replica")
        .source_db_instance_identifier("db")
        .send()
        .await
        .expect("replica");
    let refused = rds
        .promote_read_replica()
        .db_instance_identifier("replica")
        .send()
        .await
        .expect_err("still creating");
    assert_eq!(refused.code(), Some("InvalidDBInstanceState"));
    wait_db(rds, "replica", Some("available")).await;
    rds.promote_read_replica()
        .db_instance_identifier("replica")
        .send()
        .await
        .expect("promote");
    let during = db_status(rds, "replica").await.expect("replica");
    assert_eq!(during.db_instance_status(), Some("modifying"));
    assert_eq!(
        during.read_replica_source_db_instance_identifier(),
        Some("db")
    );
    wait_db(rds, "replica", Some("available")).await;
    let promoted = db_status(rds, "replica").await.expect("promoted");
    assert_eq!(promoted.read_replica_source_db_instance_identifier(), None);
    let source = db_status(rds, "db").await.expect("source");
    assert!(
        source.read_replica_db_instance_identifiers().is_empty(),
        "{source:?}"
    );
    assert!(count(&aws.proxy, RealismKind::LinkEnded) >= 2);

    // A read replica is deleted without a final snapshot: AWS refuses one, moto does not.
    rds.create_db_instance_read_replica()
        .db_instance_identifier("replica-2")
        .source_db_instance_identifier("db")
        .send()
        .await
        .expect("second replica");
    wait_db(rds, "replica-2", Some("available")).await;
    let refused = rds
        .delete_db_instance()
        .db_instance_identifier("replica-2")
        .final_db_snapshot_identifier("replica-2-final")
        .send()
        .await
        .expect_err("no final snapshot of a replica");
    assert_eq!(refused.code(), Some("InvalidParameterCombination"));
    rds.delete_db_instance()
        .db_instance_identifier("replica-2")
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("delete the replica");
    wait_db(rds, "replica-2", None).await;

    // Delete: the proxy answers `deleting`, a second delete is refused, moto deletes it later
    // and makes the final snapshot.
    let deleted = rds
        .delete_db_instance()
        .db_instance_identifier("db")
        .final_db_snapshot_identifier("db-final")
        .send()
        .await
        .expect("delete");
    assert_eq!(
        deleted.db_instance().and_then(|d| d.db_instance_status()),
        Some("deleting")
    );
    let refused = rds
        .delete_db_instance()
        .db_instance_identifier("db")
        .skip_final_snapshot(true)
        .send()
        .await
        .expect_err("already deleting");
    assert_eq!(refused.code(), Some("InvalidDBInstanceState"));
    assert_eq!(
        refused.message(),
        Some("Instance db is already being deleted.")
    );
    assert_eq!(wait_db(rds, "db", None).await, ["deleting"]);
    let snapshots = rds
        .describe_db_snapshots()
        .db_snapshot_identifier("db-final")
        .send()
        .await
        .expect("the final snapshot exists");
    assert_eq!(snapshots.db_snapshots().len(), 1);
    assert_eq!(count(&aws.proxy, RealismKind::DeleteDeferred), 2);
    assert_eq!(count(&aws.proxy, RealismKind::DeleteReplayed), 2);
    assert!(count(&aws.proxy, RealismKind::InvalidState) >= 4);
}

/// A VPC with one subnet in ap-northeast-2a: (vpc, subnet).
async fn network(ec2: &aws_sdk_ec2::Client) -> (String, String) {
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .expect("vpc")
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_owned();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.0.0.0/24")
        .availability_zone("ap-northeast-2a")
        .send()
        .await
        .expect("subnet")
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("subnet id")
        .to_owned();
    (vpc, subnet)
}

async fn nat_state(ec2: &aws_sdk_ec2::Client, id: &str) -> String {
    ec2.describe_nat_gateways()
        .nat_gateway_ids(id)
        .send()
        .await
        .expect("describe NAT")
        .nat_gateways()
        .first()
        .and_then(|n| n.state())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nat_gateways_are_pending_after_create_and_deleting_after_delete() {
    // 1/300: pending for 600 ms, deleting for 1 s.
    let aws = aws(settled().with_time_scale(1.0 / 300.0)).await;
    let (_, subnet) = network(&aws.ec2).await;
    let allocation = aws
        .ec2
        .allocate_address()
        .domain(aws_sdk_ec2::types::DomainType::Vpc)
        .send()
        .await
        .expect("EIP")
        .allocation_id()
        .expect("allocation")
        .to_owned();
    let created = aws
        .ec2
        .create_nat_gateway()
        .subnet_id(&subnet)
        .allocation_id(&allocation)
        .send()
        .await
        .expect("NAT");
    let nat = created.nat_gateway().expect("NAT");
    assert_eq!(nat.state().map(|s| s.as_str()), Some("pending"));
    let id = nat.nat_gateway_id().expect("id").to_owned();
    assert_eq!(nat_state(&aws.ec2, &id).await, "pending");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(nat_state(&aws.ec2, &id).await, "available");

    aws.ec2
        .delete_nat_gateway()
        .nat_gateway_id(&id)
        .send()
        .await
        .expect("delete");
    assert_eq!(nat_state(&aws.ec2, &id).await, "deleting");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(nat_state(&aws.ec2, &id).await, "deleted");
    assert!(count(&aws.proxy, RealismKind::StateRewritten) >= 3);
}

/// `(state, reason)` of each target of the group.
async fn target_health(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    group: &str,
) -> Vec<(String, String, Option<String>)> {
    elb.describe_target_health()
        .target_group_arn(group)
        .send()
        .await
        .expect("target health")
        .target_health_descriptions()
        .iter()
        .map(|d| {
            let health = d.target_health();
            (
                d.target()
                    .and_then(|t| t.id())
                    .unwrap_or_default()
                    .to_owned(),
                health
                    .and_then(|h| h.state())
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                health
                    .and_then(|h| h.reason())
                    .map(|r| r.as_str().to_owned()),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_are_initial_then_healthy_and_draining_for_the_deregistration_delay() {
    // 1/30: healthy threshold 3 × interval 10 s is 1 s, a 60 s delay is 2 s.
    let aws = aws(settled().with_time_scale(1.0 / 30.0)).await;
    let (vpc, subnet) = network(&aws.ec2).await;
    let group = aws
        .elb
        .create_target_group()
        .name("web")
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(80)
        .vpc_id(&vpc)
        .health_check_interval_seconds(10)
        .healthy_threshold_count(3)
        .send()
        .await
        .expect("target group")
        .target_groups()
        .first()
        .and_then(|g| g.target_group_arn())
        .expect("ARN")
        .to_owned();
    aws.elb
        .modify_target_group_attributes()
        .target_group_arn(&group)
        .attributes(
            aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("60")
                .build(),
        )
        .send()
        .await
        .expect("attributes");
    let instance = aws
        .ec2
        .run_instances()
        .image_id(BASE_AMI)
        .subnet_id(&subnet)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .expect("instance")
        .instances()
        .first()
        .and_then(|i| i.instance_id())
        .expect("id")
        .to_owned();
    let target = aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
        .id(&instance)
        .port(80)
        .build();
    aws.elb
        .register_targets()
        .target_group_arn(&group)
        .targets(target.clone())
        .send()
        .await
        .expect("register");
    assert_eq!(
        target_health(&aws.elb, &group).await,
        [(
            instance.clone(),
            "initial".to_owned(),
            Some("Elb.RegistrationInProgress".to_owned())
        )]
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let healthy = target_health(&aws.elb, &group).await;
    assert_eq!(healthy.len(), 1);
    assert_ne!(
        healthy[0].1, "initial",
        "moto's own state after the threshold"
    );

    aws.elb
        .deregister_targets()
        .target_group_arn(&group)
        .targets(target)
        .send()
        .await
        .expect("deregister");
    assert_eq!(
        target_health(&aws.elb, &group).await,
        [(
            instance,
            "draining".to_owned(),
            Some("Target.DeregistrationInProgress".to_owned())
        )]
    );
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(target_health(&aws.elb, &group).await, []);
}

/// An AMI of a broken version (moto does not check that images exist).
const BROKEN_AMI: &str = "ami-0b0ken0000000001";

/// A target group with healthy threshold 3 × interval 10 s: (VPC, subnet, group ARN).
async fn checked_target_group(aws: &Aws, name: &str) -> (String, String, String) {
    let (vpc, subnet) = network(&aws.ec2).await;
    let group = aws
        .elb
        .create_target_group()
        .name(name)
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(80)
        .vpc_id(&vpc)
        .health_check_interval_seconds(10)
        .healthy_threshold_count(3)
        .send()
        .await
        .expect("target group")
        .target_groups()
        .first()
        .and_then(|g| g.target_group_arn())
        .expect("ARN")
        .to_owned();
    (vpc, subnet, group)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_of_a_broken_image_fail_their_health_checks_forever() {
    // 1/30: the initial window (3 × 10 s) is 1 s.
    let aws = aws(settled()
        .with_time_scale(1.0 / 30.0)
        .unhealthy_image(BROKEN_AMI))
    .await;
    let (_, subnet, group) = checked_target_group(&aws, "green").await;
    let launch = |image: &'static str| {
        aws.ec2
            .run_instances()
            .image_id(image)
            .subnet_id(&subnet)
            .min_count(1)
            .max_count(1)
            .send()
    };
    let id = |answer: aws_sdk_ec2::operation::run_instances::RunInstancesOutput| {
        answer.instances()[0]
            .instance_id()
            .expect("instance id")
            .to_owned()
    };
    let good = id(launch(BASE_AMI).await.expect("good instance"));
    let broken = id(launch(BROKEN_AMI).await.expect("broken instance"));
    for instance in [&good, &broken] {
        aws.elb
            .register_targets()
            .target_group_arn(&group)
            .targets(
                aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                    .id(instance)
                    .port(80)
                    .build(),
            )
            .send()
            .await
            .expect("register");
    }
    let initial = || {
        (
            "initial".to_owned(),
            Some("Elb.RegistrationInProgress".to_owned()),
        )
    };
    let unhealthy = || {
        (
            "unhealthy".to_owned(),
            Some("Target.FailedHealthChecks".to_owned()),
        )
    };
    let states = |health: Vec<(String, String, Option<String>)>, id: &str| {
        health
            .into_iter()
            .find(|(target, _, _)| target == id)
            .map(|(_, state, reason)| (state, reason))
            .expect("listed")
    };
    let health = target_health(&aws.elb, &group).await;
    assert_eq!(states(health.clone(), &good), initial());
    assert_eq!(
        states(health, &broken),
        initial(),
        "new targets are initial first"
    );

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let health = target_health(&aws.elb, &group).await;
    assert_eq!(states(health.clone(), &good), ("healthy".to_owned(), None));
    assert_eq!(states(health, &broken), unhealthy());
    let description = aws
        .elb
        .describe_target_health()
        .target_group_arn(&group)
        .targets(
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id(&broken)
                .build(),
        )
        .send()
        .await
        .expect("target health")
        .target_health_descriptions()[0]
        .target_health()
        .and_then(|h| h.description())
        .map(str::to_owned);
    assert_eq!(description.as_deref(), Some("Health checks failed"));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        states(target_health(&aws.elb, &group).await, &broken),
        unhealthy(),
        "forever"
    );
    assert!(count(&aws.proxy, RealismKind::StateRewritten) >= 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_scaling_instance_is_initial_until_its_image_is_known() {
    let aws = aws(settled()
        .with_time_scale(1.0 / 30.0)
        .unhealthy_image(BROKEN_AMI))
    .await;
    let (_, subnet, group) = checked_target_group(&aws, "green").await;
    aws.ec2
        .create_launch_template()
        .launch_template_name("green")
        .launch_template_data(
            RequestLaunchTemplateData::builder()
                .image_id(BROKEN_AMI)
                .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                .build(),
        )
        .send()
        .await
        .expect("template");
    aws.asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("green")
        .launch_template(
            aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                .launch_template_name("green")
                .version("1")
                .build(),
        )
        .vpc_zone_identifier(&subnet)
        .target_group_arns(&group)
        .min_size(1)
        .max_size(2)
        .desired_capacity(1)
        .send()
        .await
        .expect("group");
    // moto registered the instance itself: no RunInstances passed the proxy.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let [(instance, state, reason)] = &target_health(&aws.elb, &group).await[..] else {
        panic!("one target");
    };
    assert_eq!(
        (state.as_str(), reason.as_deref()),
        ("initial", Some("Elb.RegistrationInProgress")),
        "its image is not known yet: not healthy"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(target_health(&aws.elb, &group).await[0].1, "initial");

    aws.ec2
        .describe_instances()
        .instance_ids(instance)
        .send()
        .await
        .expect("describe instances");
    assert_eq!(
        target_health(&aws.elb, &group).await,
        [(
            instance.clone(),
            "unhealthy".to_owned(),
            Some("Target.FailedHealthChecks".to_owned())
        )]
    );
}

/// `(instance, launch template version)` of each member of a group.
async fn members(asg: &aws_sdk_autoscaling::Client, name: &str) -> Vec<(String, String)> {
    let groups = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(name)
        .send()
        .await
        .expect("describe group");
    groups.auto_scaling_groups()[0]
        .instances()
        .iter()
        .map(|i| {
            (
                i.instance_id().unwrap_or_default().to_owned(),
                i.launch_template()
                    .and_then(|t| t.version())
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

fn state_of(health: &[(String, String, Option<String>)], id: &str) -> Option<String> {
    health
        .iter()
        .find(|(target, _, _)| target == id)
        .map(|(_, state, _)| state.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_report_their_launch_version_and_leave_the_target_group_with_their_group() {
    // 1/30: initial for 1 s (3 × 10 s), draining for 2 s (60 s).
    let aws = aws(settled().with_time_scale(1.0 / 30.0)).await;
    let (_, subnet, target_group) = checked_target_group(&aws, "web").await;
    aws.elb
        .modify_target_group_attributes()
        .target_group_arn(&target_group)
        .attributes(
            aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("60")
                .build(),
        )
        .send()
        .await
        .expect("attributes");
    aws.ec2
        .create_launch_template()
        .launch_template_name("web")
        .launch_template_data(template_data(None))
        .send()
        .await
        .expect("template");
    aws.ec2
        .create_launch_template_version()
        .launch_template_name("web")
        .launch_template_data(
            RequestLaunchTemplateData::builder()
                .image_id(BROKEN_AMI)
                .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                .build(),
        )
        .send()
        .await
        .expect("version 2");
    let template = |version: &str| {
        aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
            .launch_template_name("web")
            .version(version)
            .build()
    };
    aws.asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("web")
        .launch_template(template("1"))
        .vpc_zone_identifier(&subnet)
        .target_group_arns(&target_group)
        .min_size(1)
        .max_size(4)
        .desired_capacity(2)
        .send()
        .await
        .expect("group");
    let old = members(&aws.asg, "web").await;
    assert_eq!(old.len(), 2);
    assert!(old.iter().all(|(_, version)| version == "1"), "{old:?}");

    // Pointed at version 2, the group launches on it; moto would say 1 (the default) for all.
    aws.asg
        .update_auto_scaling_group()
        .auto_scaling_group_name("web")
        .launch_template(template("2"))
        .desired_capacity(3)
        .send()
        .await
        .expect("update");
    let now = members(&aws.asg, "web").await;
    let new: Vec<&(String, String)> = now.iter().filter(|m| !old.contains(m)).collect();
    assert_eq!(new.len(), 1, "{now:?}");
    assert_eq!(new[0].1, "2");
    assert_eq!(
        now.iter().filter(|(_, v)| v == "1").count(),
        2,
        "the old ones keep 1"
    );

    // Terminated in the group: deregistered (draining), not healthy; its replacement is on 2.
    let victim = old[0].0.clone();
    aws.asg
        .terminate_instance_in_auto_scaling_group()
        .instance_id(&victim)
        .should_decrement_desired_capacity(false)
        .send()
        .await
        .expect("terminate");
    let health = target_health(&aws.elb, &target_group).await;
    assert_eq!(
        state_of(&health, &victim).as_deref(),
        Some("draining"),
        "{health:?}"
    );
    let after = members(&aws.asg, "web").await;
    assert_eq!(after.len(), 3);
    assert!(!after.iter().any(|(id, _)| *id == victim));
    assert_eq!(
        after.iter().filter(|(_, v)| v == "2").count(),
        2,
        "{after:?}"
    );

    // Scaled in: whatever left is draining too; none of them is ever healthy again.
    aws.asg
        .set_desired_capacity()
        .auto_scaling_group_name("web")
        .desired_capacity(1)
        .send()
        .await
        .expect("scale in");
    let kept = members(&aws.asg, "web").await;
    assert_eq!(kept.len(), 1);
    let health = target_health(&aws.elb, &target_group).await;
    for (id, _) in after.iter().filter(|m| !kept.contains(m)) {
        assert_eq!(
            state_of(&health, id).as_deref(),
            Some("draining"),
            "{health:?}"
        );
    }
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let health = target_health(&aws.elb, &target_group).await;
    assert_eq!(
        health
            .iter()
            .map(|(id, _, _)| id.clone())
            .collect::<Vec<_>>(),
        [kept[0].0.clone()],
        "only the member is left: {health:?}"
    );

    // Deleted with its instances: its last member leaves the target group too.
    aws.asg
        .delete_auto_scaling_group()
        .auto_scaling_group_name("web")
        .force_delete(true)
        .send()
        .await
        .expect("delete");
    let health = target_health(&aws.elb, &target_group).await;
    assert_eq!(state_of(&health, &kept[0].0).as_deref(), Some("draining"));
    assert!(count(&aws.proxy, RealismKind::TargetLeft) >= 4);

    // A group on $Latest: its instances say so.
    aws.asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("latest")
        .launch_template(template("$Latest"))
        .vpc_zone_identifier(&subnet)
        .min_size(1)
        .max_size(1)
        .desired_capacity(1)
        .send()
        .await
        .expect("group on $Latest");
    assert_eq!(members(&aws.asg, "latest").await[0].1, "$Latest");
    // The proxy's own describes are not haven's calls.
    assert!(
        aws.proxy
            .requests()
            .iter()
            .all(|r| r.action != "DeregisterTargets")
    );
}

/// `(instance, AZ)` of each member of a group, and its subnets and minimum size as listed.
async fn placement(
    asg: &aws_sdk_autoscaling::Client,
    name: &str,
) -> (Vec<(String, String)>, String, i32) {
    let groups = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(name)
        .send()
        .await
        .expect("describe group");
    let group = &groups.auto_scaling_groups()[0];
    let members = group
        .instances()
        .iter()
        .map(|i| {
            (
                i.instance_id().unwrap_or_default().to_owned(),
                i.availability_zone().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (
        members,
        group.vpc_zone_identifier().unwrap_or_default().to_owned(),
        group.min_size().unwrap_or_default(),
    )
}

fn per_az(members: &[(String, String)]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (_, az) in members {
        *counts.entry(az.clone()).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launches_spread_over_the_group_s_azs() {
    let aws = aws(settled().spread_launches()).await;
    let (vpc, subnet_a, target_group) = checked_target_group(&aws, "web").await;
    let subnet_b = aws
        .ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.0.1.0/24")
        .availability_zone("ap-northeast-2b")
        .send()
        .await
        .expect("subnet b")
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("subnet id")
        .to_owned();
    aws.ec2
        .create_launch_template()
        .launch_template_name("web")
        .launch_template_data(template_data(None))
        .send()
        .await
        .expect("template");
    let zones = format!("{subnet_a},{subnet_b}");
    aws.asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("web")
        .launch_template(
            aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                .launch_template_name("web")
                .version("1")
                .build(),
        )
        .vpc_zone_identifier(&zones)
        .target_group_arns(&target_group)
        .min_size(2)
        .max_size(6)
        .desired_capacity(2)
        .send()
        .await
        .expect("group");
    let a = || "ap-northeast-2a".to_owned();
    let b = || "ap-northeast-2b".to_owned();
    let (members, listed_zones, min) = placement(&aws.asg, "web").await;
    assert_eq!(per_az(&members), BTreeMap::from([(a(), 1), (b(), 1)]));
    assert_eq!(
        (listed_zones.as_str(), min),
        (zones.as_str(), 2),
        "as created"
    );

    aws.asg
        .set_desired_capacity()
        .auto_scaling_group_name("web")
        .desired_capacity(4)
        .send()
        .await
        .expect("raise");
    let (members, listed_zones, _) = placement(&aws.asg, "web").await;
    assert_eq!(per_az(&members), BTreeMap::from([(a(), 2), (b(), 2)]));
    assert_eq!(listed_zones, zones);

    // A replacement goes where its instance was: the AZ now short of one.
    let in_b = members
        .iter()
        .find(|(_, az)| *az == b())
        .map(|(id, _)| id.clone())
        .expect("an instance in b");
    aws.asg
        .terminate_instance_in_auto_scaling_group()
        .instance_id(&in_b)
        .should_decrement_desired_capacity(false)
        .send()
        .await
        .expect("terminate");
    let (members, _, _) = placement(&aws.asg, "web").await;
    assert!(!members.iter().any(|(id, _)| *id == in_b));
    assert_eq!(per_az(&members), BTreeMap::from([(a(), 2), (b(), 2)]));

    aws.asg
        .update_auto_scaling_group()
        .auto_scaling_group_name("web")
        .desired_capacity(6)
        .send()
        .await
        .expect("raise by update");
    let (members, listed_zones, _) = placement(&aws.asg, "web").await;
    assert_eq!(per_az(&members), BTreeMap::from([(a(), 3), (b(), 3)]));
    assert_eq!(listed_zones, zones);
    let registered: Vec<String> = target_health(&aws.elb, &target_group)
        .await
        .into_iter()
        .filter(|(_, state, _)| state != "draining")
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(registered.len(), 6, "every member in the target group");
    // The proxy's own calls are not haven's.
    assert_eq!(
        aws.proxy
            .requests()
            .iter()
            .filter(|r| r.action == "UpdateAutoScalingGroup")
            .count(),
        1
    );
}

async fn group(asg: &aws_sdk_autoscaling::Client, name: &str) -> (i32, usize) {
    let groups = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(name)
        .send()
        .await
        .expect("describe group");
    let group = groups.auto_scaling_groups().first().expect("group");
    (
        group.desired_capacity().unwrap_or_default(),
        group.instances().len(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_launches_show_only_in_scaling_activities() {
    let aws = aws(settled()).await;
    aws.ec2
        .create_launch_template()
        .launch_template_name("web")
        .launch_template_data(template_data(None))
        .send()
        .await
        .expect("template");
    aws.asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("web")
        .launch_template(
            aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                .launch_template_name("web")
                .version("1")
                .build(),
        )
        .availability_zones("ap-northeast-2a")
        .min_size(1)
        .max_size(4)
        .desired_capacity(1)
        .send()
        .await
        .expect("group");
    assert_eq!(group(&aws.asg, "web").await, (1, 1));

    aws.proxy
        .set_faults(Faults::none().with_realism(settled().failing_launches(INSUFFICIENT_CAPACITY)));
    let before = SystemTime::now() - Duration::from_secs(2);
    aws.asg
        .set_desired_capacity()
        .auto_scaling_group_name("web")
        .desired_capacity(3)
        .send()
        .await
        .expect("accepted, as AWS accepts it");
    // AWS shows the new desired capacity, and nothing more in service.
    assert_eq!(group(&aws.asg, "web").await, (3, 1));
    let activities = aws
        .asg
        .describe_scaling_activities()
        .auto_scaling_group_name("web")
        .send()
        .await
        .expect("activities");
    let [activity] = activities.activities() else {
        panic!("one failed activity: {activities:?}");
    };
    assert_eq!(activity.status_code().map(|s| s.as_str()), Some("Failed"));
    assert_eq!(activity.status_message(), Some(INSUFFICIENT_CAPACITY));
    assert_eq!(activity.auto_scaling_group_name(), Some("web"));
    assert!(
        activity.description().is_some_and(
            |d| d.starts_with("Launching a new EC2 instance.  Status Reason: We currently")
        ),
        "{activity:?}"
    );
    let started = activity.start_time().expect("start time");
    assert!(started.secs() >= before.duration_since(UNIX_EPOCH).expect("now").as_secs() as i64);

    // Raising it through UpdateAutoScalingGroup fails the same way; other changes go through.
    aws.asg
        .update_auto_scaling_group()
        .auto_scaling_group_name("web")
        .desired_capacity(4)
        .max_size(5)
        .send()
        .await
        .expect("update");
    assert_eq!(group(&aws.asg, "web").await, (4, 1));
    let groups = aws
        .asg
        .describe_auto_scaling_groups()
        .send()
        .await
        .expect("describe");
    assert_eq!(groups.auto_scaling_groups()[0].max_size(), Some(5));
    let all = aws
        .asg
        .describe_scaling_activities()
        .send()
        .await
        .expect("activities");
    assert_eq!(all.activities().len(), 2, "newest first");
    assert!(
        all.activities()[0]
            .cause()
            .is_some_and(|c| c.contains("from 1 to 4")),
        "{:?}",
        all.activities()[0]
    );
    assert_eq!(count(&aws.proxy, RealismKind::LaunchFailed), 2);

    // Lowering the capacity is not a launch: it reaches moto.
    aws.asg
        .set_desired_capacity()
        .auto_scaling_group_name("web")
        .desired_capacity(1)
        .send()
        .await
        .expect("lower");
    assert_eq!(group(&aws.asg, "web").await, (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_are_pending_with_progress_and_can_fail() {
    // A 20-minute copy takes 1.3 s, a 15-minute one 1 s.
    let aws = aws(settled().with_time_scale(1.0 / 900.0)).await;
    let image_state = |id: String| {
        let ec2 = aws.ec2.clone();
        async move {
            ec2.describe_images()
                .image_ids(id)
                .send()
                .await
                .expect("images")
                .images()
                .first()
                .and_then(|i| i.state())
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default()
        }
    };
    let copy_image = || {
        aws.ec2
            .copy_image()
            .name("copy")
            .source_image_id(BASE_AMI)
            .source_region(PRIMARY)
            .send()
    };
    let image = copy_image()
        .await
        .expect("copy")
        .image_id()
        .expect("id")
        .to_owned();
    assert_eq!(image_state(image.clone()).await, "pending");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(image_state(image).await, "available");

    let volume = aws
        .ec2
        .create_volume()
        .availability_zone("ap-northeast-2a")
        .size(8)
        .send()
        .await
        .expect("volume")
        .volume_id()
        .expect("id")
        .to_owned();
    let snapshot = aws
        .ec2
        .create_snapshot()
        .volume_id(volume)
        .send()
        .await
        .expect("snapshot")
        .snapshot_id()
        .expect("id")
        .to_owned();
    let copy_snapshot = || {
        aws.ec2
            .copy_snapshot()
            .source_snapshot_id(&snapshot)
            .source_region(PRIMARY)
            .send()
    };
    let snapshot_state = |id: String| {
        let ec2 = aws.ec2.clone();
        async move {
            let out = ec2
                .describe_snapshots()
                .snapshot_ids(id)
                .send()
                .await
                .expect("snapshots");
            let s = out.snapshots().first().expect("snapshot");
            (
                s.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                s.progress().unwrap_or_default().to_owned(),
            )
        }
    };
    let copied = copy_snapshot()
        .await
        .expect("copy")
        .snapshot_id()
        .expect("id")
        .to_owned();
    let (state, first) = snapshot_state(copied.clone()).await;
    assert_eq!(state, "pending");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, later) = snapshot_state(copied.clone()).await;
    let percent = |p: &str| p.trim_end_matches('%').parse::<u32>().expect("percent");
    assert!(percent(&later) > percent(&first), "{first} then {later}");
    assert!(percent(&later) < 100);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        snapshot_state(copied).await,
        ("completed".to_owned(), "100%".to_owned())
    );

    // With failing copies, each kind ends in its failed state.
    aws.proxy.set_faults(
        Faults::none().with_realism(settled().with_time_scale(1.0 / 900.0).failing_copies()),
    );
    let failed_image = copy_image()
        .await
        .expect("copy")
        .image_id()
        .expect("id")
        .to_owned();
    let failed_snapshot = copy_snapshot()
        .await
        .expect("copy")
        .snapshot_id()
        .expect("id")
        .to_owned();
    aws.rds
        .create_db_instance()
        .db_instance_identifier("db")
        .engine("mysql")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("secret-password-1")
        .send()
        .await
        .expect("db");
    wait_db(&aws.rds, "db", Some("available")).await;
    aws.rds
        .create_db_snapshot()
        .db_instance_identifier("db")
        .db_snapshot_identifier("manual")
        .send()
        .await
        .expect("snapshot of an available instance");
    let copied = aws
        .rds
        .copy_db_snapshot()
        .source_db_snapshot_identifier("manual")
        .target_db_snapshot_identifier("manual-copy")
        .send()
        .await
        .expect("copy");
    assert_eq!(
        copied.db_snapshot().and_then(|s| s.status()),
        Some("pending")
    );
    let db_snapshot = || async {
        let out = aws
            .rds
            .describe_db_snapshots()
            .db_snapshot_identifier("manual-copy")
            .send()
            .await
            .expect("DB snapshots");
        let s = out.db_snapshots().first().expect("copy").clone();
        (
            s.status().unwrap_or_default().to_owned(),
            s.percent_progress(),
        )
    };
    let (status, progress) = db_snapshot().await;
    assert_eq!(status, "pending");
    assert!(progress.is_some_and(|p| p < 100), "{progress:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(image_state(failed_image).await, "failed");
    assert_eq!(snapshot_state(failed_snapshot).await.0, "error");
    assert_eq!(db_snapshot().await.0, "failed");
    assert_eq!(count(&aws.proxy, RealismKind::CopyFailed), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_region_answers_nothing_sts_included() {
    let aws = aws(Realism {
        silent_hold: Duration::from_millis(300),
        ..Realism::aws().silent_region(DR)
    })
    .await;
    let dr = sdk_config_for(&aws.proxy.endpoint(), DR).await;
    let started = Instant::now();
    let error = aws_sdk_ec2::Client::new(&dr)
        .describe_vpcs()
        .send()
        .await
        .expect_err("no answer");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "held first"
    );
    assert!(
        matches!(error, aws_sdk_ec2::error::SdkError::DispatchFailure(_)),
        "the connection closed without an answer: {error:?}"
    );
    // STS signed for the silent Region gets no answer either.
    let port = aws
        .proxy
        .endpoint()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let sts = crate::moto::http_request(
        port,
        "POST",
        "/",
        &[
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=test/20261130/us-east-1/sts/aws4_request, \
                 SignedHeaders=host, Signature=0",
            ),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        b"Action=GetCallerIdentity&Version=2011-06-15",
        Duration::from_secs(5),
    );
    assert!(sts.is_err(), "{sts:?}");
    // The other Region answers.
    aws.ec2
        .describe_vpcs()
        .send()
        .await
        .expect("primary answers");
    assert_eq!(count(&aws.proxy, RealismKind::Silenced), 2);
}

#[test]
fn a_promotion_in_the_dr_region_ends_the_link_listed_on_the_primary() {
    let realism = Realism::aws().with_time_scale(0.0);
    let mut state = State::default();
    let promote = Call::new(
        "rds",
        DR,
        "PromoteReadReplica",
        Some("Action=PromoteReadReplica&DBInstanceIdentifier=lab-db-us-east-1"),
    );
    let answer = "<PromoteReadReplicaResponse><PromoteReadReplicaResult><DBInstance>\
        <DBInstanceIdentifier>lab-db-us-east-1</DBInstanceIdentifier>\
        <DBInstanceStatus>available</DBInstanceStatus></DBInstance>\
        </PromoteReadReplicaResult></PromoteReadReplicaResponse>";
    state.after(&realism, &promote, 200, &Bytes::from(answer));
    let describe = Call::new(
        "rds",
        PRIMARY,
        "DescribeDBInstances",
        Some("Action=DescribeDBInstances"),
    );
    let primary = "<DescribeDBInstancesResponse><DescribeDBInstancesResult><DBInstances>\
        <DBInstance><DBInstanceIdentifier>lab-db</DBInstanceIdentifier>\
        <DBInstanceStatus>available</DBInstanceStatus><ReadReplicaDBInstanceIdentifiers>\
        <ReadReplicaDBInstanceIdentifier>lab-db-replica-1</ReadReplicaDBInstanceIdentifier>\
        <ReadReplicaDBInstanceIdentifier>arn:aws:rds:us-east-1:123456789012:db:lab-db-us-east-1\
        </ReadReplicaDBInstanceIdentifier></ReadReplicaDBInstanceIdentifiers></DBInstance>\
        </DBInstances></DescribeDBInstancesResult></DescribeDBInstancesResponse>";
    let rewritten = state
        .after(&realism, &describe, 200, &Bytes::from(primary))
        .expect("the link is removed");
    assert!(rewritten.contains("lab-db-replica-1"), "{rewritten}");
    assert!(!rewritten.contains("lab-db-us-east-1"), "{rewritten}");
    assert!(
        state
            .events()
            .iter()
            .any(|e| e.kind == RealismKind::LinkEnded && e.region == PRIMARY)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realism_reset_drops_deletes_not_sent_yet() {
    let aws = aws(Realism {
        rds_create: Duration::ZERO,
        rds_backup: Duration::ZERO,
        // 1 s at 1/900.
        rds_delete: Duration::from_secs(900),
        ..settled()
    })
    .await;
    aws.rds
        .create_db_instance()
        .db_instance_identifier("db")
        .engine("mysql")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("secret-password-1")
        .send()
        .await
        .expect("create");
    wait_db(&aws.rds, "db", Some("available")).await;
    aws.rds
        .delete_db_instance()
        .db_instance_identifier("db")
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("delete");
    aws.proxy.reset_realism();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        db_status(&aws.rds, "db")
            .await
            .and_then(|d| d.db_instance_status().map(str::to_owned)),
        Some("available".to_owned()),
        "the delete never reached moto"
    );
    assert_eq!(count(&aws.proxy, RealismKind::DeleteReplayed), 0);
}

async fn rds_events(rds: &aws_sdk_rds::Client, id: &str) -> Vec<(String, String)> {
    let answer = rds
        .describe_events()
        .source_type(aws_sdk_rds::types::SourceType::DbInstance)
        .source_identifier(id)
        .send()
        .await
        .expect("events");
    answer
        .events()
        .iter()
        .map(|e| {
            (
                e.message().unwrap_or_default().to_owned(),
                e.event_categories().join(","),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reboots_and_failovers_show_in_rds_events_in_order() {
    let aws = aws(settled()).await;
    let rds = &aws.rds;
    rds.create_db_instance()
        .db_instance_identifier("db")
        .engine("mysql")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("secret-password-1")
        .multi_az(true)
        .send()
        .await
        .expect("create");
    wait_db(rds, "db", Some("available")).await;
    let before = rds_events(rds, "db").await;

    rds.reboot_db_instance()
        .db_instance_identifier("db")
        .force_failover(true)
        .send()
        .await
        .expect("reboot with failover");
    let during = rds_events(rds, "db").await;
    assert_eq!(
        &during[before.len()..],
        [(
            "Multi-AZ instance failover started.".to_owned(),
            "failover".to_owned()
        )],
        "the failover has started, not completed"
    );
    wait_db(rds, "db", Some("available")).await;
    rds.reboot_db_instance()
        .db_instance_identifier("db")
        .send()
        .await
        .expect("plain reboot");
    wait_db(rds, "db", Some("available")).await;
    let after = rds_events(rds, "db").await;
    let messages: Vec<&str> = after[before.len()..]
        .iter()
        .map(|(m, _)| m.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "Multi-AZ instance failover started.",
            "Multi-AZ instance failover completed.",
            "DB instance shutdown",
            "DB instance restarted"
        ]
    );
    // moto's own events (creation, backup) are still there, and the whole list is in time order.
    assert!(!before.is_empty(), "moto records the creation");
    let dates: Vec<_> = rds
        .describe_events()
        .send()
        .await
        .expect("events")
        .events()
        .iter()
        .map(|e| e.date().map(|d| d.secs()))
        .collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "{dates:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_changes_leave_successful_scaling_activities() {
    let aws = aws(settled()).await;
    aws.ec2
        .create_launch_template()
        .launch_template_name("web")
        .launch_template_data(template_data(None))
        .send()
        .await
        .expect("template");
    aws.asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("web")
        .launch_template(
            aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                .launch_template_name("web")
                .version("1")
                .build(),
        )
        .availability_zones("ap-northeast-2a")
        .min_size(1)
        .max_size(4)
        .desired_capacity(2)
        .send()
        .await
        .expect("group");
    aws.asg
        .set_desired_capacity()
        .auto_scaling_group_name("web")
        .desired_capacity(3)
        .send()
        .await
        .expect("scale out");
    assert_eq!(group(&aws.asg, "web").await, (3, 3));
    let activities = aws
        .asg
        .describe_scaling_activities()
        .auto_scaling_group_name("web")
        .send()
        .await
        .expect("activities");
    let [launch] = activities.activities() else {
        panic!("one launch: {activities:?}");
    };
    assert_eq!(launch.status_code().map(|s| s.as_str()), Some("Successful"));
    assert_eq!(launch.progress(), Some(100));
    assert!(
        launch
            .description()
            .is_some_and(|d| d.starts_with("Launching a new EC2 instance: i-")),
        "{launch:?}"
    );
    assert!(
        launch.cause().is_some_and(|c| c.contains(
            "a user request explicitly set group desired capacity changing the desired \
             capacity from 2 to 3"
        )),
        "{launch:?}"
    );
    assert!(launch.start_time().is_some() && launch.end_time().is_some());

    aws.asg
        .update_auto_scaling_group()
        .auto_scaling_group_name("web")
        .min_size(1)
        .max_size(4)
        .desired_capacity(1)
        .send()
        .await
        .expect("scale in");
    assert_eq!(group(&aws.asg, "web").await, (1, 1));
    let newest = aws
        .asg
        .describe_scaling_activities()
        .auto_scaling_group_name("web")
        .max_records(2)
        .send()
        .await
        .expect("activities");
    assert_eq!(newest.activities().len(), 2, "MaxRecords is respected");
    for activity in newest.activities() {
        assert!(
            activity
                .description()
                .is_some_and(|d| d.starts_with("Terminating EC2 instance: i-")),
            "{activity:?}"
        );
        assert!(
            activity.cause().is_some_and(|c| c.contains(
                "update of AutoScalingGroup constraints to min: 1, max: 4, desired: 1 \
                 changing the desired capacity from 3 to 1"
            )),
            "{activity:?}"
        );
    }
    let other = aws
        .asg
        .describe_scaling_activities()
        .auto_scaling_group_name("other")
        .send()
        .await
        .expect("activities");
    assert!(other.activities().is_empty(), "filtered by group");
}
