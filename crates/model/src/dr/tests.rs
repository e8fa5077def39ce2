use super::*;
use crate::findings::Policy;
use crate::topology::RegionTopology;

const TWO_REGIONS: &str = include_str!("../../../../assets/fixtures/two-regions.json");
const PRIMARY: &str = "ap-northeast-2";

fn two_regions() -> Topology {
    Topology::from_json(TWO_REGIONS).expect("fixture")
}

/// S1: the one DR-Region rule. A discovered Region holding nothing of the primary's is not DR
/// (the dashboard used to count every other Region, the findings only those holding copies).
#[test]
fn a_third_region_holding_nothing_of_the_primary_is_not_dr() {
    let mut topology = two_regions();
    let before = dr_regions(&topology, PRIMARY, &[]);
    assert!(!before.is_empty(), "the fixture's DR Region holds copies");
    topology.regions.push(RegionTopology {
        region: "eu-west-1".into(),
        ..RegionTopology::default()
    });
    assert_eq!(dr_regions(&topology, PRIMARY, &[]), before);
    // Named DR Regions win, undiscovered ones included; the primary is never its own DR.
    let named = vec!["eu-west-1".to_string(), PRIMARY.to_string()];
    assert_eq!(dr_regions(&topology, PRIMARY, &named), vec!["eu-west-1"]);
}

#[test]
fn scope_follows_the_stack_tag() {
    let tagged = Tags::from([(STACK_TAG.to_string(), "lab".to_string())]);
    let other = Tags::from([(STACK_TAG.to_string(), "billing".to_string())]);
    let untagged = Tags::new();
    let lab = Scope::Stack("lab".into());
    assert!(lab.includes(&tagged) && !lab.includes(&other) && !lab.includes(&untagged));
    assert!(Scope::HavenStacks.includes(&other) && !Scope::HavenStacks.includes(&untagged));
    assert!(Scope::All.includes(&untagged));
}

/// Every row of the fixture says how current it is; a state that is not usable is never
/// reported as protected, and ages are measured from the data, not the copy.
#[test]
fn rows_of_the_two_region_fixture_are_typed_and_consistent() {
    let topology = two_regions();
    let policy = Policy::default().dr(&topology).expect("a DR Region");
    assert_eq!(
        policy.scope,
        Scope::All,
        "a stack built by hand: every resource"
    );
    assert_eq!(policy.rpo, Duration::minutes(DEFAULT_RPO_MINUTES));
    let status = status(&topology, &policy);
    assert!(!status.rows.is_empty());
    for row in &status.rows {
        assert_eq!(row.rpo_minutes, DEFAULT_RPO_MINUTES);
        match &row.state {
            DrState::Fresh | DrState::Stale => {
                assert!(row.usable.is_some(), "{row:?}");
                assert!(row.age_minutes.is_some(), "{row:?}");
            }
            DrState::Missing | DrState::Failed => assert!(row.usable.is_none(), "{row:?}"),
            DrState::Copying { .. } => assert!(row.in_flight().is_some(), "{row:?}"),
            DrState::Replica { .. } => assert_eq!(row.protection, Protection::ReadReplica),
        }
    }
}

#[test]
fn copying_reads_as_progress_and_replicas_as_replicating() {
    assert_eq!(DrState::Copying { progress: Some(7) }.label(), "copying 7%");
    assert!(!DrState::Copying { progress: None }.usable());
    let replicating = DrState::Replica {
        status: "available".into(),
    };
    assert_eq!(replicating.label(), "replicating");
    assert!(replicating.usable());
    assert!(
        !DrState::Replica {
            status: "creating".into()
        }
        .usable()
    );
    assert_eq!(minutes(90), "1h30m");
    assert_eq!(minutes(300), "5h");
    assert_eq!(minutes(3 * 24 * 60), "3d");
}
