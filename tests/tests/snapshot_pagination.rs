//! 1,000 instances over three Regions are discovered completely, page by page.

use std::collections::BTreeSet;

use haven_model::Topology;
use haven_testkit::lab::launch_instances;
use haven_testkit::{Faults, MotoServer, Proxy};
use haven_tests::haven;

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_instances_in_three_regions_are_all_found() {
    let moto = MotoServer::start().expect("moto");
    // Launches of 50 make many reservations; moto pages by reservation, so pages of 5 force
    // several DescribeInstances pages per Region.
    let plan = [
        ("ap-northeast-2", 400),
        ("us-east-1", 300),
        ("eu-west-1", 300),
    ];
    let mut launched = BTreeSet::new();
    for (region, count) in plan {
        for _ in 0..count / 50 {
            launched.extend(
                launch_instances(&moto.endpoint(), region, 50)
                    .await
                    .expect("launch"),
            );
        }
    }
    assert_eq!(launched.len(), 1000);

    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let output = haven(&proxy.endpoint(), &home)
        .args([
            "snapshot",
            "--output",
            "json",
            "--no-iam",
            "--page-size",
            "5",
            "--regions",
            "ap-northeast-2,us-east-1,eu-west-1",
        ])
        .output()
        .expect("run haven");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let topology = Topology::from_json(&String::from_utf8_lossy(&output.stdout)).expect("JSON");
    assert!(topology.errors.is_empty(), "{:?}", topology.errors);

    let found: BTreeSet<String> = topology
        .regions
        .iter()
        .flat_map(|r| r.instances.iter().map(|i| i.id.clone()))
        .collect();
    assert_eq!(found, launched, "every instance once, none missing");
    let total: usize = topology.regions.iter().map(|r| r.instances.len()).sum();
    assert_eq!(total, 1000, "no instance listed twice");
    for (region, count) in plan {
        let listed = topology.region(region).map(|r| r.instances.len());
        assert_eq!(listed, Some(count), "{region}");
        let pages = proxy
            .requests()
            .iter()
            .filter(|r| r.region == region && r.action == "DescribeInstances")
            .count();
        assert!(
            pages >= 2,
            "{region}: {pages} DescribeInstances page(s); pagination not exercised"
        );
    }
}
