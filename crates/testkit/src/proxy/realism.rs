//! AWS realism on top of moto: the documented behaviours of AWS that moto leaves out, played by
//! the proxy so that haven's tests meet them.
//!
//! moto is instant and forgiving: every resource is ready the moment it exists, client tokens
//! are never checked, a new instance profile is usable at once, launches never fail. Real AWS
//! is none of these. [`Realism`] names the behaviours (each with its source), and the proxy
//! plays them: before forwarding a request it may answer by itself (an AWS error, a replayed
//! answer), defer it (`DeleteDBInstance`), or forward it changed; after forwarding it learns ids
//! from the answer and rewrites states in `Describe*` answers (string-level XML edits).
//!
//! Lifecycle durations are written as their real, documented values and scaled by
//! [`Realism::time_scale`] (1/900 in [`Realism::aws`]: a 15-minute RDS create takes one second).
//! The eventual-consistency windows (IAM, `*.NotFound`) are not scaled: they are short already,
//! and what matters is that the very next call meets them.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

mod cloudwatch;
pub(crate) mod dns_answer;
mod events;
mod user_data;
mod xml;

use xml::{Edits, child_text, children, content, descendant, escape, first_text, section};

/// The message AWS gives a launch that found no capacity, as Auto Scaling shows it in a failed
/// scaling activity (the `InsufficientInstanceCapacity` text; see
/// <https://docs.aws.amazon.com/autoscaling/ec2/userguide/ts-as-capacity.html>).
pub const INSUFFICIENT_CAPACITY: &str = "We currently do not have sufficient t3.micro capacity \
     in the Availability Zone you requested (ap-northeast-2a). Our system will be working on \
     provisioning additional capacity. You can currently get t3.micro capacity by not \
     specifying an Availability Zone in your request or choosing ap-northeast-2b, \
     ap-northeast-2c. Launching EC2 instance failed.";

const MINUTE: Duration = Duration::from_secs(60);

/// The AWS behaviours the proxy plays on top of moto; [`Realism::aws`] turns them all on.
///
/// Durations are the real, documented ones; [`Realism::time_scale`] shrinks the lifecycle
/// ones. Change a field with struct update syntax (`Realism { rds_delete: …, ..Realism::aws() }`)
/// or a builder method.
#[derive(Debug, Clone, PartialEq)]
pub struct Realism {
    /// Factor applied to every lifecycle duration below (not to the two consistency windows):
    /// 1/900 makes a 15-minute RDS create take one second.
    pub time_scale: f64,
    /// How long a new instance profile (or a role newly added to one) is refused by
    /// `RunInstances` and by Auto Scaling through a launch template (not scaled). Real AWS:
    /// seconds, sometimes 10 s and more ("Invalid IAM Instance Profile name":
    /// hashicorp/terraform-provider-aws#5633 and #40088, eksctl-io/eksctl#8039; IAM is
    /// eventually consistent: <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency>).
    pub iam_propagation: Duration,
    /// How long an id returned by an EC2 `Create*` call is unknown to the first request that
    /// names it (not scaled): "if you run a command to modify or describe the resource that you
    /// just created, its ID might not have propagated throughout the system"
    /// (<https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>).
    pub not_found_window: Duration,
    /// `creating` after `CreateDBInstance` / `CreateDBInstanceReadReplica`: 10–25 min for a
    /// Multi-AZ instance (audit table E; statuses:
    /// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html#Overview.DBInstance.Status>).
    pub rds_create: Duration,
    /// `backing-up` after `creating`: the first automated backup of a new instance (statuses
    /// page above; "a read replica cannot be promoted … when it is in the backing-up status",
    /// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_PromoteReadReplica.html>).
    pub rds_backup: Duration,
    /// `modifying` after `ModifyDBInstance` (a class or Multi-AZ change takes minutes).
    pub rds_modify: Duration,
    /// `rebooting` after `RebootDBInstance`
    /// (<https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_RebootInstance.html>).
    pub rds_reboot: Duration,
    /// `modifying` after `PromoteReadReplica`; afterwards the replication link is gone from
    /// both instances (<https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Promote.html>).
    pub rds_promote: Duration,
    /// `deleting` after `DeleteDBInstance`: 5–15 min (audit table E); a second delete meanwhile
    /// is `InvalidDBInstanceState`
    /// (<https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html>).
    pub rds_delete: Duration,
    /// `pending` after `CreateNatGateway`: 1–5 min (audit table E; states:
    /// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NatGateway.html>).
    pub nat_create: Duration,
    /// `deleting` after `DeleteNatGateway`: 1–10 min (audit table E).
    pub nat_delete: Duration,
    /// `pending` after `CopyImage`: tens of minutes
    /// (<https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/CopyingAMIs.html>).
    pub image_copy: Duration,
    /// `pending` with rising `Progress` after `CopySnapshot`: minutes to hours
    /// (<https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html>).
    pub snapshot_copy: Duration,
    /// `pending` with rising `PercentProgress` after `CopyDBSnapshot`: minutes to hours
    /// (<https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_CopySnapshot.html>).
    pub db_snapshot_copy: Duration,
    /// With a message: raising an Auto Scaling group's desired capacity launches nothing, and
    /// `DescribeScalingActivities` shows a `Failed` launch with this status message ("You can
    /// monitor for failed EC2 launches using the scaling activities",
    /// <https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_StartInstanceRefresh.html>).
    pub failing_launches: Option<String>,
    /// Copies end `failed` (AMI), `error` (EBS snapshot) or `failed` (DB snapshot) instead of
    /// available.
    pub failing_copies: bool,
    /// A Region that does not answer at all, STS included: every connection signed for it is
    /// held for [`Realism::silent_hold`] and then closed without an answer. (IAM is global and
    /// served from us-east-1, so it stays silent only when this is us-east-1.)
    pub silent_region: Option<String>,
    /// How long a silent Region holds a connection before closing it.
    pub silent_hold: Duration,
    /// AMIs of a broken version: a target whose instance was launched from one of them fails
    /// the load balancer's health checks. After its `initial` window (healthy threshold ×
    /// interval, as every new target) `DescribeTargetHealth` reports it `unhealthy`
    /// (`Target.FailedHealthChecks`), forever
    /// (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html>).
    /// moto launches Auto Scaling instances internally, so the image of an instance is learned
    /// from the `DescribeInstances` and `RunInstances` answers that pass the proxy; while it is
    /// unknown (and this list is not empty) the target stays `initial`, never `healthy`.
    pub unhealthy_images: Vec<String>,
    /// Auto Scaling keeps a group's instances balanced over its AZs: it launches into the AZ
    /// with the fewest instances ("Amazon EC2 Auto Scaling attempts to distribute instances
    /// evenly between the Availability Zones",
    /// <https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-availability-zone-balanced.html>).
    /// moto launches every instance into the first subnet of `VPCZoneIdentifier`. With this on,
    /// the proxy has moto launch one instance at a time with the subnet of the emptiest AZ
    /// first, then puts the group's subnet list back as it was (a subnet's AZ is learned from
    /// `CreateSubnet` and `DescribeSubnets` answers). Off in [`Realism::aws`] for now: tests
    /// written for moto's single-AZ groups would change.
    pub spread_launches: bool,
}

impl Eq for Realism {}

impl Default for Realism {
    /// The same as [`Realism::aws`].
    fn default() -> Self {
        Self::aws()
    }
}

impl Realism {
    /// The documented AWS behaviours, time scaled by 1/900, no optional faults.
    pub fn aws() -> Self {
        Self {
            time_scale: 1.0 / 900.0,
            iam_propagation: Duration::from_secs(2),
            not_found_window: Duration::from_millis(300),
            rds_create: 15 * MINUTE,
            rds_backup: 4 * MINUTE,
            rds_modify: 10 * MINUTE,
            rds_reboot: 3 * MINUTE,
            rds_promote: 5 * MINUTE,
            rds_delete: 10 * MINUTE,
            nat_create: 3 * MINUTE,
            nat_delete: 5 * MINUTE,
            image_copy: 20 * MINUTE,
            snapshot_copy: 15 * MINUTE,
            db_snapshot_copy: 20 * MINUTE,
            failing_launches: None,
            failing_copies: false,
            silent_region: None,
            silent_hold: Duration::ZERO,
            unhealthy_images: Vec::new(),
            spread_launches: false,
        }
    }

    /// Auto Scaling launches spread over the group's AZs (see [`Realism::spread_launches`]).
    pub fn spread_launches(mut self) -> Self {
        self.spread_launches = true;
        self
    }

    /// Instances launched from `ami` fail their health checks (see
    /// [`Realism::unhealthy_images`]).
    pub fn unhealthy_image(mut self, ami: impl Into<String>) -> Self {
        self.unhealthy_images.push(ami.into());
        self
    }

    /// Launches fail with `message` (see [`Realism::failing_launches`]; AWS-like text:
    /// [`INSUFFICIENT_CAPACITY`]).
    pub fn failing_launches(mut self, message: impl Into<String>) -> Self {
        self.failing_launches = Some(message.into());
        self
    }

    /// Copies fail (see [`Realism::failing_copies`]).
    pub fn failing_copies(mut self) -> Self {
        self.failing_copies = true;
        self
    }

    /// `region` answers nothing (see [`Realism::silent_region`]).
    pub fn silent_region(mut self, region: impl Into<String>) -> Self {
        self.silent_region = Some(region.into());
        self
    }

    /// Sets [`Realism::time_scale`].
    pub fn with_time_scale(mut self, time_scale: f64) -> Self {
        self.time_scale = time_scale;
        self
    }

    /// A real duration as the proxy plays it.
    pub fn scaled(&self, real: Duration) -> Duration {
        real.mul_f64(self.time_scale.max(0.0))
    }

