//! What discovery reads for the RDS controls of issue 21, against moto: the instance's access
//! and upkeep settings, and which manual DB snapshots are public (RDS.1) — a failed attribute
//! read is reported and leaves the snapshot unjudged.

use haven_aws::{AwsContext, DiscoverOptions, discover};
use haven_model::findings::{Policy, assess};
use haven_model::topology::Topology;
use haven_testkit::{Faults, MotoServer, Proxy};

const REGION: &str = "ap-northeast-2";

async fn build(endpoint: &str) {
    let config = haven_testkit::sdk_config_for(endpoint, REGION).await;
    let rds = aws_sdk_rds::Client::new(&config);
    rds.create_db_instance()
        .db_instance_identifier("hand-db")
        .engine("mysql")
        .engine_version("8.4")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .manage_master_user_password(true)
        .storage_encrypted(false)
        .auto_minor_version_upgrade(false)
        .copy_tags_to_snapshot(false)
        .backup_retention_period(7)
        .send()
        .await
        .expect("instance");
    for id in ["hand-db-private", "hand-db-public"] {
        rds.create_db_snapshot()
            .db_snapshot_identifier(id)
            .db_instance_identifier("hand-db")
            .send()
            .await
            .expect("snapshot");
    }
    rds.modify_db_snapshot_attribute()
        .db_snapshot_identifier("hand-db-public")
        .attribute_name("restore")
        .values_to_add("all")
        .send()
        .await
        .expect("made public");
}

async fn read(endpoint: &str) -> Topology {
    let config = haven_testkit::sdk_config_for(endpoint, REGION).await;
    let ctx = AwsContext::from_sdk_config(config);
    let options = DiscoverOptions {
        include_iam: false,
        ..DiscoverOptions::default()
    };
    discover(&ctx, &[REGION.to_string()], &options).await
}

fn ids(topology: &Topology) -> Vec<(String, String)> {
    assess(topology, &Policy::default())
        .into_iter()
        .filter(|f| f.id.starts_with("RDS."))
        .map(|f| (f.id.into_owned(), f.resource.id))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_public_snapshot_and_a_careless_instance_fail_with_the_aws_ids() {
    let moto = MotoServer::start().expect("moto_server");
    build(&moto.endpoint()).await;
    let topology = read(&moto.endpoint()).await;
    assert!(topology.errors.is_empty(), "{:?}", topology.errors);
    let region = topology.region(REGION).expect("Region");
    let db = &region.db_instances[0];
    assert_eq!(db.security.master_username.as_deref(), Some("admin"));
    assert_eq!(db.security.copy_tags_to_snapshot, Some(false));
    let public = |id: &str| {
        region
            .db_snapshots
            .iter()
            .find(|s| s.identifier == id)
            .and_then(|s| s.public)
    };
    assert_eq!(public("hand-db-public"), Some(true));
    assert_eq!(public("hand-db-private"), Some(false));
    let found = ids(&topology);
    for expected in [
        ("RDS.1", "hand-db-public"),
        ("RDS.3", "hand-db"),
        ("RDS.4", "hand-db-public"),
        ("RDS.9", "hand-db"),
        ("RDS.13", "hand-db"),
        ("RDS.17", "hand-db"),
        ("RDS.25", "hand-db"),
    ] {
        assert!(
            found.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} in {found:?}"
        );
    }
    assert!(
        !found.contains(&("RDS.1".to_string(), "hand-db-private".to_string())),
        "{found:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_attribute_read_is_reported_and_judges_nothing() {
    let moto = MotoServer::start().expect("moto_server");
    build(&moto.endpoint()).await;
    let proxy = Proxy::start(
        &moto.endpoint(),
        Faults::none().with_fail_action("DescribeDBSnapshotAttributes", 403, 100),
    )
    .expect("proxy");
    let topology = read(&proxy.endpoint()).await;
    assert!(
        topology
            .errors
            .iter()
            .any(|e| e.operation == "DescribeDBSnapshotAttributes"),
        "{:?}",
        topology.errors
    );
    let region = topology.region(REGION).expect("Region");
    assert!(region.db_snapshots.iter().all(|s| s.public.is_none()));
    assert!(!ids(&topology).iter().any(|(id, _)| id == "RDS.1"));
    // The rest of the Region is still read and judged.
    assert_eq!(region.db_instances.len(), 1);
    assert!(ids(&topology).iter().any(|(id, _)| id == "RDS.3"));
}
