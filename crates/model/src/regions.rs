//! The AWS Regions haven knows by name, so a typo is caught before any call is made, while a
//! Region AWS launched after this build is still accepted (with a warning).

/// Commercial, GovCloud and China Region codes (as of 2026).
pub const KNOWN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Regions that a new account does not have until someone enables them ("opt-in Regions",
/// every Region launched since March 2019): AWS Account Management reference guide, "Specify
/// which AWS Regions your account can use". Calls to a Region that is not enabled are refused
/// as if the credentials were wrong (`AuthFailure`, `UnrecognizedClientException`,
/// `InvalidClientTokenId`).
pub const OPT_IN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
];

/// The Region code is one AWS has.
pub fn is_known(region: &str) -> bool {
    KNOWN_REGIONS.contains(&region)
}

/// The Region must be enabled in the account before use: a known opt-in Region, or one
/// launched after this build (every new Region since 2019 has been opt-in).
pub fn needs_opt_in(region: &str) -> bool {
    OPT_IN_REGIONS.contains(&region) || !is_known(region)
}

/// What a Region code given by a person is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionCode {
    /// One of [`KNOWN_REGIONS`].
    Known,
    /// Shaped like a Region code but not in haven's list: a Region launched after this build,
    /// most likely. Accepted; say so, with the closest known Region if one is close.
    Unlisted {
        /// The known Region closest in spelling, if any.
        closest: Option<&'static str>,
    },
    /// Not a Region code, or a misspelling of a known one (`eu-wset-1`, `us-east-l`,
    /// `ue-east-1`).
    Invalid {
        /// The known Region it most likely means.
        closest: Option<&'static str>,
    },
}

/// The words that follow the area in a Region code (`eu-west-1`, `ap-northeast-2`).
const DIRECTIONS: &[&str] = &[
    "central",
    "east",
    "north",
    "northeast",
    "northwest",
    "south",
    "southeast",
    "southwest",
    "west",
];

/// The partition segments between the area and the direction (`us-gov-west-1`,
/// `us-iso-east-1`, `us-isob-east-1`, `eu-isoe-west-1`, `us-isof-south-1`).
const PARTITIONS: &[&str] = &["gov", "iso", "isob", "isoe", "isof"];

/// Classifies a Region code: known, a plausible Region haven does not list yet, or a mistake.
///
/// A code is plausible when it has the shape of every AWS Region code, `area-direction-N` or
/// `area-partition-direction-N` (two letters, a compass direction or `central`, a number). A
/// misspelling of a known Region is still refused: a misspelt direction or number breaks the
/// shape, and an unknown area one letter away from a known Region (`ue-east-1`) is a typo.
pub fn classify(region: &str) -> RegionCode {
    if is_known(region) {
        return RegionCode::Known;
    }
    let closest = closest(region);
    if !well_formed(region) {
        return RegionCode::Invalid { closest };
    }
    let area = region.split('-').next().unwrap_or_default();
    let area_is_known = KNOWN_REGIONS
        .iter()
        .any(|k| k.split('-').next() == Some(area));
    let one_letter_off = KNOWN_REGIONS
        .iter()
        .find(|known| edit_distance(region, known) == 1);
    match one_letter_off {
        Some(known) if !area_is_known => RegionCode::Invalid {
            closest: Some(known),
        },
        _ => RegionCode::Unlisted { closest },
    }
}

/// Accepted as a Region: known, or shaped like one (see [`classify`]).
pub fn is_accepted(region: &str) -> bool {
    !matches!(classify(region), RegionCode::Invalid { .. })
}

/// The warning for an [`RegionCode::Unlisted`] code that is used as given.
pub fn unlisted_warning(region: &str, closest: Option<&str>) -> String {
    let hint = closest
        .map(|c| format!(" If you meant {c}, correct it."))
        .unwrap_or_default();
    format!(
        "{region} is not in haven's list of Regions (a Region launched after this build?); it \
         is used as given, and if AWS does not answer there, check the code and that the Region \
         is enabled for the account.{hint}"
    )
}

fn well_formed(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let (area, direction, number) = match parts.as_slice() {
        [area, direction, number] => (*area, *direction, *number),
        [area, partition, direction, number] if PARTITIONS.contains(partition) => {
            (*area, *direction, *number)
        }
        _ => return false,
    };
    area.len() == 2
        && area.chars().all(|c| c.is_ascii_lowercase())
        && DIRECTIONS.contains(&direction)
        && !number.is_empty()
        && number.len() <= 2
        && number.chars().all(|c| c.is_ascii_digit())
        && !number.starts_with('0')
}

/// The known Region closest in spelling, for a "did you mean" hint.
pub fn closest(region: &str) -> Option<&'static str> {
    KNOWN_REGIONS
        .iter()
        .map(|known| (edit_distance(region, known), *known))
        .filter(|(distance, _)| *distance <= 3)
        .min()
        .map(|(_, known)| known)
}

/// Levenshtein distance, for suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_region() {
        assert!(is_known("ap-northeast-2"));
        assert!(!is_known("ap-northeast-9"));
        assert_eq!(closest("us-east-l"), Some("us-east-1"));
        assert_eq!(closest("xx-nowhere-9"), None);
    }

    #[test]
    fn d_regions_launched_after_the_build_are_accepted_and_typos_are_not() {
        use RegionCode::*;
        assert_eq!(classify("eu-west-1"), Known);
        // New Regions in known areas, new partitions' Regions, new areas.
        for new in [
            "ap-southeast-8",
            "eu-central-3",
            "us-gov-east-2",
            "cn-south-1",
            "us-isob-east-1",
            "sa-west-1",
            "xx-north-1",
        ] {
            assert!(
                matches!(classify(new), Unlisted { .. }),
                "{new}: {:?}",
                classify(new)
            );
            assert!(is_accepted(new), "{new}");
            assert!(needs_opt_in(new), "{new}");
        }
        assert!(
            matches!(classify("ap-southeast-8"), Unlisted { closest: Some(c) } if c.starts_with("ap-southeast-")),
            "{:?}",
            classify("ap-southeast-8")
        );
        // Misspellings of known Regions stay errors, with the did-you-mean.
        for (typo, meant) in [
            ("eu-wset-1", "eu-west-1"),
            ("us-east-l", "us-east-1"),
            ("ue-east-1", "us-east-1"),
            ("us-est-1", "us-east-1"),
            ("apnortheast-2", "ap-northeast-2"),
            ("us-gov-wst-1", "us-gov-west-1"),
        ] {
            assert_eq!(
                classify(typo),
                Invalid {
                    closest: Some(meant)
                },
                "{typo}"
            );
            assert!(!is_accepted(typo), "{typo}");
        }
        for nonsense in [
            "",
            "us",
            "us-east-01",
            "US-EAST-1",
            "xx-nowhere-9",
            "us-east-1-",
        ] {
            assert!(!is_accepted(nonsense), "{nonsense:?}");
        }
        assert!(needs_opt_in("af-south-1"));
        assert!(!needs_opt_in("us-east-1"));
    }
}
