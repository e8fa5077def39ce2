//! The real `aws-sdk-cloudwatch` (Smithy RPC v2 CBOR) against moto (AWS JSON 1.0), through the
//! proxy's translation.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat, StateValue,
    Statistic,
};
use haven_testkit::{Faults, MotoServer, Proxy, Realism, metrics, sdk_config_for};

const REGION: &str = "ap-northeast-2";

fn dimension() -> Dimension {
    Dimension::builder()
        .name("AutoScalingGroupName")
        .value("lab-asg")
        .build()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sdk_reads_metrics_and_alarms_from_moto_through_the_proxy() {
    let moto = MotoServer::start().expect("moto_server starts");
    let proxy = Proxy::start(
        &moto.endpoint(),
        Faults::none().with_realism(Realism::aws()),
    )
    .expect("proxy starts")
    .not_haven();
    // Every PutMetricData body gzipped, as the SDK does for large ones.
    let config =
        aws_sdk_cloudwatch::config::Builder::from(&sdk_config_for(&proxy.endpoint(), REGION).await)
            .request_min_compression_size_bytes(0)
            .build();
    let client = Client::from_conf(config);

    // Two datapoints, whole minutes in the recent past.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let minute = now - now % 60 - 600;
    for (at, value) in [(minute - 60, 40.0), (minute, 42.5)] {
        client
            .put_metric_data()
            .namespace("AWS/EC2")
            .metric_data(
                MetricDatum::builder()
                    .metric_name("CPUUtilization")
                    .dimensions(dimension())
                    .timestamp(DateTime::from_secs(at))
                    .value(value)
                    .build(),
            )
            .send()
            .await
            .expect("PutMetricData through the proxy");
    }

    let answer = client
        .get_metric_data()
        .start_time(DateTime::from_secs(minute - 3600))
        .end_time(DateTime::from_secs(minute + 60))
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("cpu")
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("AWS/EC2")
                                .metric_name("CPUUtilization")
                                .dimensions(dimension())
                                .build(),
                        )
                        .period(60)
                        .stat("Average")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("GetMetricData parses");
    let result = &answer.metric_data_results()[0];
    assert_eq!(result.id(), Some("cpu"));
    let mut points: Vec<(i64, f64)> = result
        .timestamps()
        .iter()
        .map(DateTime::secs)
        .zip(result.values().iter().copied())
        .collect();
    points.sort_by_key(|p| p.0);
    assert_eq!(points, vec![(minute - 60, 40.0), (minute, 42.5)]);

    client
        .put_metric_alarm()
        .alarm_name("lab-unhealthy-hosts")
        .namespace("AWS/ApplicationELB")
        .metric_name("UnHealthyHostCount")
        .statistic(Statistic::Maximum)
        .period(60)
        .evaluation_periods(2)
        .threshold(0.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .expect("PutMetricAlarm");
    let alarms = client
        .describe_alarms()
        .send()
        .await
        .expect("DescribeAlarms parses");
    let alarm = &alarms.metric_alarms()[0];
    assert_eq!(alarm.alarm_name(), Some("lab-unhealthy-hosts"));
    assert_eq!(alarm.threshold(), Some(0.0));
    assert_eq!(alarm.evaluation_periods(), Some(2));
    assert!(alarm.state_updated_timestamp().is_some());
    assert_eq!(
        alarm.state_value(),
        Some(&StateValue::InsufficientData),
        "a new alarm has no data yet on AWS"
    );

    // Datapoints written straight to moto (`haven_testkit::metrics`) read back through the SDK.
    let at = chrono::DateTime::from_timestamp(minute, 0).expect("a time");
    let datums: Vec<metrics::Datum> = (0..3)
        .map(|back| metrics::Datum {
            metric: "ReplicaLag".into(),
            dimensions: vec![("DBInstanceIdentifier".into(), "lab-db-replica".into())],
            value: 1.5 + f64::from(back),
            at: at - chrono::Duration::minutes(i64::from(back)),
        })
        .collect();
    metrics::put(&moto.endpoint(), REGION, "AWS/RDS", &datums)
        .await
        .expect("PutMetricData straight to moto");
    let lag = client
        .get_metric_data()
        .start_time(DateTime::from_secs(minute - 3600))
        .end_time(DateTime::from_secs(minute + 60))
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("lag")
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("AWS/RDS")
                                .metric_name("ReplicaLag")
                                .dimensions(
                                    Dimension::builder()
                                        .name("DBInstanceIdentifier")
                                        .value("lab-db-replica")
                                        .build(),
                                )
                                .build(),
                        )
                        .period(60)
                        .stat("Maximum")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("GetMetricData parses");
    let mut values = lag.metric_data_results()[0].values().to_vec();
    values.sort_by(f64::total_cmp);
    assert_eq!(values, vec![1.5, 2.5, 3.5]);

    // Filtering on the state AWS shows, not moto's.
    let unchecked = client
        .describe_alarms()
        .state_value(StateValue::InsufficientData)
        .send()
        .await
        .expect("DescribeAlarms parses");
    assert_eq!(unchecked.metric_alarms().len(), 1);
    let ok = client
        .describe_alarms()
        .state_value(StateValue::Ok)
        .send()
        .await
        .expect("DescribeAlarms parses");
    assert!(ok.metric_alarms().is_empty(), "{ok:?}");
    client
        .set_alarm_state()
        .alarm_name("lab-unhealthy-hosts")
        .state_value(StateValue::Alarm)
        .state_reason("test")
        .send()
        .await
        .expect("SetAlarmState");
    let alarms = client
        .describe_alarms()
        .send()
        .await
        .expect("DescribeAlarms");
    assert_eq!(
        alarms.metric_alarms()[0].state_value(),
        Some(&StateValue::Alarm)
    );

    let recorded = proxy.requests();
    let get = recorded
        .iter()
        .find(|r| r.action == "GetMetricData")
        .expect("GetMetricData recorded");
    assert_eq!(get.service, "monitoring");
    assert_eq!(get.region, REGION);

    // moto lacks DescribeAlarmHistory (an HTML page, HTTP 500): the SDK reads an AWS error.
    let missing = client
        .describe_alarm_history()
        .send()
        .await
        .expect_err("moto does not implement it");
    assert_eq!(missing.code(), Some("InternalFailure"), "{missing:?}");

    proxy.set_faults(Faults::none().with_fail_service("monitoring", 403));
    let denied = client
        .describe_alarms()
        .send()
        .await
        .expect_err("monitoring is denied");
    assert_eq!(denied.code(), Some("AccessDenied"), "{denied:?}");
}
