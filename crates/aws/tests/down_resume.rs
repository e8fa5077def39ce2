//! `haven down` against answers moto never gives. RDS (B5): an instance already `deleting` (an
//! interrupted `down`), one still `modifying`, a delete refused with `InvalidDBInstanceState`;
//! and the final snapshot the delete asks for (B4). EC2 (B8): `TerminateInstances` answering
//! `InvalidInstanceID.NotFound` for an instance that still runs, and `DeleteVpcEndpoints`
//! reporting a failure in its `Unsuccessful` list. A small scripted endpoint answers in AWS's
//! Query/XML protocols, so the real SDK code paths run.

use std::sync::Mutex;
use std::time::Duration;

use haven_aws::{AwsContext, ExecuteOptions, StepEvent, StepStatus, destroy};
use haven_model::plan::{Op, Plan, ResourceKind, ResourceRef, Retain, Step};
use haven_model::topology::Topology;
use haven_testkit::scripted::ScriptedEndpoint;

const REGION: &str = "ap-northeast-2";
const NS: &str = "http://rds.amazonaws.com/doc/2014-10-31/";

/// What the endpoint answers, in order, per action; the last answer repeats.
type Script = Vec<(&'static str, Vec<(u16, String)>)>;

fn described(status: &str) -> (u16, String) {
    (
        200,
        format!(
            "<DescribeDBInstancesResponse xmlns=\"{NS}\"><DescribeDBInstancesResult>\
             <DBInstances><DBInstance><DBInstanceIdentifier>lab-db</DBInstanceIdentifier>\
             <DBInstanceStatus>{status}</DBInstanceStatus><DeletionProtection>false\
             </DeletionProtection></DBInstance></DBInstances></DescribeDBInstancesResult>\
             <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>\
             </DescribeDBInstancesResponse>"
        ),
    )
}

fn error(status: u16, code: &str) -> (u16, String) {
    (
        status,
        format!(
            "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>{code}</Code>\
             <Message>{code} (scripted)</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        ),
    )
}

fn gone() -> (u16, String) {
    error(404, "DBInstanceNotFound")
}

fn deleted() -> (u16, String) {
    (
        200,
        format!(
            "<DeleteDBInstanceResponse xmlns=\"{NS}\"><DeleteDBInstanceResult><DBInstance>\
             <DBInstanceIdentifier>lab-db</DBInstanceIdentifier><DBInstanceStatus>deleting\
             </DBInstanceStatus></DBInstance></DeleteDBInstanceResult><ResponseMetadata>\
             <RequestId>r</RequestId></ResponseMetadata></DeleteDBInstanceResponse>"
        ),
    )
}

/// Serves `script` on 127.0.0.1: each action's answers in order, the last one repeating.
fn serve(script: Script) -> ScriptedEndpoint {
    let script = Mutex::new(script);
    ScriptedEndpoint::serve(move |request| {
        let mut script = script.lock().expect("script");
        match script.iter_mut().find(|(a, _)| *a == request.action) {
            Some((_, answers)) if answers.len() > 1 => answers.remove(0),
            Some((_, answers)) => answers[0].clone(),
            None => error(400, "InvalidAction"),
        }
    })
}

/// A one-step teardown plan: delete `id`, a `kind`.
fn delete_plan(kind: ResourceKind, id: &str, retain: Option<Retain>) -> Plan {
    Plan {
        stack: "lab".into(),
        steps: vec![Step {
            op: Op::Delete,
            resource: ResourceRef::new(kind, id),
            name: id.into(),
            id: Some(id.into()),
            region: Some(REGION.into()),
            depends_on: vec![],
            detail: "delete".into(),
            retain,
        }],
        conflicts: vec![],
    }
}

/// The teardown step for `lab-db` with a final snapshot, as `haven down` plans it.
fn db_plan() -> Plan {
    delete_plan(
        ResourceKind::DbInstance,
        "lab-db",
        Some(Retain {
            final_snapshot: Some("lab-db-final-20261130-070000".into()),
            automated_backups: true,
        }),
    )
}

const EC2_NS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

fn ec2_error(code: &str) -> (u16, String) {
    (
        400,
        format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{code} (scripted)</Message>\
             </Error></Errors><RequestID>r</RequestID></Response>"
        ),
    )
}

fn instance(state: &str) -> (u16, String) {
    (
        200,
        format!(
            "<DescribeInstancesResponse xmlns=\"{EC2_NS}\"><requestId>r</requestId>\
             <reservationSet><item><reservationId>r-1</reservationId><ownerId>1</ownerId>\
             <instancesSet><item><instanceId>i-1</instanceId><instanceState><code>0</code>\
             <name>{state}</name></instanceState></item></instancesSet></item></reservationSet>\
             </DescribeInstancesResponse>"
        ),
    )
}

fn terminating() -> (u16, String) {
    (
        200,
        format!(
            "<TerminateInstancesResponse xmlns=\"{EC2_NS}\"><requestId>r</requestId>\
             <instancesSet><item><instanceId>i-1</instanceId><currentState><code>32</code>\
             <name>shutting-down</name></currentState><previousState><code>16</code>\
             <name>running</name></previousState></item></instancesSet>\
             </TerminateInstancesResponse>"
        ),
    )
}

fn quick() -> ExecuteOptions {
    ExecuteOptions {
        read_only: false,
        max_wait: Duration::from_secs(20),
        first_poll: Duration::from_millis(10),
        max_poll: Duration::from_millis(50),
        ..ExecuteOptions::default()
    }
}

/// Runs the plan's delete against `url`; returns the waits reported and the result.
async fn down(
    url: &str,
) -> (
    Vec<String>,
    Result<haven_aws::Applied, haven_aws::ApplyError>,
) {
    down_with(url, &db_plan()).await
}

async fn down_with(
    url: &str,
    plan: &Plan,
) -> (
    Vec<String>,
    Result<haven_aws::Applied, haven_aws::ApplyError>,
) {
    let ctx = AwsContext::from_sdk_config(haven_testkit::sdk_config_for(url, REGION).await);
    let topology = Topology::new(chrono::Utc::now());
    let waits = Mutex::new(Vec::new());
    let progress = |event: StepEvent<'_>| {
        if let StepStatus::Waiting(what) = event.status {
            waits.lock().expect("waits").push(what);
        }
    };
    let result = destroy(&ctx, &topology, plan, &quick(), &progress).await;
    (waits.into_inner().expect("waits"), result)
}

