//! Long waits a person can live with: how long AWS usually takes for each kind of change (from
//! the AWS documentation), elapsed time in words, and the rules that tell a change AWS accepted
//! from one that has really happened.

use std::time::Duration;

/// A kind of change haven waits for, with the duration AWS documents (or, where AWS gives no
/// figure, what its documentation says the duration depends on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Typical {
    /// An EC2 instance stopping, starting or terminating.
    InstanceState,
    /// An Auto Scaling group launching or terminating instances to reach its desired capacity.
    GroupCapacity,
    /// An instance entering or leaving standby.
    Standby,
    /// New targets passing their first health checks.
    TargetRegistration,
    /// Deregistered targets draining their connections.
    TargetDraining,
    /// An instance refresh replacing a group's instances.
    InstanceRefresh,
    /// An AMI being created.
    Image,
    /// An EBS snapshot being created.
    EbsSnapshot,
    /// A DB instance being created (Multi-AZ).
    DbCreate,
    /// A read replica being created.
    DbReplica,
    /// A DB instance rebooting (no failover).
    DbReboot,
    /// A Multi-AZ DB instance failing over to its standby.
    DbFailover,
    /// An Aurora cluster failing over to a reader.
    ClusterFailover,
    /// A DB instance changing class.
    DbModify,
    /// A read replica being promoted.
    DbPromote,
    /// A manual DB snapshot being created.
    DbSnapshot,
    /// A DB instance being deleted.
    DbDelete,
    /// A NAT gateway becoming available.
    NatCreate,
    /// A NAT gateway being deleted.
    NatDelete,
    /// A load balancer provisioning.
    LoadBalancer,
    /// An Auto Scaling group being deleted with its instances.
    GroupDelete,
    /// A new instance profile (or role in it) reaching EC2 and Auto Scaling.
    IamPropagation,
    /// A Route 53 change reaching every authoritative name server (`PENDING` → `INSYNC`).
    DnsChange,
    /// An ACM certificate validated by DNS (`PENDING_VALIDATION` → `ISSUED`).
    CertificateValidation,
}

impl Typical {
    /// What AWS usually takes, in words, e.g. `typically 1–2 min`.
    pub fn duration(self) -> &'static str {
        match self {
            Self::InstanceState => "typically under 2 min",
            Self::GroupCapacity => {
                "typically 2–5 min per launch; lifecycle hooks can hold an instance up to 1 h"
            }
            Self::Standby => "typically under 1 min, plus the target group's deregistration delay",
            Self::TargetRegistration => {
                "typically under 3 min (5 healthy checks 30 s apart by default)"
            }
            Self::TargetDraining => "up to the deregistration delay (300 s by default)",
            Self::InstanceRefresh => "typically 10 min to hours, by group size and warm-up",
            Self::Image => "typically 10–30 min, by volume size",
            Self::EbsSnapshot => "minutes to hours, by the data changed since the last snapshot",
            Self::DbCreate => "typically 10–25 min",
            Self::DbReplica => "typically 10–30 min, by database size",
            Self::DbReboot => "typically 1–5 min, by crash recovery",
            Self::DbFailover => "typically 1–2 min",
            Self::ClusterFailover => "typically under 1 min",
            Self::DbModify => "typically 10–30 min; the class change itself is an outage",
            Self::DbPromote => "typically a few minutes (longer with backups off)",
            Self::DbSnapshot => "minutes to hours, by database size",
            Self::DbDelete => "typically 5–15 min",
            Self::NatCreate => "typically 1–5 min",
            Self::NatDelete => "typically 1–10 min",
            Self::LoadBalancer => "typically 2–5 min",
            Self::GroupDelete => "typically 2–10 min",
            Self::IamPropagation => "typically seconds, up to 2 min",
            Self::DnsChange => "typically under 60 s",
            Self::CertificateValidation => {
                "typically minutes once the CNAME resolves publicly; never if the zone is not \
                 delegated"
            }
        }
    }

    /// The AWS documentation the figure comes from.
    pub fn source(self) -> &'static str {
        match self {
            Self::InstanceState => {
                "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-lifecycle.html"
            }
            Self::GroupCapacity => {
                "https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html"
            }
            Self::Standby => {
                "https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-enter-exit-standby.html"
            }
            Self::TargetRegistration => {
                "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html"
            }
            Self::TargetDraining => {
                "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#deregistration-delay"
            }
            Self::InstanceRefresh => {
                "https://docs.aws.amazon.com/autoscaling/ec2/userguide/asg-instance-refresh.html"
            }
            Self::Image => {
                "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/creating-an-ami-ebs.html"
            }
            Self::EbsSnapshot => {
                "https://docs.aws.amazon.com/ebs/latest/userguide/ebs-creating-snapshot.html"
            }
            Self::DbCreate | Self::DbFailover => {
                "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZSingleStandby.html"
            }
            Self::DbReplica => {
                "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Create.html"
            }
            Self::DbReboot => {
                "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_RebootInstance.html"
            }
            Self::ClusterFailover => {
                "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.AuroraHighAvailability.html"
            }
            Self::DbModify => {
                "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.DBInstance.Modifying.html"
            }
            Self::DbPromote => {
                "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Promote.html"
            }
            Self::DbSnapshot => {
                "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_CreateSnapshot.html"
            }
            Self::DbDelete => {
                "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html"
            }
            Self::NatCreate | Self::NatDelete => {
                "https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-working-with.html"
            }
            Self::LoadBalancer => {
                "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html"
            }
            Self::GroupDelete => {
                "https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-process-shutdown.html"
            }
            Self::IamPropagation => {
                "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency"
            }
            Self::DnsChange => {
                "https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetChange.html"
            }
            Self::CertificateValidation => {
                "https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html"
            }
        }
    }
}

