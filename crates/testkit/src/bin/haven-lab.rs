//! Builds the classic HA lab (ap-northeast-2 with its DR copy in us-east-1) against an endpoint:
//! `haven-lab http://127.0.0.1:PORT`. Used by `cargo xtask demo` and `cargo xtask lab`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let Some(endpoint) = std::env::args().nth(1) else {
        eprintln!("usage: haven-lab ENDPOINT   (e.g. http://127.0.0.1:5000, a moto_server)");
        return ExitCode::from(2);
    };
    let loopback = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"];
    if !loopback.iter().any(|prefix| endpoint.starts_with(prefix)) {
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
