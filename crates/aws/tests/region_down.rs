//! A Region that answers nothing (an outage): discovery asks it one round of parts, not every
//! part four at a time each waiting out its timeout, so the read ends, and the next one starts
//! for the Regions that answer, about one timeout later. What it could not ask says so.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use haven_aws::{AwsContext, DiscoverOptions, discover};
use haven_model::Part;
use haven_testkit::proxy::RealismKind;
use haven_testkit::{Faults, MotoServer, Proxy, Realism, sdk_config_for};

const UP: &str = "us-east-1";
const DOWN: &str = "eu-west-1";

#[tokio::test(flavor = "multi_thread")]
async fn a_region_that_answers_nothing_is_asked_one_round_of_parts_and_says_what_it_skipped() {
    let moto = MotoServer::start().expect("moto");
    // Held longer than an attempt may take: every call there times out.
    let realism = Realism {
        silent_hold: Duration::from_secs(6),
        ..Realism::aws().silent_region(DOWN)
    };
    let proxy =
        Proxy::start(&moto.endpoint(), Faults::none().with_realism(realism)).expect("proxy");
    let config = sdk_config_for(&proxy.endpoint(), UP)
        .await
        .to_builder()
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(3))
                .build(),
        )
        .build();
    // moto's first call in a Region loads that Region (seconds): not what is measured here.
    aws_sdk_ec2::Client::new(&config)
        .describe_vpcs()
        .send()
        .await
        .expect("moto warmed up");
    let ctx = AwsContext::from_sdk_config(config);
    let regions = [UP.to_string(), DOWN.to_string()];
    let topology = discover(&ctx, &regions, &DiscoverOptions::default()).await;

    // Every part of the Region down has an error: timed out, or not asked and why.
    let down_errors: Vec<_> = topology
        .errors
        .iter()
        .filter(|e| e.region.as_deref() == Some(DOWN))
        .collect();
    for part in Part::REGIONAL {
        assert!(
            down_errors
                .iter()
                .any(|e| Part::of_error(e).is_some_and(|p| part.answers(p))),
            "no error for {part:?} in {DOWN}: {down_errors:#?}"
        );
    }
    // One round: the parts in flight when the first call went unanswered (four at a time),
    // not all fifteen, each waiting out its timeout (33 calls before, in five rounds).
    let not_asked: Vec<Part> = down_errors
        .iter()
        .filter(|e| {
            e.message
                .starts_with("not asked in this read: eu-west-1 left a call unanswered")
                && e.message.contains("timed out")
        })
        .filter_map(|e| Part::of_error(e))
        .collect();
    let calls = proxy
        .realism_events()
        .iter()
        .filter(|e| e.kind == RealismKind::Silenced && e.region == DOWN)
        .count();
    let asked = Part::REGIONAL.len() - not_asked.len();
    assert!(
        asked <= 4,
        "{asked} parts asked in {DOWN} ({calls} calls); not asked: {not_asked:?}"
    );
    // The Region that answers was read whole.
    assert!(
        topology
            .errors
            .iter()
            .all(|e| e.region.as_deref() != Some(UP)),
        "{:#?}",
        topology.errors
    );
    assert!(topology.region(UP).is_some_and(|r| !r.vpcs.is_empty()));
}
