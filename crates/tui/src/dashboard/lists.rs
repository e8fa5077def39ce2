//! Which builder makes each list: the resource lists from the topology, the judged views
//! (findings, AZ loss, DR) from the topology and the policy.

use haven_model::Topology;
use haven_model::findings::Policy;

use super::alarms;
use super::deploys;
use super::front_door;
use super::insight;
use super::rows::{ListKind, ListModel};
use super::sparkline::Live;
use super::tables;
use super::timeline;

/// Builds the rows of a kind; the judged kinds (findings, AZ loss, DR) apply the policy; the
/// resource lists show the signals last read beside their resources.
pub fn build(kind: ListKind, topology: &Topology, policy: &Policy, live: Live<'_>) -> ListModel {
    match kind {
        ListKind::Findings => insight::findings(topology, policy),
        ListKind::AzLoss => insight::az_loss(topology, policy),
        ListKind::Dr => insight::dr(topology, policy),
        ListKind::Deploy => deploys::list(topology),
        ListKind::Ec2 => tables::ec2(topology, live),
        ListKind::Asg => tables::asg(topology, live),
        ListKind::Lb => tables::lb(topology, live),
        ListKind::Tg => tables::tg(topology, live),
        ListKind::Rds => tables::rds(topology, live),
        ListKind::DbSnap => tables::db_snapshots(topology),
        ListKind::Ami => tables::ami(topology),
        ListKind::Snap => tables::snap(topology),
        ListKind::Sg => tables::sg(topology),
        ListKind::Subnet => tables::subnet(topology),
        ListKind::Vpc => tables::vpc(topology),
        ListKind::Nat => tables::nat(topology),
        ListKind::Rtb => tables::rtb(topology),
        ListKind::Lt => tables::lt(topology),
        ListKind::Iam => tables::iam(topology),
        ListKind::Errors => tables::errors(topology),
        ListKind::Dns => front_door::records(topology),
        ListKind::Certs => front_door::certificates(topology),
        ListKind::Alarms => alarms::list(topology),
        // The dashboard builds it from its events (`timeline::list`); the topology has none.
        ListKind::Events => timeline::list(topology, &[]),
        // The dashboard builds it from the profiles it knows (`profiles::list`).
        ListKind::Profiles => super::profiles::list(&[]),
    }
}
