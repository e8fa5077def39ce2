//! What a signals read asks, beyond the minute's series: a Region's events when they are worth a
//! call, its five-minute series when CloudWatch has a new point of them.
//!
//! Auto Scaling activities and RDS events come with changes: a group launching or terminating
//! changes its members or capacity, a failover or a reboot changes a database's status or AZ.
//! The live read already sees those. So while a Region is steady (nothing in motion and nothing
//! changed since its events were last read), its events are read every
//! [`QUIET_EVENTS_SECONDS`]; as soon as something moves or changed, at every signals read.
//!
//! An instance with basic monitoring (EC2's default) has a CPU point every five minutes: its
//! series is read every [`BASIC_MONITORING_SECONDS`], and a Region that has only such series
//! (instances outside any load balancer or database) makes one `GetMetricData` call in five
//! minutes instead of five. What a read does not ask again is kept from the read before.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use chrono::{DateTime, Utc};

use super::{EventSource, RegionAsk, SeriesKey, Signals, asks};
use crate::{RegionTopology, Topology};

/// How often a steady Region's events are read, in seconds.
pub const QUIET_EVENTS_SECONDS: i64 = 300;

/// The period of basic monitoring's points, in seconds: how often its series are read.
pub const BASIC_MONITORING_SECONDS: i64 = 300;

/// What was seen when a Region's events of one source were last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Look {
    /// A digest of what the events follow (members and capacity, statuses and AZs).
    state: u64,
    /// When.
    at: DateTime<Utc>,
}

/// The signals reads of a dashboard: what each Region looked like when its events were read,
/// when its five-minute series were, and what the read in flight leaves out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalsWatch {
    looks: BTreeMap<(String, EventSource), Look>,
    /// Per Region, when its five-minute series were last read.
    slow_read_at: BTreeMap<String, DateTime<Utc>>,
    /// The five-minute series the read in flight does not ask again.
    skipped: BTreeSet<SeriesKey>,
    /// The (Region, source) pairs the read in flight follows (the Region has groups, databases).
    followed: BTreeSet<(String, EventSource)>,
    /// Those it reads.
    asked: BTreeSet<(String, EventSource)>,
}

impl SignalsWatch {
    /// The asks of a signals read at `now`: every Region's minute series, its five-minute
    /// series and its events where they are due. Remembers what it left out, for
    /// [`SignalsWatch::settle`].
    pub fn asks(&mut self, topology: &Topology, now: DateTime<Utc>) -> Vec<RegionAsk> {
        self.asked.clear();
        self.followed.clear();
        self.skipped.clear();
        let mut out = asks(topology);
        for (ask, region) in out.iter_mut().zip(&topology.regions) {
            let slow_due = self
                .slow_read_at
                .get(&region.region)
                .is_none_or(|at| (now - *at).num_seconds() >= BASIC_MONITORING_SECONDS);
            if slow_due {
                if ask.queries.iter().any(|q| q.five_minute) {
                    self.slow_read_at.insert(region.region.clone(), now);
                }
            } else {
                let (slow, minute): (Vec<_>, Vec<_>) =
                    ask.queries.drain(..).partition(|q| q.five_minute);
                self.skipped.extend(slow.into_iter().map(|q| q.key));
                ask.queries = minute;
            }
            let scaling = scaling_state(region);
            ask.scaling_events =
                ask.scaling_events && self.due(&region.region, EventSource::Scaling, scaling, now);
            let rds = rds_state(region);
            ask.rds_events = ask.rds_events && self.due(&region.region, EventSource::Rds, rds, now);
        }
        out
    }

    /// Whether a Region's events of `source` are due, remembering the look when they are.
    fn due(
        &mut self,
        region: &str,
        source: EventSource,
        (state, moving): (u64, bool),
        now: DateTime<Utc>,
    ) -> bool {
        let key = (region.to_string(), source);
        self.followed.insert(key.clone());
        let due = moving
            || self.looks.get(&key).is_none_or(|look| {
                look.state != state || (now - look.at).num_seconds() >= QUIET_EVENTS_SECONDS
            });
        if due {
            self.looks.insert(key.clone(), Look { state, at: now });
            self.asked.insert(key);
        }
        due
    }