/// Elapsed time in words: `45 s`, `3 min 12 s`, `1 h 02 min`.
pub fn elapsed_words(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min {:02} s", secs / 60, secs % 60),
        _ => format!("{} h {:02} min", secs / 3600, (secs % 3600) / 60),
    }
}

/// One poll's status line: the state, the time waited, and what AWS usually takes.
pub fn status_line(state: &str, elapsed: Duration, typical: Option<Typical>) -> String {
    match typical {
        Some(t) => format!(
            "{state} · {} elapsed, {}",
            elapsed_words(elapsed),
            t.duration()
        ),
        None => format!("{state} · {} elapsed", elapsed_words(elapsed)),
    }
}

/// What one poll concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The change happened.
    Done,
    /// Not yet; the status to show.
    Waiting(String),
    /// It ended somewhere else; why.
    Failed(String),
}

/// DB instance statuses that end a wait as failed.
const DB_FAILED: [&str; 5] = [
    "failed",
    "incompatible-parameters",
    "incompatible-restore",
    "storage-full",
    "inaccessible-encryption-credentials",
];

/// Follows an RDS reboot or failover, which can read `available` before RDS has even started
/// it: `available` counts only once the change was seen — a `rebooting` or `failing-over`
/// status, or the AZ (or the cluster's writer) moving — or, when nothing was seen for `grace`
/// (a short reboot can fall between two polls), with a note saying so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbChange {
    /// Where it was before the call: the AZ, or the cluster's writer.
    pub place_before: Option<String>,
    /// A status that shows the change under way was seen, or the place moved.
    pub seen: bool,
}

impl DbChange {
    /// Watching from where it was before the call.
    pub fn new(place_before: Option<String>) -> Self {
        Self {
            place_before,
            seen: false,
        }
    }

    /// One poll: the status and place now, the time since the call and the grace allowed.
    pub fn poll(
        &mut self,
        status: &str,
        place: Option<&str>,
        elapsed: Duration,
        grace: Duration,
    ) -> Verdict {
        if matches!(
            status,
            "rebooting" | "failing-over" | "modifying" | "maintenance"
        ) {
            self.seen = true;
        }
        let moved = match (&self.place_before, place) {
            (Some(before), Some(now)) => before != now,
            _ => false,
        };
        if moved {
            self.seen = true;
        }
        let place_text = match (&self.place_before, place) {
            (Some(before), Some(now)) if before != now => format!(", {before} → {now}"),
            (_, Some(now)) => format!(", {now}"),
            _ => String::new(),
        };
        if DB_FAILED.contains(&status) {
            return Verdict::Failed(status.to_string());
        }
        if status == "available" && (self.seen || elapsed >= grace) {
            return Verdict::Done;
        }
        if status == "available" {
            return Verdict::Waiting(format!(
                "available{place_text}, the change has not shown yet"
            ));
        }
        Verdict::Waiting(format!("{status}{place_text}"))
    }
}

/// Follows an EC2 instance to `want` (`running`, `stopped` or `terminated`). An end state that
/// is not the wanted one fails the wait — at once for `shutting-down`/`terminated`, and for the
/// others once the instance was seen moving (so that a describe that still shows the state
/// before the call is not taken for the end), or after `grace` — with AWS's state reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceChange {
    want: String,
    moved: bool,
}

impl InstanceChange {
    /// Watching for `want`.
    pub fn new(want: &str) -> Self {
        Self {
            want: want.to_string(),
            moved: false,
        }
    }