fn actions(endpoint: &ScriptedEndpoint) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for request in endpoint.requests() {
        // Consecutive polls count once.
        if out.last() != Some(&request.action) || !request.action.starts_with("Describe") {
            out.push(request.action);
        }
    }
    out
}

#[tokio::test]
async fn b5_down_run_again_while_rds_is_deleting_only_waits_until_it_is_gone() {
    let endpoint = serve(vec![(
        "DescribeDBInstances",
        vec![described("deleting"), described("deleting"), gone()],
    )]);
    let (waits, result) = down(endpoint.url()).await;
    result.expect("down completes");
    assert_eq!(
        actions(&endpoint),
        ["DescribeDBInstances"],
        "no delete is sent again"
    );
    assert!(
        waits.iter().any(|w| w.contains(": deleting ·")),
        "it says what RDS is doing: {waits:?}"
    );
}

#[tokio::test]
async fn b5_down_waits_for_a_modifying_instance_then_follows_an_invalid_state_answer() {
    let endpoint = serve(vec![
        (
            "DescribeDBInstances",
            vec![
                described("modifying"),
                described("modifying"),
                described("available"),
                described("available"),
                // Read again after InvalidDBInstanceState: a backup started meanwhile.
                described("backing-up"),
                described("available"),
                described("available"),
                described("deleting"),
                gone(),
            ],
        ),
        (
            "DeleteDBInstance",
            vec![error(400, "InvalidDBInstanceState"), deleted()],
        ),
    ]);
    let (waits, result) = down(endpoint.url()).await;
    result.expect("down completes");
    assert_eq!(
        actions(&endpoint),
        [
            "DescribeDBInstances",
            "DeleteDBInstance",
            "DescribeDBInstances",
            "DeleteDBInstance",
            "DescribeDBInstances",
        ]
    );
    assert!(
        waits
            .iter()
            .any(|w| w.contains("modifying") || w.contains("backing-up")),
        "{waits:?}"
    );
    // B4: the delete that went through keeps a final snapshot and the automated backups.
    let requests = endpoint.requests();
    let delete = &requests
        .iter()
        .rev()
        .find(|r| r.action == "DeleteDBInstance")
        .expect("delete")
        .body;
    for part in [
        "FinalDBSnapshotIdentifier=lab-db-final-20261130-070000",
        "SkipFinalSnapshot=false",
        "DeleteAutomatedBackups=false",
    ] {
        assert!(delete.contains(part), "{part} in {delete}");
    }
}

#[tokio::test]
async fn b5_a_failed_instance_cannot_be_snapshotted_and_down_says_what_to_do() {
    let endpoint = serve(vec![("DescribeDBInstances", vec![described("failed")])]);
    let (_, result) = down(endpoint.url()).await;
    let error = result.expect_err("refused").error.to_string();
    assert!(
        error.contains("failed") && error.contains("--no-final-snapshot"),
        "{error}"
    );
    assert_eq!(
        actions(&endpoint),
        ["DescribeDBInstances"],
        "no delete is sent"
    );
}

#[tokio::test]
async fn b8_terminate_answering_not_found_is_not_taken_as_terminated() {
    let endpoint = serve(vec![
        (
            "TerminateInstances",
            vec![ec2_error("InvalidInstanceID.NotFound"), terminating()],
        ),
        (
            "DescribeInstances",
            vec![
                instance("running"),
                instance("shutting-down"),
                instance("shutting-down"),
                instance("terminated"),
            ],
        ),
    ]);
    let plan = delete_plan(ResourceKind::Instance, "i-1", None);
    let (waits, result) = down_with(endpoint.url(), &plan).await;
    result.expect("down completes");
    assert_eq!(
        actions(&endpoint),
        [
            "TerminateInstances",
            "DescribeInstances",
            "TerminateInstances",
            "DescribeInstances",
        ],
        "the instance was still running: terminate was sent again"
    );
    assert!(
        waits.iter().any(|w| w.contains("still running")),
        "{waits:?}"
    );
}

#[tokio::test]
async fn b8_an_endpoint_delete_reported_unsuccessful_is_an_error_naming_why() {
    let endpoint = serve(vec![(
        "DeleteVpcEndpoints",
        vec![(
            200,
            format!(
                "<DeleteVpcEndpointsResponse xmlns=\"{EC2_NS}\"><requestId>r</requestId>\
                 <unsuccessful><item><error><code>InvalidVpcEndpoint.InUse</code><message>in \
                 use by a route</message></error><resourceId>vpce-1</resourceId></item>\
                 </unsuccessful></DeleteVpcEndpointsResponse>"
            ),
        )],
    )]);
    let plan = delete_plan(ResourceKind::VpcEndpoint, "vpce-1", None);
    let (_, result) = down_with(endpoint.url(), &plan).await;
    let error = result.expect_err("not deleted").error.to_string();
    assert!(
        error.contains("vpce-1: InvalidVpcEndpoint.InUse: in use by a route"),
        "{error}"
    );
}