    /// Completes a read's signals: the series and events it did not ask again are carried over
    /// from the `previous` read; a Region it could not read is asked again in whole at the next
    /// read.
    pub fn settle(&mut self, previous: &Signals, next: &mut Signals) {
        for failed in next.unavailable.iter().filter_map(|u| u.region.as_deref()) {
            self.looks.retain(|(region, _), _| region != failed);
            self.slow_read_at.remove(failed);
        }
        for key in &self.skipped {
            if let Some(points) = previous.series.get(key) {
                next.series.insert(key.clone(), points.clone());
            }
        }
        let kept = previous.events.iter().filter(|event| {
            matches!(event.source, EventSource::Scaling | EventSource::Rds)
                && event.region.as_ref().is_some_and(|region| {
                    let key = (region.clone(), event.source);
                    self.followed.contains(&key) && !self.asked.contains(&key)
                })
        });
        next.events.extend(kept.cloned());
    }
}

/// A digest of the Region's groups (capacity, members and their states) and whether one is
/// in motion (members short of or beyond the desired capacity, a member not in service, a
/// group being deleted).
fn scaling_state(region: &RegionTopology) -> (u64, bool) {
    let mut hasher = DefaultHasher::new();
    let mut moving = false;
    for group in &region.auto_scaling_groups {
        (
            &group.name,
            group.min_size,
            group.max_size,
            group.desired_capacity,
        )
            .hash(&mut hasher);
        group.status.hash(&mut hasher);
        for member in &group.instances {
            (
                &member.instance_id,
                &member.lifecycle_state,
                &member.health_status,
            )
                .hash(&mut hasher);
            // In service or in standby (put there by a person, it stays): steady.
            let steady = matches!(member.lifecycle_state.as_str(), "InService" | "Standby");
            moving |= !steady || member.health_status != "Healthy";
        }
        moving |= group.instances.len() != usize::try_from(group.desired_capacity).unwrap_or(0)
            || group.status.is_some();
    }
    (hasher.finish(), moving)
}

/// A digest of the Region's databases (status, AZs, class, replication) and whether one is in
/// motion (any status but `available` or `stopped`).
fn rds_state(region: &RegionTopology) -> (u64, bool) {
    let mut hasher = DefaultHasher::new();
    let mut moving = false;
    for db in &region.db_instances {
        (&db.identifier, &db.status, &db.class, db.multi_az).hash(&mut hasher);
        (&db.availability_zone, &db.secondary_availability_zone).hash(&mut hasher);
        (&db.read_replica_source, &db.read_replica_identifiers).hash(&mut hasher);
        moving |= !steady_db(&db.status);
    }
    for cluster in &region.db_clusters {
        (&cluster.identifier, &cluster.status, cluster.multi_az).hash(&mut hasher);
        moving |= !steady_db(&cluster.status);
    }
    (hasher.finish(), moving)
}