    /// One poll: the state now, AWS's `StateReason` message, the time since the call and the
    /// grace allowed.
    pub fn poll(
        &mut self,
        state: &str,
        reason: Option<&str>,
        elapsed: Duration,
        grace: Duration,
    ) -> Verdict {
        if state == self.want {
            return Verdict::Done;
        }
        let with_reason = match reason {
            Some(reason) if !reason.is_empty() => format!("{state} ({reason})"),
            _ => state.to_string(),
        };
        match state {
            "pending" | "stopping" => {
                self.moved = true;
                Verdict::Waiting(with_reason)
            }
            // On the way to the wanted end.
            "shutting-down" if self.want == "terminated" => {
                self.moved = true;
                Verdict::Waiting(with_reason)
            }
            "shutting-down" | "terminated" => Verdict::Failed(with_reason),
            "running" | "stopped" if self.moved || elapsed >= grace => Verdict::Failed(with_reason),
            _ => Verdict::Waiting(with_reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(180);

    fn at(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn elapsed_time_reads_in_seconds_minutes_or_hours() {
        assert_eq!(elapsed_words(at(45)), "45 s");
        assert_eq!(elapsed_words(at(192)), "3 min 12 s");
        assert_eq!(elapsed_words(at(3720)), "1 h 02 min");
        assert_eq!(
            status_line("creating", at(75), Some(Typical::DbCreate)),
            "creating · 1 min 15 s elapsed, typically 10–25 min"
        );
    }

    #[test]
    fn c5_a_reboot_that_still_reads_available_is_not_done_until_it_was_seen() {
        let mut reboot = DbChange::new(Some("ap-northeast-2a".into()));
        // The first poll races the reboot: still `available`, same AZ.
        let first = reboot.poll("available", Some("ap-northeast-2a"), at(2), GRACE);
        assert!(matches!(first, Verdict::Waiting(ref s) if s.contains("not shown yet")));
        assert_eq!(
            reboot.poll("rebooting", Some("ap-northeast-2a"), at(6), GRACE),
            Verdict::Waiting("rebooting, ap-northeast-2a".into())
        );
        assert_eq!(
            reboot.poll("available", Some("ap-northeast-2a"), at(60), GRACE),
            Verdict::Done
        );
    }

    #[test]
    fn c5_a_failover_is_done_when_the_az_moved_and_shows_the_swap() {
        let mut failover = DbChange::new(Some("ap-northeast-2a".into()));
        assert_eq!(
            failover.poll("available", Some("ap-northeast-2b"), at(90), GRACE),
            Verdict::Done
        );
        let mut failover = DbChange::new(Some("ap-northeast-2a".into()));
        assert_eq!(
            failover.poll("failing-over", Some("ap-northeast-2b"), at(30), GRACE),
            Verdict::Waiting("failing-over, ap-northeast-2a → ap-northeast-2b".into())
        );
    }

    #[test]
    fn c5_an_unchanged_available_is_accepted_only_after_the_grace_and_failures_fail() {
        let mut reboot = DbChange::new(None);
        assert!(matches!(
            reboot.poll("available", None, at(179), GRACE),
            Verdict::Waiting(_)
        ));
        assert_eq!(
            reboot.poll("available", None, at(180), GRACE),
            Verdict::Done
        );
        assert_eq!(
            DbChange::new(None).poll("storage-full", None, at(1), GRACE),
            Verdict::Failed("storage-full".into())
        );
    }

    #[test]
    fn c5_an_instance_that_falls_back_to_stopped_fails_with_its_state_reason() {
        let mut start = InstanceChange::new("running");
        // Right after the call the describe can still show the state before it.
        assert!(matches!(
            start.poll("stopped", None, at(1), GRACE),
            Verdict::Waiting(_)
        ));
        assert!(matches!(
            start.poll("pending", None, at(3), GRACE),
            Verdict::Waiting(_)
        ));
        let reason = "Client.InternalError: Client error on launch";
        assert_eq!(
            start.poll("stopped", Some(reason), at(9), GRACE),
            Verdict::Failed(format!("stopped ({reason})"))
        );
        // Never seen moving: an unwanted end state fails once the grace is over.
        let mut start = InstanceChange::new("running");
        assert!(matches!(
            start.poll("stopped", None, at(180), GRACE),
            Verdict::Failed(_)
        ));
    }

    #[test]
    fn c4_a_stopped_group_member_that_auto_scaling_terminates_fails_the_stop() {
        let mut stop = InstanceChange::new("stopped");
        assert!(matches!(
            stop.poll("stopping", None, at(2), GRACE),
            Verdict::Waiting(_)
        ));
        let reason = "Service.InstanceTerminated: instance terminated by Auto Scaling";
        assert_eq!(
            stop.poll("shutting-down", Some(reason), at(20), GRACE),
            Verdict::Failed(format!("shutting-down ({reason})"))
        );
        let mut terminate = InstanceChange::new("terminated");
        assert!(matches!(
            terminate.poll("shutting-down", None, at(1), GRACE),
            Verdict::Waiting(_)
        ));
        assert_eq!(
            terminate.poll("terminated", None, at(5), GRACE),
            Verdict::Done
        );
    }
}
