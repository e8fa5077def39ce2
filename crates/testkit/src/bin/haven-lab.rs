//! Builds the classic HA lab (ap-northeast-2 with its DR copy in us-east-1) against an endpoint:
//! `haven-lab http://127.0.0.1:PORT`. Used by `cargo xtask demo` and `cargo xtask lab`.
//!
//! `haven-lab metrics ENDPOINT TOPOLOGY.json` writes an hour of plausible CloudWatch metrics for
//! the resources of a topology (`haven snapshot --output json`) into moto (which makes none).

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [command, endpoint, file] = &args[..]
        && command == "metrics"
    {
        return metrics(endpoint, file).await;
    }
    let Some(endpoint) = std::env::args().nth(1) else {
        eprintln!("usage: haven-lab ENDPOINT   (e.g. http://127.0.0.1:5000, a moto_server)");
        return ExitCode::from(2);
    };
    if !is_loopback(&endpoint) {
        eprintln!(
            "haven-lab: {endpoint} is not a loopback endpoint; the lab is only built on a local emulator"
        );
        return ExitCode::from(2);
    }
    println!("building the HA lab on {endpoint} (ap-northeast-2 + DR in us-east-1)…");
    match haven_testkit::lab::build(&endpoint).await {
        Ok(lab) => {
            println!(
                "lab ready: VPC {} · ALB {} · ASG {} ({} instances) · DB {} + replica {} + DR replica {}",
                lab.vpc_id,
                lab.load_balancer_dns_name,
                lab.asg_name,
                lab.asg_instance_ids.len(),
                lab.db_identifier,
                lab.db_replica_identifier,
                lab.dr_replica_identifier
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("haven-lab: {error}");
            ExitCode::FAILURE
        }
    }
}

fn is_loopback(endpoint: &str) -> bool {
    ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"]
        .iter()
        .any(|prefix| endpoint.starts_with(prefix))
}

async fn metrics(endpoint: &str, file: &str) -> ExitCode {
    if !is_loopback(endpoint) {
        eprintln!(
            "haven-lab: {endpoint} is not a loopback endpoint; metrics go to a local emulator only"
        );
        return ExitCode::from(2);
    }
    let topology = match std::fs::read_to_string(file)
        .map_err(|e| e.to_string())
        .and_then(|text| haven_model::Topology::from_json(&text).map_err(|e| e.to_string()))
    {
        Ok(topology) => topology,
        Err(error) => {
            eprintln!("haven-lab: {file}: {error} (expected `haven snapshot --output json`)");
            return ExitCode::from(2);
        }
    };
    let batches = haven_testkit::metrics::lab_metrics(&topology, chrono::Utc::now(), 7);
    match haven_testkit::metrics::put_all(endpoint, &batches).await {
        Ok(written) => {
            println!("{written} datapoints written (an hour per minute, per resource and AZ)");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("haven-lab: {error}");
            ExitCode::FAILURE
        }
    }
}
