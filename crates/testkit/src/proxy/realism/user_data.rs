//! moto stores the user data of a `CreateLaunchTemplateVersion` in a form its own launches
//! reject: an Auto Scaling group launching from such a version fails with HTTP 500
//! (`AssertionError` in `LaunchTemplateVersion.user_data`, moto 5.2). AWS keeps the user data
//! as given, base64 (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RequestLaunchTemplateData.html>).
//! The proxy sends the version to moto without it, keeps it aside, and puts it back in every
//! answer that shows the version, so that what haven reads is what AWS would answer.

use std::collections::HashMap;

use super::xml::{Edits, child_text, children, content, descendant, first_text, section};

/// The user data the proxy kept, by (Region, template id, version number).
#[derive(Debug, Default)]
pub(super) struct UserData {
    kept: HashMap<(String, String, String), String>,
}

/// The request parameter moto mishandles.
pub(super) const PARAM: &str = "LaunchTemplateData.UserData";

impl UserData {
    /// After `CreateLaunchTemplateVersion` (sent without the user data): keeps it for the new
    /// version and shows it in the answer.
    pub(super) fn created(&mut self, region: &str, user_data: &str, text: &str) -> Option<String> {
        let id = first_text(text, "launchTemplateId")?.to_owned();
        let number = first_text(text, "versionNumber")?.to_owned();
        self.kept
            .insert((region.to_owned(), id, number), user_data.to_owned());
        let version = section(text, "launchTemplateVersion")?;
        let data = descendant(text, version, "launchTemplateData")?;
        let mut edits = Edits::default();
        edits.set_child(text, content(text, data), "userData", user_data);
        Some(edits.apply(text))
    }

    /// `DescribeLaunchTemplateVersions`: the kept user data back in each version that had it.
    pub(super) fn described(&self, region: &str, text: &str) -> Option<String> {
        if self.kept.is_empty() {
            return None;
        }
        let list = section(text, "launchTemplateVersionSet")?;
        let mut edits = Edits::default();
        for item in children(text, list, "item") {
            let inner = content(text, item);
            let (Some(id), Some(number)) = (
                child_text(text, inner.clone(), "launchTemplateId"),
                child_text(text, inner.clone(), "versionNumber"),
            ) else {
                continue;
            };
            let key = (region.to_owned(), id.to_owned(), number.to_owned());
            if let (Some(user_data), Some(data)) = (
                self.kept.get(&key),
                children(text, inner, "launchTemplateData")
                    .into_iter()
                    .next(),
            ) {
                edits.set_child(text, content(text, data), "userData", user_data);
            }
        }
        (!edits.is_empty()).then(|| edits.apply(text))
    }
}