    /// Whether a request signed for `region` and `service` gets no answer.
    pub(super) fn silences(&self, region: &str, service: &str) -> bool {
        self.silent_region
            .as_deref()
            .is_some_and(|silent| silent == region && (service != "iam" || silent == "us-east-1"))
    }
}

/// What the realism layer did, for tests to assert that it acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RealismKind {
    /// A repeated client token with the same parameters got the first answer again.
    TokenReplayed,
    /// A repeated client token with other parameters got `IdempotentParameterMismatch`.
    TokenMismatch,
    /// A launch naming an instance profile that IAM has not propagated yet was refused.
    ProfileNotReady,
    /// A request naming an id created a moment ago got `*.NotFound`.
    NotFoundWindow,
    /// A state in an answer was rewritten (RDS, NAT, target health, copies, capacity).
    StateRewritten,
    /// A call was refused because the DB instance was not `available`.
    InvalidState,
    /// `DeleteDBInstance` was answered by the proxy and will reach moto later.
    DeleteDeferred,
    /// A deferred `DeleteDBInstance` was sent to moto.
    DeleteReplayed,
    /// A promoted replica's replication link was removed from an answer.
    LinkEnded,
    /// A capacity raise launched nothing and left a failed scaling activity.
    LaunchFailed,
    /// A copy ended failed.
    CopyFailed,
    /// An instance that left its Auto Scaling group was deregistered from the group's target
    /// groups, as Auto Scaling does (moto leaves it `healthy` there).
    TargetLeft,
    /// A connection to the silent Region got no answer.
    Silenced,
}

/// One thing the realism layer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealismEvent {
    /// What it did.
    pub kind: RealismKind,
    /// The Region of the request.
    pub region: String,
    /// The API action of the request.
    pub action: String,
    /// The resource concerned (an id, a name or a token).
    pub subject: String,
}

/// One request as the realism layer sees it: a query-protocol call and its form parameters.
#[derive(Debug)]
pub(super) struct Call {
    pub(super) service: String,
    pub(super) region: String,
    pub(super) action: String,
    pub(super) params: Vec<(String, String)>,
    /// The body of a JSON-protocol request (CloudWatch), empty otherwise.
    pub(super) json: Bytes,
}

