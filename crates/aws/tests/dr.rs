//! The DR moves of haven-aws against moto, with AWS realism where AWS and moto differ: a
//! promotion waits out a replica that is still being created or backed up (A6), and "already
//! exists" counts as done only for a replica of the right source (A5; after a
//! `DescribeDBInstances` that shows what exists).

use std::time::Duration;

use haven_aws::{AwsContext, ExecuteOptions, execute};
use haven_model::action::{Action, ActionKind, ResourceKind, ResourceRef};
use haven_model::replication::{Operation, ReplicaRequest};
use haven_model::topology::Tags;
use haven_testkit::lab::{self, PRIMARY};
use haven_testkit::{Faults, MotoServer, Proxy, Realism};

const DR: &str = "us-east-1";

fn quick() -> ExecuteOptions {
    ExecuteOptions {
        max_wait: Duration::from_secs(20),
        first_poll: Duration::from_millis(50),
        max_poll: Duration::from_millis(200),
        ..ExecuteOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a6_a_replica_still_being_created_or_backed_up_is_promoted_once_rds_allows_it() {
    let moto = MotoServer::start().expect("moto_server");
    let lab = lab::build(&moto.endpoint()).await.expect("lab");
    let proxy = Proxy::start(
        &moto.endpoint(),
        Faults::none().with_realism(Realism::aws()),
    )
    .expect("proxy");
    let config = haven_testkit::sdk_config_for(&proxy.endpoint(), PRIMARY).await;
    // Just made: `creating`, then `backing-up`; RDS refuses to promote it in either.
    aws_sdk_rds::Client::new(&config)
        .create_db_instance_read_replica()
        .db_instance_identifier("lab-db-fresh")
        .source_db_instance_identifier(&lab.db_identifier)
        .send()
        .await
        .expect("replica");
    let ctx = AwsContext::from_sdk_config(config);
    let promote = Action::new(
        PRIMARY,
        ResourceRef::new(ResourceKind::DbInstance, "lab-db-fresh"),
        ActionKind::PromoteReadReplica,
    );
    let outcome = execute(&ctx, &promote, &quick(), &|_| {})
        .await
        .expect("promoted");
    assert!(
        outcome
            .message
            .contains("lab-db-fresh is a standalone DB instance"),
        "{outcome:?}"
    );
    let promotions: Vec<u16> = proxy
        .requests()
        .iter()
        .filter(|r| r.action == "PromoteReadReplica")
        .map(|r| r.status)
        .collect();
    assert_eq!(promotions, [200], "sent once, when RDS could take it");
}

#[tokio::test(flavor = "multi_thread")]
async fn a5_an_instance_of_the_replicas_name_that_replicates_nothing_is_a_conflict() {
    let moto = MotoServer::start().expect("moto_server");
    let lab = lab::build(&moto.endpoint()).await.expect("lab");
    let config = moto.sdk_config(DR).await;
    // After a DR drill: the promoted replica keeps the name and replicates nothing.
    aws_sdk_rds::Client::new(&config)
        .create_db_instance()
        .db_instance_identifier("lab-db-us-east-1")
        .engine("mysql")
        .db_instance_class("db.t3.micro")
        .master_username("admin")
        .manage_master_user_password(true)
        .allocated_storage(20)
        .send()
        .await
        .expect("standalone instance");
    // moto would replace the instance; the proxy answers as AWS does.
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let ctx =
        AwsContext::from_sdk_config(haven_testkit::sdk_config_for(&proxy.endpoint(), DR).await);
    let request = ReplicaRequest {
        source_region: PRIMARY.to_string(),
        source_arn: lab.db_arn.clone(),
        destination_region: DR.to_string(),
        identifier: "lab-db-us-east-1".to_string(),
        class: "db.t3.micro".to_string(),
        kms_key_id: None,
        db_subnet_group: lab.db_subnet_group.clone(),
        vpc_security_group_ids: Vec::new(),
        backup_retention_days: 7,
        tags: Tags::new(),
    };
    let error = haven_aws::replicate::run(&ctx, &Operation::Replica(request), &quick(), &|_| {})
        .await
        .expect_err("a conflict, not done");
    let message = error.to_string();
    assert!(
        message.contains("already exists in us-east-1 but is not a replica of")
            && message.contains("standalone instance"),
        "{message}"
    );
}