/// A DB status that stays until somebody changes it.
fn steady_db(status: &str) -> bool {
    matches!(status, "available" | "stopped")
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::signals::{Event, Query};

    fn lab() -> Topology {
        Topology::from_json(include_str!("../../../../assets/fixtures/two-regions.json"))
            .expect("the fixture reads")
    }

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
    }

    /// (Region, scaling activities asked, RDS events asked) of each ask.
    fn events_asked(asks: &[RegionAsk]) -> Vec<(&str, bool, bool)> {
        asks.iter()
            .map(|a| (a.region.as_str(), a.scaling_events, a.rds_events))
            .collect()
    }

    fn event(region: &str, source: EventSource, text: &str) -> Event {
        Event {
            at: start(),
            region: Some(region.into()),
            source,
            resource: None,
            text: text.into(),
            bad: false,
        }
    }

    #[test]
    fn a_steady_region_reads_its_events_every_few_minutes_one_in_motion_at_every_read() {
        let lab = lab();
        let mut watch = SignalsWatch::default();
        let first = watch.asks(&lab, start());
        assert_eq!(
            events_asked(&first),
            [("ap-northeast-2", true, true), ("us-east-1", false, true)]
        );
        // A minute later: the primary is steady; the DR Region has a database being created.
        let next = watch.asks(&lab, start() + Duration::seconds(60));
        assert_eq!(
            events_asked(&next),
            [("ap-northeast-2", false, false), ("us-east-1", false, true)]
        );
        let minute: Vec<&Query> = first[0].queries.iter().filter(|q| !q.five_minute).collect();
        assert_eq!(
            next[0].queries.iter().collect::<Vec<_>>(),
            minute,
            "the minute's series are read every time"
        );
        let later = watch.asks(&lab, start() + Duration::seconds(QUIET_EVENTS_SECONDS));
        assert_eq!(events_asked(&later)[0], ("ap-northeast-2", true, true));
    }

    #[test]
    fn a_change_the_live_read_saw_reads_the_events_at_once() {
        let mut lab = lab();
        let mut watch = SignalsWatch::default();
        watch.asks(&lab, start());
        lab.regions[0].auto_scaling_groups[0].desired_capacity = 3;
        let asks = watch.asks(&lab, start() + Duration::seconds(60));
        assert_eq!(events_asked(&asks)[0], ("ap-northeast-2", true, false));
        // Short of its desired capacity, the group is in motion: read again until it is not.
        let asks = watch.asks(&lab, start() + Duration::seconds(120));
        assert!(asks[0].scaling_events);
        lab.regions[0].auto_scaling_groups[0].desired_capacity = 2;
        watch.asks(&lab, start() + Duration::seconds(180));
        lab.regions[0].db_instances[0].availability_zone = Some("ap-northeast-2b".into());
        let asks = watch.asks(&lab, start() + Duration::seconds(240));
        assert_eq!(events_asked(&asks)[0], ("ap-northeast-2", false, true));
    }

    #[test]
    fn events_not_read_again_are_kept_and_a_region_that_failed_is_read_again() {
        let lab = lab();
        let mut watch = SignalsWatch::default();
        watch.asks(&lab, start());
        let previous = Signals {
            events: vec![
                event("ap-northeast-2", EventSource::Scaling, "lab-asg: launched"),
                event("ap-northeast-2", EventSource::Rds, "lab-db: backed up"),
                event("us-east-1", EventSource::Rds, "lab-db-dr-2: old news"),
                event("ap-northeast-2", EventSource::Change, "seen"),
            ],
            ..Signals::default()
        };
        watch.asks(&lab, start() + Duration::seconds(60));
        let mut next = Signals {
            events: vec![event("us-east-1", EventSource::Rds, "lab-db-dr-2: created")],
            unavailable: vec![crate::signals::Unavailable {
                region: Some("ap-northeast-2".into()),
                reason: "GetMetricData: Throttling".into(),
            }],
            ..Signals::default()
        };
        watch.settle(&previous, &mut next);
        let texts: Vec<&str> = next.events.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "lab-db-dr-2: created",
                "lab-asg: launched",
                "lab-db: backed up"
            ],
            "the primary's events carried over; us-east-1's read anew; changes are not signals"
        );
        let asks = watch.asks(&lab, start() + Duration::seconds(120));
        assert_eq!(events_asked(&asks)[0], ("ap-northeast-2", true, true));
    }

    #[test]
    fn five_minute_series_are_read_every_five_minutes_and_kept_in_between() {
        let mut lab = lab();
        // us-east-1 holds only two instances outside any group or load balancer.
        let mut loose = lab.regions[0].instances.clone();
        for instance in &mut loose {
            instance.id.push_str("-dr");
        }
        lab.regions[1].instances = loose;
        lab.regions[1].db_instances.clear();
        lab.regions[0].instances[1].detailed_monitoring = true;
        let mut watch = SignalsWatch::default();
        let first = watch.asks(&lab, start());
        let cpu = |ask: &RegionAsk| -> Vec<String> {
            ask.queries
                .iter()
                .filter(|q| {
                    q.key.metric == crate::signals::Metric::Cpu
                        && q.metric_name == "CPUUtilization"
                        && q.namespace == "AWS/EC2"
                        && q.dimensions[0].0 == "InstanceId"
                })
                .map(|q| q.key.resource.clone())
                .collect()
        };
        assert_eq!(cpu(&first[0]).len(), 2);
        assert_eq!(cpu(&first[1]).len(), 2);

        let next = watch.asks(&lab, start() + Duration::seconds(60));
        let detailed = lab.regions[0].instances[1].id.clone();
        assert_eq!(
            cpu(&next[0]),
            [detailed],
            "only the detailed one every minute"
        );
        assert!(
            next[1].queries.is_empty(),
            "nothing new in CloudWatch: no call"
        );
        assert_eq!(
            next[0].queries.len(),
            first[0].queries.len() - 1,
            "the load balancer, group and database series every minute"
        );
        // What was not read again is kept.
        let basic = SeriesKey::new(
            "us-east-1",
            &lab.regions[1].instances[0].id,
            crate::signals::Metric::Cpu,
        );
        let point = crate::signals::Point {
            at: start(),
            value: 42.0,
        };
        let previous = Signals {
            series: [(basic.clone(), vec![point])].into(),
            ..Signals::default()
        };
        let mut read = Signals::default();
        watch.settle(&previous, &mut read);
        assert_eq!(read.latest(&basic), Some(42.0));

        let later = watch.asks(&lab, start() + Duration::seconds(BASIC_MONITORING_SECONDS));
        assert_eq!(cpu(&later[1]).len(), 2, "five minutes on: read again");
    }
}