impl Call {
    /// Parses the form body (empty parameters for JSON or binary bodies).
    pub(super) fn new(service: &str, region: &str, action: &str, form: Option<&str>) -> Self {
        let params = form
            .map(|form| {
                form.split('&')
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| {
                        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                        (super::percent_decode(key), super::percent_decode(value))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            service: service.to_owned(),
            region: region.to_owned(),
            action: action.to_owned(),
            params,
            json: Bytes::new(),
        }
    }

    /// The same call with the body of a JSON-protocol request.
    pub(super) fn with_json(mut self, body: Bytes) -> Self {
        self.json = body;
        self
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Values of `prefix.N.suffix` (e.g. `Targets.member.1.Id`), in order.
    fn list(&self, prefix: &str, suffix: &str) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(key, _)| {
                key.strip_prefix(prefix)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .and_then(|rest| rest.split_once('.'))
                    .is_some_and(|(index, rest)| {
                        index.chars().all(|c| c.is_ascii_digit()) && rest == suffix
                    })
            })
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// The form body without parameter `name`.
    fn without(&self, name: &str) -> Bytes {
        let kept: Vec<String> = self
            .params
            .iter()
            .filter(|(key, _)| key != name)
            .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
            .collect();
        Bytes::from(kept.join("&"))
    }

    /// The form body with parameters `set` replaced (or added when missing).
    fn with(&self, set: &[(&str, &str)]) -> Bytes {
        let mut pairs: Vec<String> = self
            .params
            .iter()
            .filter(|(key, _)| !set.iter().any(|(name, _)| name == key))
            .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
            .collect();
        pairs.extend(
            set.iter()
                .map(|(key, value)| format!("{}={}", encode(key), encode(value))),
        );
        Bytes::from(pairs.join("&"))
    }

    fn event(&self, kind: RealismKind, subject: &str) -> RealismEvent {
        RealismEvent {
            kind,
            region: self.region.clone(),
            action: self.action.clone(),
            subject: subject.to_owned(),
        }
    }
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// An answer the proxy gives by itself.
#[derive(Debug)]
pub(super) enum Answer {
    /// HTTP 200 with this XML body.
    Ok(String),
    /// An AWS error.
    Error {
        status: u16,
        code: &'static str,
        message: String,
    },
}

/// What to do with a request before forwarding it.
#[derive(Debug)]
pub(super) enum Before {
    /// Forward it as it is.
    Forward,
    /// Forward it with this form body instead.
    ForwardBody(Bytes),
    /// Answer by itself.
    Answer(Answer),
    /// Send moto the `before` bodies (same service, answers dropped), then forward `body` (its
    /// answer is the client's), then the `after` bodies.
    Prepared {
        before: Vec<String>,
        body: Bytes,
        after: Vec<String>,
    },
    /// Answer by itself now, and send the original request to moto after `delay`; then call
    /// [`State::replayed`] with `db`.
    Defer {
        answer: Answer,
        /// The form body to send to moto then.
        body: Bytes,
        delay: Duration,
        db: String,
        /// The replay is dropped if what realism learned was forgotten meanwhile.
        generation: u64,
    },
}

/// A state that lasts until an instant.
#[derive(Debug, Clone)]
struct Phase {
    status: &'static str,
    until: Instant,
}

/// The first phase still running.
fn current(phases: &[Phase], now: Instant) -> Option<&'static str> {
    phases
        .iter()
        .find(|phase| phase.until > now)
        .map(|phase| phase.status)
}

#[derive(Debug, Default)]
struct Db {
    phases: Vec<Phase>,
    /// When the delete is sent to moto; answered `deleting` until moto has it.
    deleting: Option<Instant>,
    /// Promoted: the replication link is gone from answers after that instant.
    promoted: Option<Instant>,
    /// The last `<DBInstance>` element moto gave, to answer a deferred delete with.
    element: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum CopyKind {
    Image,
    Snapshot,
    DbSnapshot,
}

#[derive(Debug)]
struct Copy {
    started: Instant,
    until: Instant,
    fails: bool,
}

#[derive(Debug)]
struct Target {
    port: Option<String>,
    initial_until: Instant,
    draining_until: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct TargetGroupTiming {
    interval: u64,
    healthy_threshold: u64,
    deregistration_delay: u64,
}

impl Default for TargetGroupTiming {
    /// The defaults of an HTTP target group: 30 s interval, healthy after 5, 300 s delay
    /// (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html>,
    /// <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#deregistration-delay>).
    fn default() -> Self {
        Self {
            interval: 30,
            healthy_threshold: 5,
            deregistration_delay: 300,
        }
    }
}

#[derive(Debug, Default)]
struct Group {
    /// moto's desired capacity, as last seen.
    desired: Option<i64>,
    /// The desired capacity asked for while launches fail (what AWS would show).
    wanted: Option<i64>,
    /// Scaling activities (failed launches, and launches and terminations seen in moto's
    /// answers), oldest first.
    activities: Vec<String>,
    /// The last change of its desired capacity asked by a user, until activities name it.
    change: Option<events::CapacityChange>,
    /// Its instances and target groups in moto's last answer (`None`: never listed).
    members: Option<Members>,
}

#[derive(Debug, Default)]
struct Members {
    instances: Vec<String>,
    /// The AZ of each instance.
    azs: Vec<String>,
    target_groups: Vec<String>,
    /// Its subnets, as moto lists them.
    zone_identifier: Option<String>,
}

/// Instances that joined or left a group between two of moto's answers.
struct MemberChange {
    group: String,
    started: Vec<String>,
    gone: Vec<String>,
    /// The number of instances before and after.
    capacity: (i64, i64),
}

/// A request the proxy sends moto on its own (not recorded: haven did not send it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FollowUp {
    /// The service to sign it for (`elasticloadbalancing`).
    pub(super) service: &'static str,
    /// The form body.
    pub(super) body: String,
}

#[derive(Debug, Default)]
struct Template {
    name: String,
    /// Instance profile name of each version.
    versions: BTreeMap<u64, Option<String>>,
}

/// The parameters a client token was first used with, and the answer it got.
type FirstAnswer = (Vec<(String, String)>, Bytes);

/// What the realism layer knows and has done; one per proxy.
#[derive(Debug, Default)]
pub(super) struct State {
    events: Vec<RealismEvent>,
    counter: u64,
    /// Bumped by [`State::forget`], so that deferred requests of a reset moto are dropped.
    generation: u64,
    /// `(region, client token)` → (the other parameters, the first answer).
    tokens: HashMap<(String, String), FirstAnswer>,
    /// Instance profile name → when IAM has propagated it.
    profiles: HashMap<String, Instant>,
    /// `(region, launch template id)` → its versions.
    templates: HashMap<(String, String), Template>,
    /// `(region, id)` → when it was created, until the first request names it.
    fresh: HashMap<(String, String), Instant>,
    dbs: HashMap<(String, String), Db>,
    nats: HashMap<(String, String), Phase>,
    copies: HashMap<(String, String, CopyKind), Copy>,
    target_groups: HashMap<String, TargetGroupTiming>,
    /// `(target group ARN, target id)` → its registration.
    targets: HashMap<(String, String), Target>,
    /// `(region, instance id)` → the AMI it was launched from, as EC2 answers said.
    instance_images: HashMap<(String, String), String>,
    /// `(region, instance id)` → the launch template version its group named when it was
    /// first listed (what Auto Scaling reports for the instance).
    instance_versions: HashMap<(String, String), String>,
    /// Requests for moto that the proxy sends after the current one.
    follow_ups: Vec<FollowUp>,
    /// `(region, subnet id)` → its AZ.
    subnet_azs: HashMap<(String, String), String>,
    groups: HashMap<(String, String), Group>,
    /// The user data of launch template versions, kept from moto (see `user_data`).
    user_data: user_data::UserData,
    /// CloudWatch alarms not evaluated yet (see `cloudwatch`).
    alarms: cloudwatch::Alarms,
    /// RDS events moto does not record (see `events`).
    rds_events: events::RdsEvents,
}

fn key(region: &str, id: &str) -> (String, String) {
    (region.to_owned(), id.to_owned())
}

/// The name in an ARN (`…/name` or `…:name`), or the text itself.
fn name_of(arn_or_name: &str) -> &str {
    if arn_or_name.starts_with("arn:") {
        arn_or_name.rsplit(['/', ':']).next().unwrap_or(arn_or_name)
    } else {
        arn_or_name
    }
}

/// `(region, DB identifier)` of an identifier or an RDS ARN (`arn:aws:rds:REGION:ACCOUNT:db:ID`).
fn db_key(region: &str, identifier: &str) -> (String, String) {
    let fields: Vec<&str> = identifier.split(':').collect();
    match fields.as_slice() {
        ["arn", _, "rds", arn_region, _, "db", id] => key(arn_region, id),
        _ => key(region, identifier),
    }
}

/// The `*.NotFound` code and message EC2 gives for an id it does not know (yet).
fn not_found(id: &str) -> Option<(&'static str, String)> {
    let (prefix, _) = id.split_once('-')?;
    Some(match prefix {
        "vpc" => (
            "InvalidVpcID.NotFound",
            format!("The vpc ID '{id}' does not exist"),
        ),
        "subnet" => (
            "InvalidSubnetID.NotFound",
            format!("The subnet ID '{id}' does not exist"),
        ),
        "sg" => (
            "InvalidGroup.NotFound",
            format!("The security group '{id}' does not exist"),
        ),
        "igw" => (
            "InvalidInternetGatewayID.NotFound",
            format!("The internetGateway ID '{id}' does not exist"),
        ),
        "rtb" => (
            "InvalidRouteTableID.NotFound",
            format!("The routeTable ID '{id}' does not exist"),
        ),
        "eipalloc" => (
            "InvalidAllocationID.NotFound",
            format!("The allocation ID '{id}' does not exist"),
        ),
        "nat" => (
            "InvalidNatGatewayID.NotFound",
            format!("The Nat Gateway {id} was not found"),
        ),
        "lt" => (
            "InvalidLaunchTemplateId.NotFound",
            format!("The specified launch template, with template ID {id}, does not exist."),
        ),
        "ami" => (
            "InvalidAMIID.NotFound",
            format!("The image id '[{id}]' does not exist"),
        ),
        _ => return None,
    })
}

/// The element of an EC2 `Create*` answer that holds the new id.
fn created_id_element(action: &str) -> Option<&'static str> {
    Some(match action {
        "CreateVpc" => "vpcId",
        "CreateSubnet" => "subnetId",
        "CreateSecurityGroup" => "groupId",
        "CreateInternetGateway" => "internetGatewayId",
        "CreateRouteTable" => "routeTableId",
        "AllocateAddress" => "allocationId",
        "CreateNatGateway" => "natGatewayId",
        "CreateLaunchTemplate" => "launchTemplateId",
        "CreateImage" | "CopyImage" | "RegisterImage" => "imageId",
        _ => return None,
    })
}

/// Parameters whose values are not references to resources.
fn is_reference(key: &str) -> bool {
    !(key.starts_with("Filter.")
        || key.contains("Tag")
        || key == "ClientToken"
        || key == "Action"
        || key == "Version"
        || key == "Description")
}

/// An ISO 8601 UTC timestamp of `time`, as AWS writes them.
pub(super) fn timestamp(time: SystemTime) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(seconds / 86_400).unwrap_or_default();
    let rest = seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

impl State {
    /// Forgets what was learned (ids, tokens, states), keeping the events.
    pub(super) fn forget(&mut self) {
        *self = Self {
            events: std::mem::take(&mut self.events),
            counter: self.counter,
            generation: self.generation + 1,
            ..Self::default()
        };
    }

    /// Whether a request deferred at `generation` should still reach moto.
    pub(super) fn is_current(&self, generation: u64) -> bool {
        self.generation == generation
    }

    /// Everything done so far.
    pub(super) fn events(&self) -> Vec<RealismEvent> {
        self.events.clone()
    }

    /// A connection to the silent Region got no answer.
    pub(super) fn silenced(&mut self, region: &str, service: &str, action: &str) {
        self.events.push(RealismEvent {
            kind: RealismKind::Silenced,
            region: region.to_owned(),
            action: action.to_owned(),
            subject: service.to_owned(),
        });
    }

    fn note(&mut self, call: &Call, kind: RealismKind, subject: &str) {
        self.events.push(call.event(kind, subject));
    }

    fn next_id(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// Decides what happens to `call` before it is forwarded.
    pub(super) fn before(&mut self, realism: &Realism, call: &Call) -> Before {
        let now = Instant::now();
        match call.service.as_str() {
            "ec2" => {
                if let Some(before) = self.client_token(call) {
                    return before;
                }
                if call.action == "RunInstances"
                    && let Some(answer) = self.launch_profile(call, now, false)
                {
                    return Before::Answer(answer);
                }
                if let Some(answer) = self.not_found_window(realism, call, now) {
                    return Before::Answer(answer);
                }
                if call.action == "CreateLaunchTemplateVersion"
                    && call.param(user_data::PARAM).is_some()
                {
                    return Before::ForwardBody(call.without(user_data::PARAM));
                }
                Before::Forward
            }
            "autoscaling" => {
                if matches!(
                    call.action.as_str(),
                    "CreateAutoScalingGroup" | "UpdateAutoScalingGroup"
                ) && let Some(answer) = self.launch_profile(call, now, true)
                {
                    return Before::Answer(answer);
                }
                if realism.failing_launches.is_some() {
                    return self.failing_launch(realism, call);
                }
                if realism.spread_launches
                    && let Some(spread) = self.spread(call)
                {
                    return spread;
                }
                Before::Forward
            }
            "rds" => self.rds_before(realism, call, now),
            "monitoring" => self
                .alarms
                .before(&call.region, &call.action, &call.json)
                .map_or(Before::Forward, |body| {
                    Before::ForwardBody(Bytes::from(body))
                }),
            _ => Before::Forward,
        }
    }

    /// Learns from moto's answer to `call` and rewrites it; `None` keeps it as it is.
    pub(super) fn after(
        &mut self,
        realism: &Realism,
        call: &Call,
        status: u16,
        body: &Bytes,
    ) -> Option<String> {
        let Ok(text) = std::str::from_utf8(body) else {
            return None;
        };
        let now = Instant::now();
        if status != 200 {
            if call.service == "rds"
                && text.contains("DBInstanceNotFound")
                && let Some(id) = call.param("DBInstanceIdentifier")
            {
                self.dbs.remove(&db_key(&call.region, id));
            }
            return None;
        }
        let rewritten = self.rewrite(realism, call, text, body, now);
        let kept = match (call.action.as_str(), call.param(user_data::PARAM)) {
            ("CreateLaunchTemplateVersion", Some(data)) => {
                let data = data.to_owned();
                self.user_data
                    .created(&call.region, &data, rewritten.as_deref().unwrap_or(text))
            }
            ("DescribeLaunchTemplateVersions", _) => self
                .user_data
                .described(&call.region, rewritten.as_deref().unwrap_or(text)),
            _ => None,
        };
        kept.or(rewritten)
    }

    fn rewrite(
        &mut self,
        realism: &Realism,
        call: &Call,
        text: &str,
        body: &Bytes,
        now: Instant,
    ) -> Option<String> {
        match call.service.as_str() {
            "ec2" => self.ec2_after(realism, call, text, body, now),
            "iam" => {
                if matches!(
                    call.action.as_str(),
                    "CreateInstanceProfile" | "AddRoleToInstanceProfile"
                ) && let Some(name) = call.param("InstanceProfileName")
                {
                    self.profiles
                        .insert(name.to_owned(), now + realism.iam_propagation);
                }
                None
            }
            "rds" => self.rds_after(realism, call, text, now),
            "elasticloadbalancing" => self.elb_after(realism, call, text, now),
            "autoscaling" => self.autoscaling_after(realism, call, text, now),
            "monitoring" => self
                .alarms
                .after(&call.region, &call.action, &call.json, text),
            _ => None,
        }
    }

    // --- 1. EC2 client tokens ------------------------------------------------------------

    /// A repeated client token: the first answer again when the parameters are the same,
    /// `IdempotentParameterMismatch` otherwise. "If you retry a successful request using the
    /// same client token, but one or more of the parameters are different … the retry fails
    /// with an IdempotentParameterMismatch error"; the same parameters give the first result
    /// again, even when that resource is gone
    /// (<https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html>).
    fn client_token(&mut self, call: &Call) -> Option<Before> {
        let token = call.param("ClientToken")?;
        let (params, answer) = self.tokens.get(&key(&call.region, token))?;
        if *params == token_params(call) {
            let answer = String::from_utf8_lossy(answer).into_owned();
            self.note(call, RealismKind::TokenReplayed, token);
            Some(Before::Answer(Answer::Ok(answer)))
        } else {
            self.note(call, RealismKind::TokenMismatch, token);
            Some(Before::Answer(Answer::Error {
                status: 400,
                code: "IdempotentParameterMismatch",
                message: "Arguments on this idempotent request are inconsistent with arguments \
                          used in previous request(s)."
                    .to_owned(),
            }))
        }
    }

    fn ec2_after(
        &mut self,
        realism: &Realism,
        call: &Call,
        text: &str,
        body: &Bytes,
        now: Instant,
    ) -> Option<String> {
        if let Some(token) = call.param("ClientToken") {
            self.tokens
                .entry(key(&call.region, token))
                .or_insert_with(|| (token_params(call), body.clone()));
        }
        if let Some(element) = created_id_element(&call.action)
            && let Some(id) = first_text(text, element)
        {
            self.fresh.insert(key(&call.region, id), now);
        }
        match call.action.as_str() {
            "CreateLaunchTemplate" | "CreateLaunchTemplateVersion" => {
                self.learn_template(call, text);
                None
            }
            "DescribeInstances" | "RunInstances" => {
                self.learn_images(call, text);
                None
            }
            "CreateSubnet" | "DescribeSubnets" => {
                self.learn_subnets(call, text);
                None
            }
            "CreateNatGateway" => {
                let id = first_text(text, "natGatewayId")?.to_owned();
                let until = now + realism.scaled(realism.nat_create);
                self.nats.insert(
                    key(&call.region, &id),
                    Phase {
                        status: "pending",
                        until,
                    },
                );
                self.rewrite_items(call, text, "natGateway", "natGatewayId", now)
            }
            "DeleteNatGateway" => {
                let id = call.param("NatGatewayId")?;
                let until = now + realism.scaled(realism.nat_delete);
                self.nats.insert(
                    key(&call.region, id),
                    Phase {
                        status: "deleting",
                        until,
                    },
                );
                None
            }
            "DescribeNatGateways" => {
                self.rewrite_items(call, text, "natGatewaySet", "natGatewayId", now)
            }
            "CopyImage" => {
                let id = first_text(text, "imageId")?.to_owned();
                self.start_copy(realism, call, &id, CopyKind::Image, realism.image_copy, now);
                None
            }
            "CopySnapshot" => {
                let id = first_text(text, "snapshotId")?.to_owned();
                let duration = realism.snapshot_copy;
                self.start_copy(realism, call, &id, CopyKind::Snapshot, duration, now);
                None
            }
            "DescribeImages" => self.rewrite_copies(call, text, CopyKind::Image, now),
            "DescribeSnapshots" => self.rewrite_copies(call, text, CopyKind::Snapshot, now),
            _ => None,
        }
    }

    /// Learns the image of every instance of a `DescribeInstances` (reservations) or
    /// `RunInstances` (one reservation) answer.
    fn learn_images(&mut self, call: &Call, text: &str) {
        let whole = 0..text.len();
        let sets: Vec<_> = match section(text, "reservationSet") {
            Some(reservations) if call.action == "DescribeInstances" => {
                children(text, reservations, "item")
                    .into_iter()
                    .filter_map(|item| descendant(text, content(text, item), "instancesSet"))
                    .collect()
            }
            _ => descendant(text, whole, "instancesSet")
                .into_iter()
                .collect(),
        };
        for set in sets {
            for item in children(text, content(text, set), "item") {
                let inner = content(text, item);
                if let (Some(id), Some(image)) = (
                    child_text(text, inner.clone(), "instanceId"),
                    child_text(text, inner, "imageId"),
                ) {
                    self.instance_images
                        .insert(key(&call.region, id), image.to_owned());
                }
            }
        }
    }

    /// Learns the AZ of every subnet of a `CreateSubnet` or `DescribeSubnets` answer.
    fn learn_subnets(&mut self, call: &Call, text: &str) {
        let subnets = match section(text, "subnetSet") {
            Some(set) => children(text, set, "item"),
            None => descendant(text, 0..text.len(), "subnet")
                .into_iter()
                .collect(),
        };
        for subnet in subnets {
            let inner = content(text, subnet);
            if let (Some(id), Some(az)) = (
                child_text(text, inner.clone(), "subnetId"),
                child_text(text, inner, "availabilityZone"),
            ) {
                self.subnet_azs.insert(key(&call.region, id), az.to_owned());
            }
        }
    }

    // --- 2. IAM propagation ----------------------------------------------------------------

    fn learn_template(&mut self, call: &Call, text: &str) {
        let Some(id) = first_text(text, "launchTemplateId") else {
            return;
        };
        let name = first_text(text, "launchTemplateName").unwrap_or_default();
        let version = first_text(text, "versionNumber")
            .or_else(|| first_text(text, "latestVersionNumber"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let named = call
            .param("LaunchTemplateData.IamInstanceProfile.Name")
            .or_else(|| call.param("LaunchTemplateData.IamInstanceProfile.Arn"))
            .map(|profile| name_of(profile).to_owned());
        let template = self.templates.entry(key(&call.region, id)).or_default();
        template.name = name.to_owned();
        let inherited = call
            .param("SourceVersion")
            .and_then(|v| v.parse::<u64>().ok())
            .and_then(|v| template.versions.get(&v).cloned())
            .flatten();
        template.versions.insert(version, named.or(inherited));
    }

    /// The instance profile a launch names, directly or through its launch template.
    fn launch_profile_name(&self, call: &Call) -> Option<String> {
        if let Some(profile) = call
            .param("IamInstanceProfile.Name")
            .or_else(|| call.param("IamInstanceProfile.Arn"))
        {
            return Some(name_of(profile).to_owned());
        }
        let prefixes = [
            "LaunchTemplate",
            "MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification",
        ];
        prefixes.iter().find_map(|prefix| {
            let id = call.param(&format!("{prefix}.LaunchTemplateId"));
            let name = call.param(&format!("{prefix}.LaunchTemplateName"));
            let version = call.param(&format!("{prefix}.Version"));
            let template = self.templates.iter().find_map(|((region, tid), t)| {
                (*region == call.region
                    && (id == Some(tid.as_str()) || name == Some(t.name.as_str())))
                .then_some(t)
            })?;
            let profile = match version.and_then(|v| v.parse::<u64>().ok()) {
                Some(number) => template.versions.get(&number),
                None if version == Some("$Latest") => template.versions.values().next_back(),
                None => template.versions.values().next(),
            };
            profile.cloned().flatten()
        })
    }

    /// Refuses a launch that names an instance profile IAM has not propagated yet: Auto
    /// Scaling says `ValidationError` "You must use a valid fully-formed launch template …",
    /// `RunInstances` says `InvalidParameterValue` (the texts quoted in
    /// hashicorp/terraform-provider-aws#5633 and #40088, eksctl-io/eksctl#8039).
    fn launch_profile(&mut self, call: &Call, now: Instant, auto_scaling: bool) -> Option<Answer> {
        let profile = self.launch_profile_name(call)?;
        let ready = *self.profiles.get(&profile)?;
        if now >= ready {
            return None;
        }
        self.note(call, RealismKind::ProfileNotReady, &profile);
        let invalid = format!(
            "Value ({profile}) for parameter iamInstanceProfile.name is invalid. Invalid IAM \
             Instance Profile name"
        );
        Some(if auto_scaling {
            Answer::Error {
                status: 400,
                code: "ValidationError",
                message: format!("You must use a valid fully-formed launch template. {invalid}"),
            }
        } else {
            Answer::Error {
                status: 400,
                code: "InvalidParameterValue",
                message: invalid,
            }
        })
    }

    // --- 3. NotFound windows ---------------------------------------------------------------

    /// The first request naming an id created less than the window ago does not find it
    /// (<https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>).
    fn not_found_window(&mut self, realism: &Realism, call: &Call, now: Instant) -> Option<Answer> {
        let window = realism.not_found_window;
        self.fresh
            .retain(|_, created| now.duration_since(*created) < window);
        let id = call
            .params
            .iter()
            .filter(|(name, _)| is_reference(name))
            .map(|(_, value)| value)
            .find(|value| self.fresh.contains_key(&key(&call.region, value)))?
            .clone();
        self.fresh.remove(&key(&call.region, &id));
        let (code, message) = not_found(&id)?;
        self.note(call, RealismKind::NotFoundWindow, &id);
        Some(Answer::Error {
            status: 400,
            code,
            message,
        })
    }

    // --- 4. RDS lifecycle ------------------------------------------------------------------

    fn db_status(&self, db: &(String, String), now: Instant) -> Option<&'static str> {
        let state = self.dbs.get(db)?;
        // `deleting` until moto has the delete (`replayed` forgets the instance then), not only
        // until the deadline: a describe between the two would otherwise see moto's `available`.
        if state.deleting.is_some() {
            return Some("deleting");
        }
        current(&state.phases, now)
    }

    /// Refuses calls that need an `available` instance while it is in another state, and
    /// answers `DeleteDBInstance` by itself (`deleting`), sending it to moto later.
    fn rds_before(&mut self, realism: &Realism, call: &Call, now: Instant) -> Before {
        let needs_available = match call.action.as_str() {
            "ModifyDBInstance" | "DeleteDBInstance" | "RebootDBInstance" | "PromoteReadReplica"
            | "CreateDBSnapshot" => call.param("DBInstanceIdentifier"),
            "CreateDBInstanceReadReplica" => call.param("SourceDBInstanceIdentifier"),
            _ => None,
        };
        let Some(identifier) = needs_available else {
            return Before::Forward;
        };
        let db = db_key(&call.region, identifier);
        if let Some(status) = self.db_status(&db, now) {
            let id = &db.1;
            let message = match (call.action.as_str(), status) {
                ("DeleteDBInstance", "deleting") => {
                    format!("Instance {id} is already being deleted.")
                }
                ("CreateDBSnapshot", _) => format!(
                    "Cannot create a snapshot because the database instance {id} is not \
                     currently in the available state."
                ),
                _ => format!("Database instance {id} is not in available state ({status})."),
            };
            self.note(call, RealismKind::InvalidState, id);
            return Before::Answer(Answer::Error {
                status: 400,
                code: "InvalidDBInstanceState",
                message,
            });
        }
        if call.action != "DeleteDBInstance" {
            return Before::Forward;
        }
        if call.param("FinalDBSnapshotIdentifier").is_some() && self.is_replica(&db, now) {
            // FinalDBSnapshotIdentifier "can't be specified when deleting a read replica"
            // (<https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html>);
            // moto takes it.
            self.note(call, RealismKind::InvalidState, &db.1);
            return Before::Answer(Answer::Error {
                status: 400,
                code: "InvalidParameterCombination",
                message: "FinalDBSnapshotIdentifier can't be specified when deleting a read \
                          replica."
                    .to_owned(),
            });
        }
        let Some(state) = self.dbs.get_mut(&db) else {
            // Never seen: moto answers (DBInstanceNotFound, or a delete at once).
            return Before::Forward;
        };
        let delay = realism.scaled(realism.rds_delete);
        state.deleting = Some(now + delay);
        let element = state.element.clone().unwrap_or_else(|| {
            format!(
                "<DBInstance><DBInstanceIdentifier>{}</DBInstanceIdentifier>\
                 <DBInstanceStatus>available</DBInstanceStatus></DBInstance>",
                escape(&db.1)
            )
        });
        let element = with_status(&element, "deleting");
        let request_id = self.next_id();
        self.note(call, RealismKind::DeleteDeferred, &db.1);
        // AWS keeps the automated backups of a deleted instance (`DeleteAutomatedBackups=false`)
        // as retained automated backups, listed by `DescribeDBInstanceAutomatedBackups`, not as
        // DB snapshots (<https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html>).
        // moto keeps them as `rds:<id>-<minute>` snapshots, and a new instance of the same name
        // made in the same minute then fails its first backup (`DBSnapshotAlreadyExists`), so
        // moto is asked to drop them.
        let mut body = call.without("DeleteAutomatedBackups").to_vec();
        body.extend_from_slice(b"&DeleteAutomatedBackups=true");
        Before::Defer {
            body: Bytes::from(body),
            answer: Answer::Ok(format!(
                "<DeleteDBInstanceResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">\
                 <DeleteDBInstanceResult>{element}</DeleteDBInstanceResult><ResponseMetadata>\
                 <RequestId>haven-realism-{request_id}</RequestId></ResponseMetadata>\
                 </DeleteDBInstanceResponse>"
            )),
            delay,
            db: db.1.clone(),
            generation: self.generation,
        }
    }

    /// Whether the last answer about `db` showed it as a read replica (not promoted since).
    fn is_replica(&self, db: &(String, String), now: Instant) -> bool {
        self.dbs.get(db).is_some_and(|state| {
            state.promoted.is_none_or(|until| until > now)
                && state
                    .element
                    .as_deref()
                    .is_some_and(|e| e.contains("<ReadReplicaSourceDBInstanceIdentifier>"))
        })
    }

    /// The deferred `DeleteDBInstance` of `db` reached moto and got `status`.
    pub(super) fn replayed(&mut self, call: &Call, db: &str, status: u16) {
        self.dbs.remove(&db_key(&call.region, db));
        self.note(
            call,
            RealismKind::DeleteReplayed,
            &format!("{db} ({status})"),
        );
    }

    fn rds_after(
        &mut self,
        realism: &Realism,
        call: &Call,
        text: &str,
        now: Instant,
    ) -> Option<String> {
        let took = match call.action.as_str() {
            "RebootDBInstance" | "FailoverDBCluster" => Some(realism.rds_reboot),
            "PromoteReadReplica" => Some(realism.rds_promote),
            _ => None,
        };
        if let Some(took) = took {
            let took = realism.scaled(took);
            self.rds_events.record(call, text, SystemTime::now(), took);
        }
        let phases: &[(&'static str, Duration)] = match call.action.as_str() {
            "DescribeEvents" => {
                return self.rds_events.rewrite(call, text, SystemTime::now());
            }
            "CreateDBInstance" | "CreateDBInstanceReadReplica" => &[
                ("creating", realism.rds_create),
                ("backing-up", realism.rds_backup),
            ],
            "ModifyDBInstance" if modifies(call) => &[("modifying", realism.rds_modify)],
            "RebootDBInstance" => &[("rebooting", realism.rds_reboot)],
            "PromoteReadReplica" => &[("modifying", realism.rds_promote)],
            "CopyDBSnapshot" => {
                let id = first_text(text, "DBSnapshotIdentifier")?.to_owned();
                let duration = realism.db_snapshot_copy;
                self.start_copy(realism, call, &id, CopyKind::DbSnapshot, duration, now);
                return self.rewrite_copies(call, text, CopyKind::DbSnapshot, now);
            }
            "DescribeDBSnapshots" => {
                return self.rewrite_copies(call, text, CopyKind::DbSnapshot, now);
            }
            "DescribeDBInstances" => &[],
            _ => return None,
        };
        if !phases.is_empty()
            && let Some(id) = call.param("DBInstanceIdentifier")
        {
            let mut until = now;
            let state = self.dbs.entry(db_key(&call.region, id)).or_default();
            state.phases = phases
                .iter()
                .map(|(status, duration)| {
                    until += realism.scaled(*duration);
                    Phase { status, until }
                })
                .collect();
            if call.action == "PromoteReadReplica" {
                state.promoted = Some(until);
            }
        }
        self.rewrite_dbs(call, text, now)
    }

    /// Rewrites the status of every `<DBInstance>` of an answer, and removes the replication
    /// link of promoted replicas (moto keeps it).
    fn rewrite_dbs(&mut self, call: &Call, text: &str, now: Instant) -> Option<String> {
        let within = section(text, "DBInstances")
            .or_else(|| section(text, &format!("{}Result", call.action)))?;
        let elements = children(text, within, "DBInstance");
        if call.action == "DescribeDBInstances"
            && call.param("DBInstanceIdentifier").is_none()
            && call.param("Marker").is_none()
            && !call.params.iter().any(|(k, _)| k.starts_with("Filters."))
        {
            // A full listing: forget instances moto no longer has.
            let listed: Vec<String> = elements
                .iter()
                .filter_map(|e| child_text(text, content(text, e.clone()), "DBInstanceIdentifier"))
                .map(str::to_owned)
                .collect();
            self.dbs
                .retain(|(region, id), _| *region != call.region || listed.contains(id));
        }
        // Promoted in any Region: a cross-Region replica is listed by its ARN on its source.
        let ended: Vec<(String, String)> = self
            .dbs
            .iter()
            .filter(|(_, db)| db.promoted.is_some_and(|until| until <= now))
            .map(|(db, _)| db.clone())
            .collect();
        let mut edits = Edits::default();
        for element in elements {
            let inner = content(text, element.clone());
            let Some(id) = child_text(text, inner.clone(), "DBInstanceIdentifier") else {
                continue;
            };
            let db = key(&call.region, id);
            let status = self.db_status(&db, now);
            let state = self.dbs.entry(db).or_default();
            state.element = Some(text[element.clone()].to_owned());
            if let Some(status) = status {
                edits.set_child(text, inner.clone(), "DBInstanceStatus", status);
                self.events
                    .push(call.event(RealismKind::StateRewritten, id));
            }
            if ended.contains(&key(&call.region, id))
                && let Some(link) =
                    children(text, inner.clone(), "ReadReplicaSourceDBInstanceIdentifier")
                        .into_iter()
                        .next()
            {
                edits.replace(link, "");
                self.events.push(call.event(RealismKind::LinkEnded, id));
            }
            if let Some(list) = children(text, inner, "ReadReplicaDBInstanceIdentifiers")
                .into_iter()
                .next()
            {
                for replica in
                    children(text, content(text, list), "ReadReplicaDBInstanceIdentifier")
                {
                    let name = &text[content(text, replica.clone())];
                    if ended.contains(&db_key(&call.region, name)) {
                        edits.replace(replica, "");
                        self.events.push(call.event(RealismKind::LinkEnded, name));
                    }
                }
            }
        }
        (!edits.is_empty()).then(|| edits.apply(text))
    }

    // --- 5. NAT gateways -------------------------------------------------------------------

    /// Rewrites the `<state>` of the NAT gateways in `set` whose phase still runs.
    fn rewrite_items(
        &mut self,
        call: &Call,
        text: &str,
        set: &str,
        id_element: &str,
        now: Instant,
    ) -> Option<String> {
        let within = section(text, set)?;
        let items = if set == "natGateway" {
            vec![within]
        } else {
            children(text, within, "item")
                .into_iter()
                .map(|item| content(text, item))
                .collect()
        };
        let mut edits = Edits::default();
        for item in items {
            let Some(id) = child_text(text, item.clone(), id_element) else {
                continue;
            };
            let Some(phase) = self.nats.get(&key(&call.region, id)) else {
                continue;
            };
            if phase.until > now {
                edits.set_child(text, item, "state", phase.status);
                self.events
                    .push(call.event(RealismKind::StateRewritten, id));
            }
        }
        (!edits.is_empty()).then(|| edits.apply(text))
    }

    // --- 6. Target health ------------------------------------------------------------------

    fn elb_after(
        &mut self,
        realism: &Realism,
        call: &Call,
        text: &str,
        now: Instant,
    ) -> Option<String> {
        match call.action.as_str() {
            "CreateTargetGroup" | "DescribeTargetGroups" => {
                let within = section(text, "TargetGroups")?;
                for group in children(text, within, "member") {
                    let inner = content(text, group);
                    let Some(arn) = child_text(text, inner.clone(), "TargetGroupArn") else {
                        continue;
                    };
                    let number = |name| {
                        child_text(text, inner.clone(), name).and_then(|v| v.parse::<u64>().ok())
                    };
                    let timing = self.target_groups.entry(arn.to_owned()).or_default();
                    if let Some(interval) = number("HealthCheckIntervalSeconds") {
                        timing.interval = interval;
                    }
                    if let Some(threshold) = number("HealthyThresholdCount") {
                        timing.healthy_threshold = threshold;
                    }
                }
                None
            }
            "ModifyTargetGroupAttributes" | "DescribeTargetGroupAttributes" => {
                let arn = call.param("TargetGroupArn")?;
                let within = section(text, "Attributes")?;
                for attribute in children(text, within, "member") {
                    let inner = content(text, attribute);
                    if child_text(text, inner.clone(), "Key")
                        == Some("deregistration_delay.timeout_seconds")
                        && let Some(seconds) =
                            child_text(text, inner, "Value").and_then(|v| v.parse().ok())
                    {
                        self.target_groups
                            .entry(arn.to_owned())
                            .or_default()
                            .deregistration_delay = seconds;
                    }
                }
                None
            }
            "RegisterTargets" => {
                let arn = call.param("TargetGroupArn")?;
                let ids = call.list("Targets.member", "Id");
                let ports = call.list("Targets.member", "Port");
                for (index, id) in ids.iter().enumerate() {
                    let until = now + self.initial_window(realism, arn);
                    self.targets.insert(
                        (arn.to_owned(), (*id).to_owned()),
                        Target {
                            port: ports.get(index).map(|p| (*p).to_owned()),
                            initial_until: until,
                            draining_until: None,
                        },
                    );
                }
                None
            }
            "DeregisterTargets" => {
                let arn = call.param("TargetGroupArn")?;
                let ports = call.list("Targets.member", "Port");
                for (index, id) in call.list("Targets.member", "Id").iter().enumerate() {
                    let port = ports.get(index).copied();
                    self.start_draining(realism, arn, id, port, now);
                }
                None
            }
            "DescribeTargetHealth" => self.rewrite_target_health(realism, call, text, now),
            _ => None,
        }
    }

    /// A deregistered target is `draining` for the deregistration delay of its group.
    fn start_draining(
        &mut self,
        realism: &Realism,
        arn: &str,
        id: &str,
        port: Option<&str>,
        now: Instant,
    ) {
        let delay = Duration::from_secs(
            self.target_groups
                .get(arn)
                .copied()
                .unwrap_or_default()
                .deregistration_delay,
        );
        let until = now + realism.scaled(delay);
        let target = self
            .targets
            .entry((arn.to_owned(), id.to_owned()))
            .or_insert(Target {
                port: None,
                initial_until: now,
                draining_until: None,
            });
        target.draining_until = Some(until);
        target.initial_until = now;
        if let Some(port) = port {
            target.port = Some(port.to_owned());
        }
    }

    /// Healthy threshold × interval of the target group: how long a new target is `initial`.
    fn initial_window(&self, realism: &Realism, arn: &str) -> Duration {
        let timing = self.target_groups.get(arn).copied().unwrap_or_default();
        realism.scaled(Duration::from_secs(
            timing.interval * timing.healthy_threshold,
        ))
    }

    /// A new target is `initial` (`Elb.RegistrationInProgress`) until it passed the healthy
    /// threshold; a deregistered one is `draining` (`Target.DeregistrationInProgress`) for the
    /// deregistration delay (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html>).
    fn rewrite_target_health(
        &mut self,
        realism: &Realism,
        call: &Call,
        text: &str,
        now: Instant,
    ) -> Option<String> {
        let arn = call.param("TargetGroupArn")?.to_owned();
        let list = descendant(text, 0..text.len(), "TargetHealthDescriptions")?;
        let asked = call.list("Targets.member", "Id");
        let mut edits = Edits::default();
        let mut listed = Vec::new();
        for member in children(text, content(text, list.clone()), "member") {
            let inner = content(text, member);
            let Some(target) = descendant(text, inner.clone(), "Target") else {
                continue;
            };
            let Some(id) = child_text(text, content(text, target), "Id") else {
                continue;
            };
            listed.push(id.to_owned());
            let window = self.initial_window(realism, &arn);
            let seen = self
                .targets
                .entry((arn.clone(), id.to_owned()))
                .or_insert(Target {
                    port: None,
                    initial_until: now + window,
                    draining_until: None,
                });
            let image = self.instance_images.get(&key(&call.region, id));
            let moto_healthy = descendant(text, inner.clone(), "State")
                .is_some_and(|state| &text[content(text, state)] == "healthy");
            let health = if seen.draining_until.is_some_and(|until| until > now) {
                Some(DRAINING)
            } else if seen.initial_until > now {
                Some(INITIAL)
            } else if realism.unhealthy_images.is_empty() || !moto_healthy {
                None
            } else {
                match image {
                    // Not known yet: AWS would still be checking it; never healthy.
                    None => Some(INITIAL),
                    Some(image) if realism.unhealthy_images.contains(image) => Some(UNHEALTHY),
                    Some(_) => None,
                }
            };
            if let Some(health) = health
                && let Some(element) = children(text, inner, "TargetHealth").into_iter().next()
            {
                edits.replace(element, format!("<TargetHealth>{health}</TargetHealth>"));
                self.events
                    .push(call.event(RealismKind::StateRewritten, id));
            }
        }
        let mut injected = String::new();
        self.targets.retain(|(group, id), target| {
            let draining = target.draining_until.is_some_and(|until| until > now);
            if *group == arn
                && draining
                && !listed.contains(id)
                && (asked.is_empty() || asked.contains(&id.as_str()))
            {
                let port = target
                    .port
                    .as_deref()
                    .map(|port| format!("<Port>{port}</Port>"))
                    .unwrap_or_default();
                injected.push_str(&format!(
                    "<member><Target><Id>{id}</Id>{port}</Target>\
                     <TargetHealth>{DRAINING}</TargetHealth></member>"
                ));
            }
            draining || target.draining_until.is_none()
        });
        if !injected.is_empty() {
            edits.append(text, list, &injected);
            self.events
                .push(call.event(RealismKind::StateRewritten, &arn));
        }
        (!edits.is_empty()).then(|| edits.apply(text))
    }

    // --- 7. Failed launches ----------------------------------------------------------------

    /// With failing launches, a raise of the desired capacity launches nothing: the change
    /// is not forwarded (the capacity moto keeps is what AWS has in service) and a failed
    /// scaling activity says why.
    fn failing_launch(&mut self, realism: &Realism, call: &Call) -> Before {
        let Some(message) = &realism.failing_launches else {
            return Before::Forward;
        };
        let (Some(name), Some(desired)) = (
            call.param("AutoScalingGroupName"),
            call.param("DesiredCapacity")
                .and_then(|d| d.parse::<i64>().ok()),
        ) else {
            return Before::Forward;
        };
        let before = match call.action.as_str() {
            "SetDesiredCapacity" => Before::Answer(Answer::Ok(format!(
                "<SetDesiredCapacityResponse xmlns=\"http://autoscaling.amazonaws.com/doc/\
                 2011-01-01/\"><ResponseMetadata><RequestId>haven-realism-{}</RequestId>\
                 </ResponseMetadata></SetDesiredCapacityResponse>",
                self.next_id()
            ))),
            "UpdateAutoScalingGroup" => Before::ForwardBody(call.without("DesiredCapacity")),
            _ => return Before::Forward,
        };
        let group = self.groups.entry(key(&call.region, name)).or_default();
        let current = group.desired.unwrap_or(0);
        if desired <= current {
            group.wanted = None;
            return Before::Forward;
        }
        group.wanted = Some(desired);
        let now = timestamp(SystemTime::now());
        let id = self.next_id();
        let message = escape(message);
        let activity = format!(
            "<member><ActivityId>00000000-0000-4000-8000-{id:012x}</ActivityId>\
             <AutoScalingGroupName>{name}</AutoScalingGroupName>\
             <Description>Launching a new EC2 instance.  Status Reason: {message}</Description>\
             <Cause>At {now} a user request explicitly set group desired capacity changing the \
             desired capacity from {current} to {desired}.  At {now} an instance was started in \
             response to a difference between desired and actual capacity, increasing the \
             capacity from {current} to {desired}.</Cause>\
             <StartTime>{now}</StartTime><EndTime>{now}</EndTime>\
             <StatusCode>Failed</StatusCode><StatusMessage>{message}</StatusMessage>\
             <Progress>100</Progress><Details>{{}}</Details></member>"
        );
        let group = self.groups.entry(key(&call.region, name)).or_default();
        group.activities.push(activity);
        self.note(call, RealismKind::LaunchFailed, name);
        before
    }

    fn autoscaling_after(
        &mut self,
        realism: &Realism,
        call: &Call,
        text: &str,
        now: Instant,
    ) -> Option<String> {
        match call.action.as_str() {
            "CreateAutoScalingGroup" | "UpdateAutoScalingGroup" | "SetDesiredCapacity" => {
                if let (Some(name), Some(desired)) = (
                    call.param("AutoScalingGroupName"),
                    call.param("DesiredCapacity").and_then(|d| d.parse().ok()),
                ) {
                    let group = self.groups.entry(key(&call.region, name)).or_default();
                    if let Some(from) = group.desired.filter(|from| *from != desired)
                        && call.action != "CreateAutoScalingGroup"
                    {
                        let constraints = (call.action == "UpdateAutoScalingGroup").then(|| {
                            let size = |name: &str| call.param(name).unwrap_or("-").to_owned();
                            (size("MinSize"), size("MaxSize"))
                        });
                        group.change = Some(events::CapacityChange {
                            at: timestamp(SystemTime::now()),
                            from,
                            to: desired,
                            constraints,
                        });
                    }
                    group.desired = Some(desired);
                }
                None
            }
            "DescribeAutoScalingGroups" => self.rewrite_groups(realism, call, text, now),
            "DescribeScalingActivities" => {
                let asked = call.param("AutoScalingGroupName");
                let mut activities: Vec<&String> = self
                    .groups
                    .iter()
                    .filter(|((region, name), _)| {
                        *region == call.region && asked.is_none_or(|a| a == name)
                    })
                    .flat_map(|(_, group)| group.activities.iter())
                    .collect();
                if activities.is_empty() {
                    return None;
                }
                // Newest first, as Auto Scaling lists them (ids grow with time), at most
                // `MaxRecords` (default 100).
                activities.sort();
                activities.reverse();
                let most = call
                    .param("MaxRecords")
                    .and_then(|m| m.parse().ok())
                    .unwrap_or(100);
                activities.truncate(most);
                let list = descendant(text, 0..text.len(), "Activities")?;
                let mut edits = Edits::default();
                let items: String = activities.iter().map(|a| a.as_str()).collect();
                edits.append(text, list, &items);
                Some(edits.apply(text))
            }
            _ => None,
        }
    }

    // --- 8. Auto Scaling members and target groups ---------------------------------------

    /// The `DescribeAutoScalingGroups` the proxy sends moto after `call` changed a group's
    /// members, so that realism knows them at once (see [`State::rewrite_groups`]).
    pub(super) fn look_after(&self, call: &Call, status: u16) -> Option<String> {
        let changes_members = matches!(
            call.action.as_str(),
            "CreateAutoScalingGroup"
                | "UpdateAutoScalingGroup"
                | "SetDesiredCapacity"
                | "TerminateInstanceInAutoScalingGroup"
                | "DeleteAutoScalingGroup"
                | "AttachInstances"
                | "DetachInstances"
                | "ExecutePolicy"
        );
        if call.service != "autoscaling" || status != 200 || !changes_members {
            return None;
        }
        let mut body = "Action=DescribeAutoScalingGroups&Version=2011-01-01".to_owned();
        if let Some(name) = call.param("AutoScalingGroupName") {
            body.push_str(&format!("&AutoScalingGroupNames.member.1={}", encode(name)));
        }
        Some(body)
    }

    /// The requests for moto that the proxy must send now.
    pub(super) fn take_follow_ups(&mut self) -> Vec<FollowUp> {
        std::mem::take(&mut self.follow_ups)
    }

    /// Learns each group's members and target groups from moto's answer, and corrects two
    /// things moto gets wrong:
    /// - every instance reports the template's *default* version in moto; Auto Scaling
    ///   reports the version its group named when it was launched (a number, or `$Latest`
    ///   when the group says so), which is what tells an old instance from a new one
    ///   (<https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_Instance.html>);
    /// - an instance that left its group (terminated, scaled in, the group deleted) stays
    ///   `healthy` in the group's target groups in moto; Auto Scaling deregisters it first
    ///   ("Before the instances are terminated, they are deregistered from the load balancer",
    ///   <https://docs.aws.amazon.com/autoscaling/ec2/userguide/attach-load-balancer-asg.html>),
    ///   so the proxy deregisters it in moto and it is `draining` for the deregistration delay.
    fn rewrite_groups(
        &mut self,
        realism: &Realism,
        call: &Call,
        text: &str,
        now: Instant,
    ) -> Option<String> {
        let within = section(text, "AutoScalingGroups")?;
        let mut edits = Edits::default();
        let mut listed = Vec::new();
        let mut left: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        let mut changed: Vec<MemberChange> = Vec::new();
        for member in children(text, within, "member") {
            let inner = content(text, member);
            let Some(name) = child_text(text, inner.clone(), "AutoScalingGroupName") else {
                continue;
            };
            listed.push(name.to_owned());
            let group_version = children(text, inner.clone(), "LaunchTemplate")
                .into_iter()
                .next()
                .and_then(|template| child_text(text, content(text, template), "Version"))
                .map(str::to_owned);
            let target_groups: Vec<String> = children(text, inner.clone(), "TargetGroupARNs")
                .into_iter()
                .next()
                .map(|list| {
                    children(text, content(text, list), "member")
                        .into_iter()
                        .map(|arn| text[content(text, arn)].to_owned())
                        .collect()
                })
                .unwrap_or_default();
            let zone_identifier =
                child_text(text, inner.clone(), "VPCZoneIdentifier").map(str::to_owned);
            let mut instances = Vec::new();
            let mut azs = Vec::new();
            if let Some(list) = children(text, inner.clone(), "Instances")
                .into_iter()
                .next()
            {
                for instance in children(text, content(text, list), "member") {
                    let inner = content(text, instance);
                    let Some(id) = child_text(text, inner.clone(), "InstanceId") else {
                        continue;
                    };
                    instances.push(id.to_owned());
                    azs.push(
                        child_text(text, inner.clone(), "AvailabilityZone")
                            .unwrap_or_default()
                            .to_owned(),
                    );
                    let launched = match (
                        self.instance_versions.get(&key(&call.region, id)),
                        &group_version,
                    ) {
                        (Some(version), _) => Some(version.clone()),
                        (None, Some(version)) => {
                            self.instance_versions
                                .insert(key(&call.region, id), version.clone());
                            Some(version.clone())
                        }
                        (None, None) => None,
                    };
                    if let Some(version) = launched
                        && let Some(template) =
                            children(text, inner, "LaunchTemplate").into_iter().next()
                        && child_text(text, content(text, template.clone()), "Version")
                            != Some(version.as_str())
                    {
                        edits.set_child(text, content(text, template), "Version", &version);
                        self.events
                            .push(call.event(RealismKind::StateRewritten, id));
                    }
                }
            }
            let group = self.groups.entry(key(&call.region, name)).or_default();
            group.desired =
                child_text(text, inner.clone(), "DesiredCapacity").and_then(|d| d.parse().ok());
            if let Some(wanted) = group.wanted {
                edits.set_child(text, inner, "DesiredCapacity", &wanted.to_string());
                self.events
                    .push(call.event(RealismKind::StateRewritten, name));
            }
            let before = group.members.replace(Members {
                instances: instances.clone(),
                azs,
                target_groups: target_groups.clone(),
                zone_identifier,
            });
            if let Some(before) = before {
                let started: Vec<String> = instances
                    .iter()
                    .filter(|id| !before.instances.contains(id))
                    .cloned()
                    .collect();
                let capacity = (before.instances.len() as i64, instances.len() as i64);
                let gone: Vec<String> = before
                    .instances
                    .into_iter()
                    .filter(|id| !instances.contains(id))
                    .collect();
                if !started.is_empty() || !gone.is_empty() {
                    changed.push(MemberChange {
                        group: name.to_owned(),
                        started,
                        gone: gone.clone(),
                        capacity,
                    });
                }
                left.push((gone, target_groups));
            }
        }
        // Groups moto no longer has: asked by name and missing, or missing from a whole listing.
        let asked: Vec<&str> = call
            .params
            .iter()
            .filter(|(key, _)| key.starts_with("AutoScalingGroupNames.member."))
            .map(|(_, value)| value.as_str())
            .collect();
        let whole = asked.is_empty()
            && call.param("NextToken").is_none()
            && !call
                .params
                .iter()
                .any(|(key, _)| key.starts_with("Filters."))
            && first_text(text, "NextToken").is_none();
        for ((region, name), group) in &mut self.groups {
            if *region == call.region
                && !listed.contains(name)
                && (whole || asked.contains(&name.as_str()))
                && let Some(members) = group.members.take()
            {
                left.push((members.instances, members.target_groups));
            }
        }
        for (instances, target_groups) in left {
            self.deregister_left(realism, call, &instances, &target_groups, now);
        }
        for change in changed {
            self.record_activities(call, &change);
        }
        (!edits.is_empty()).then(|| edits.apply(text))
    }

    /// The scaling activities AWS records for instances that joined (`started`) or left
    /// (`gone`) a group between two of moto's answers (see `events::activity`).
    fn record_activities(&mut self, call: &Call, members: &MemberChange) {
        let (name, (from, to)) = (members.group.as_str(), members.capacity);
        let change = self
            .groups
            .get_mut(&key(&call.region, name))
            .and_then(|group| group.change.take());
        let mut made = Vec::new();
        let mut capacity = from;
        for id in &members.gone {
            let id_number = self.next_id();
            made.push(events::activity(
                id_number,
                name,
                id,
                false,
                change.as_ref(),
                (capacity, capacity - 1),
            ));
            capacity -= 1;
        }
        for id in &members.started {
            let id_number = self.next_id();
            made.push(events::activity(
                id_number,
                name,
                id,
                true,
                change.as_ref(),
                (capacity, capacity + 1),
            ));
            capacity += 1;
        }
        debug_assert_eq!(capacity, to, "every change of capacity has its activity");
        self.groups
            .entry(key(&call.region, name))
            .or_default()
            .activities
            .extend(made);
    }

    /// Has moto launch into the emptiest AZ (see [`Realism::spread_launches`]): one instance at
    /// a time, each after an `UpdateAutoScalingGroup` that puts the subnet of the AZ with the
    /// fewest instances first; the group's subnet list is put back afterwards. `None` when the
    /// call launches nothing or a subnet's AZ is unknown.
    fn spread(&self, call: &Call) -> Option<Before> {
        let number = |name: &str| call.param(name).and_then(|v| v.parse::<i64>().ok());
        let update = |name: &str, zones: &str, extra: &str| {
            format!(
                "Action=UpdateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName={}\
                 &VPCZoneIdentifier={}{extra}",
                encode(name),
                encode(zones)
            )
        };
        match call.action.as_str() {
            "CreateAutoScalingGroup" => {
                let name = call.param("AutoScalingGroupName")?;
                let zones = call.param("VPCZoneIdentifier")?;
                let min = number("MinSize")?;
                let desired = number("DesiredCapacity").unwrap_or(min);
                let mut counts = self.az_counts(call, zones, None)?;
                if desired < 2 || counts.len() < 2 {
                    return None;
                }
                // Created empty, then filled one instance at a time.
                let body = call.with(&[("MinSize", "0"), ("DesiredCapacity", "0")]);
                let mut after = Vec::new();
                for size in 1..=desired {
                    let order = self.emptiest_first(call, zones, &mut counts)?;
                    after.push(update(name, &order, &format!("&DesiredCapacity={size}")));
                }
                after.push(update(name, zones, &format!("&MinSize={min}")));
                Some(Before::Prepared {
                    before: Vec::new(),
                    body,
                    after,
                })
            }
            "SetDesiredCapacity" | "UpdateAutoScalingGroup" => {
                let name = call.param("AutoScalingGroupName")?;
                let desired = number("DesiredCapacity")?;
                let members = self
                    .groups
                    .get(&key(&call.region, name))?
                    .members
                    .as_ref()?;
                let zones = call
                    .param("VPCZoneIdentifier")
                    .or(members.zone_identifier.as_deref())?;
                let current = i64::try_from(members.instances.len()).ok()?;
                let mut counts = self.az_counts(call, zones, Some(members))?;
                if desired <= current || counts.len() < 2 {
                    return None;
                }
                let mut before = Vec::new();
                for size in current + 1..desired {
                    let order = self.emptiest_first(call, zones, &mut counts)?;
                    before.push(update(name, &order, &format!("&DesiredCapacity={size}")));
                }
                let last = self.emptiest_first(call, zones, &mut counts)?;
                let body = if call.action == "SetDesiredCapacity" {
                    before.push(update(name, &last, ""));
                    call.with(&[])
                } else {
                    call.with(&[("VPCZoneIdentifier", &last)])
                };
                Some(Before::Prepared {
                    before,
                    body,
                    after: vec![update(name, zones, "")],
                })
            }
            "TerminateInstanceInAutoScalingGroup" => {
                if call.param("ShouldDecrementDesiredCapacity") == Some("true") {
                    return None;
                }
                let victim = call.param("InstanceId")?;
                let (name, members) = self.groups.iter().find_map(|((region, name), group)| {
                    let members = group.members.as_ref()?;
                    (*region == call.region && members.instances.iter().any(|i| i == victim))
                        .then_some((name, members))
                })?;
                let zones = members.zone_identifier.as_deref()?;
                let mut counts = self.az_counts(call, zones, Some(members))?;
                if let Some(index) = members.instances.iter().position(|i| i == victim)
                    && let Some(count) = members.azs.get(index).and_then(|az| counts.get_mut(az))
                {
                    *count = count.saturating_sub(1);
                }
                if counts.len() < 2 {
                    return None;
                }
                let order = self.emptiest_first(call, zones, &mut counts)?;
                Some(Before::Prepared {
                    before: vec![update(name, &order, "")],
                    body: call.with(&[]),
                    after: vec![update(name, zones, "")],
                })
            }
            _ => None,
        }
    }

    /// Instances per AZ of the subnets `zones` (`None` when a subnet's AZ is unknown).
    fn az_counts(
        &self,
        call: &Call,
        zones: &str,
        members: Option<&Members>,
    ) -> Option<BTreeMap<String, usize>> {
        let mut counts = BTreeMap::new();
        for subnet in zones.split(',').filter(|s| !s.is_empty()) {
            let az = self.subnet_azs.get(&key(&call.region, subnet))?;
            counts.insert(az.clone(), 0);
        }
        for az in members.map(|m| m.azs.as_slice()).unwrap_or_default() {
            if let Some(count) = counts.get_mut(az) {
                *count += 1;
            }
        }
        Some(counts)
    }

    /// `zones` with the subnet of the AZ with the fewest instances first (the first such on a
    /// tie), counting the instance moto will launch there.
    fn emptiest_first(
        &self,
        call: &Call,
        zones: &str,
        counts: &mut BTreeMap<String, usize>,
    ) -> Option<String> {
        let subnets: Vec<&str> = zones.split(',').filter(|s| !s.is_empty()).collect();
        let mut best: Option<(usize, usize)> = None;
        for (index, subnet) in subnets.iter().enumerate() {
            let az = self.subnet_azs.get(&key(&call.region, subnet))?;
            let count = counts.get(az).copied().unwrap_or(0);
            if best.is_none_or(|(_, fewest)| count < fewest) {
                best = Some((index, count));
            }
        }
        let (chosen, _) = best?;
        let az = self.subnet_azs.get(&key(&call.region, subnets[chosen]))?;
        *counts.entry(az.clone()).or_default() += 1;
        let mut order = vec![subnets[chosen]];
        order.extend(
            subnets
                .iter()
                .enumerate()
                .filter(|(index, _)| *index != chosen)
                .map(|(_, subnet)| *subnet),
        );
        Some(order.join(","))
    }

    /// Deregisters instances that left their group from its target groups (unless haven did
    /// already), in moto and in what realism shows.
    fn deregister_left(
        &mut self,
        realism: &Realism,
        call: &Call,
        instances: &[String],
        target_groups: &[String],
        now: Instant,
    ) {
        for arn in target_groups {
            for id in instances {
                let deregistered = self
                    .targets
                    .get(&(arn.clone(), id.clone()))
                    .is_some_and(|target| target.draining_until.is_some());
                if deregistered {
                    continue;
                }
                self.start_draining(realism, arn, id, None, now);
                self.follow_ups.push(FollowUp {
                    service: "elasticloadbalancing",
                    body: format!(
                        "Action=DeregisterTargets&Version=2015-12-01&TargetGroupArn={}\
                         &Targets.member.1.Id={}",
                        encode(arn),
                        encode(id)
                    ),
                });
                self.note(call, RealismKind::TargetLeft, id);
            }
        }
    }

    // --- 9. Copies -------------------------------------------------------------------------

    fn start_copy(
        &mut self,
        realism: &Realism,
        call: &Call,
        id: &str,
        kind: CopyKind,
        duration: Duration,
        now: Instant,
    ) {
        self.copies.insert(
            (call.region.clone(), id.to_owned(), kind),
            Copy {
                started: now,
                until: now + realism.scaled(duration),
                fails: realism.failing_copies,
            },
        );
    }

    /// Copies still running are `pending` with their progress; failed ones end `failed`
    /// (AMI, DB snapshot) or `error` (EBS snapshot).
    fn rewrite_copies(
        &mut self,
        call: &Call,
        text: &str,
        kind: CopyKind,
        now: Instant,
    ) -> Option<String> {
        let (set, item, id_element, state_element, failed) = match kind {
            CopyKind::Image => ("imagesSet", "item", "imageId", "imageState", "failed"),
            CopyKind::Snapshot => ("snapshotSet", "item", "snapshotId", "status", "error"),
            CopyKind::DbSnapshot => (
                "DBSnapshots",
                "DBSnapshot",
                "DBSnapshotIdentifier",
                "Status",
                "failed",
            ),
        };
        let within =
            section(text, set).or_else(|| section(text, &format!("{}Result", call.action)))?;
        let mut edits = Edits::default();
        for element in children(text, within, item) {
            let inner = content(text, element);
            let Some(id) = child_text(text, inner.clone(), id_element) else {
                continue;
            };
            let Some(copy) = self.copies.get(&(call.region.clone(), id.to_owned(), kind)) else {
                continue;
            };
            let total = copy.until.saturating_duration_since(copy.started);
            let done = now.saturating_duration_since(copy.started);
            let running = copy.until > now;
            let percent = if running {
                (done.as_secs_f64() / total.as_secs_f64().max(f64::EPSILON) * 100.0).min(99.0)
            } else {
                100.0
            } as u32;
            let state = match (running, copy.fails) {
                (true, _) => "pending",
                (false, true) => failed,
                (false, false) => continue,
            };
            edits.set_child(text, inner.clone(), state_element, state);
            match kind {
                CopyKind::Image => {}
                CopyKind::Snapshot => {
                    edits.set_child(text, inner, "progress", &format!("{percent}%"));
                }
                CopyKind::DbSnapshot => {
                    edits.set_child(text, inner, "PercentProgress", &percent.to_string());
                }
            }
            let event = if running {
                RealismKind::StateRewritten
            } else {
                RealismKind::CopyFailed
            };
            self.events.push(call.event(event, id));
        }
        (!edits.is_empty()).then(|| edits.apply(text))
    }
}

const INITIAL: &str = "<State>initial</State><Reason>Elb.RegistrationInProgress</Reason>\
    <Description>Target registration is in progress</Description>";
const UNHEALTHY: &str = "<State>unhealthy</State><Reason>Target.FailedHealthChecks</Reason>\
    <Description>Health checks failed</Description>";
const DRAINING: &str = "<State>draining</State><Reason>Target.DeregistrationInProgress</Reason>\
    <Description>Target deregistration is in progress</Description>";

/// The parameters a client token is bound to: all but the token itself.
fn token_params(call: &Call) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = call
        .params
        .iter()
        .filter(|(key, _)| key != "ClientToken")
        .cloned()
        .collect();
    params.sort();
    params
}

/// Whether a `ModifyDBInstance` changes something that takes the instance to `modifying`
/// (deletion protection, tags on snapshots and windows change at once).
fn modifies(call: &Call) -> bool {
    call.params.iter().any(|(key, _)| {
        !matches!(
            key.as_str(),
            "Action"
                | "Version"
                | "DBInstanceIdentifier"
                | "ApplyImmediately"
                | "DeletionProtection"
                | "CopyTagsToSnapshot"
                | "AutoMinorVersionUpgrade"
                | "PreferredBackupWindow"
                | "PreferredMaintenanceWindow"
        )
    })
}

/// A `<DBInstance>` element with its status set to `status`.
fn with_status(element: &str, status: &str) -> String {
    let mut edits = Edits::default();
    edits.set_child(
        element,
        content(element, 0..element.len()),
        "DBInstanceStatus",
        status,
    );
    edits.apply(element)
}

#[cfg(test)]
mod tests;
