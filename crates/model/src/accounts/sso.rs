//! Whether an IAM Identity Center (SSO) profile is signed in: the token the AWS CLI's
//! `aws sso login` leaves in its cache (`~/.aws/sso/cache/<sha1 of the session name or start
//! URL>.json`, with `expiresAt` in RFC 3339).

use chrono::{DateTime, Utc};

/// The state of a profile's SSO login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoToken {
    /// Signed in until `expires_at`.
    Valid {
        /// When the token expires.
        expires_at: DateTime<Utc>,
    },
    /// The token expired: `aws sso login` again.
    Expired {
        /// When it expired.
        expired_at: DateTime<Utc>,
    },
    /// No token (never signed in, signed out, or a cache file that cannot be read).
    Missing,
}

impl SsoToken {
    /// The state from the cache file's text (`None` when there is no file) at `now`.
    pub fn from_cache(text: Option<&str>, now: DateTime<Utc>) -> Self {
        let Some(expires_at) = text.and_then(expires_at) else {
            return SsoToken::Missing;
        };
        if expires_at > now {
            SsoToken::Valid { expires_at }
        } else {
            SsoToken::Expired {
                expired_at: expires_at,
            }
        }
    }

    /// Signed in and not expired.
    pub fn is_valid(&self) -> bool {
        matches!(self, SsoToken::Valid { .. })
    }
}

/// The token's `expiresAt`; nothing else of the file (the access token) is read.
fn expires_at(text: &str) -> Option<DateTime<Utc>> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    let expires = json.get("expiresAt")?.as_str()?;
    DateTime::parse_from_rfc3339(expires)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The command that signs a profile in again, as the AWS CLI documents it.
pub fn sso_login_command(profile: &str) -> String {
    format!("aws sso login --profile {profile}")
}

/// What `aws sso login` asks the person to do, read from its output line by line: the page to
/// open (the device page, or with the AWS CLI's newer PKCE flow the authorize URL) and, in the
/// device flow, the code to enter there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SsoPrompt {
    /// The page to open.
    pub url: Option<String>,
    /// The code to enter on it (`ABCD-EFGH`).
    pub code: Option<String>,
}

impl SsoPrompt {
    /// Reads one line of the CLI's output; true when it told something new.
    pub fn read(&mut self, line: &str) -> bool {
        let line = line.trim();
        if self.url.is_none()
            && let Some(url) = line.split_whitespace().find(|w| w.starts_with("https://"))
        {
            self.url = Some(url.to_string());
            return true;
        }
        if self.code.is_none() && is_user_code(line) {
            self.code = Some(line.to_string());
            return true;
        }
        false
    }

    /// The sentence the dashboard shows while the login waits.
    pub fn words(&self, profile: &str) -> String {
        let signing_in = format!("{profile}: signing in with IAM Identity Center");
        match (&self.url, &self.code) {
            (Some(url), Some(code)) => format!(
                "{signing_in}: open {url} and enter the code {code} (`aws sso login` is waiting)"
            ),
            (Some(url), None) => format!("{signing_in}: open {url} (`aws sso login` is waiting)"),
            _ => format!("{signing_in} (`{}`)…", sso_login_command(profile)),
        }
    }
}

/// A device flow's user code: two groups of four capitals or digits (`WDDD-HRQV`).
fn is_user_code(line: &str) -> bool {
    let mut groups = line.split('-');
    let four = |g: Option<&str>| {
        g.is_some_and(|g| {
            g.len() == 4
                && g.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
    };
    four(groups.next()) && four(groups.next()) && groups.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_login_prompt_is_read_from_the_clis_output() {
        let device = "Attempting to automatically open the SSO authorization page in your \
            default browser.\nIf the browser does not open or you wish to use a different device \
            to authorize this request, open the following URL:\n\n\
            https://device.sso.us-east-1.amazonaws.com/\n\nThen enter the code:\n\nWDDD-HRQV\n\
            Successfully logged into Start URL: https://corp.awsapps.com/start";
        let mut prompt = SsoPrompt::default();
        let told: Vec<bool> = device.lines().map(|l| prompt.read(l)).collect();
        assert_eq!(
            told.iter().filter(|t| **t).count(),
            2,
            "the URL, then the code"
        );
        assert_eq!(
            prompt.words("prod"),
            "prod: signing in with IAM Identity Center: open \
             https://device.sso.us-east-1.amazonaws.com/ and enter the code WDDD-HRQV \
             (`aws sso login` is waiting)"
        );
        // The PKCE flow gives one URL and no code; the start URL said at the end is not it.
        let mut pkce = SsoPrompt::default();
        pkce.read("https://oidc.us-east-1.amazonaws.com/authorize?response_type=code&client_id=x");
        assert!(
            pkce.words("prod")
                .contains("open https://oidc.us-east-1.amazonaws.com/authorize")
        );
        assert!(!pkce.read("Successfully logged into Start URL: https://corp.awsapps.com/start"));
        assert!(!is_user_code("HTTP-2026-X"));
    }

    #[test]
    fn a_token_is_valid_until_it_expires_then_expired() {
        let cache = r#"{"startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1",
            "accessToken": "secret", "expiresAt": "2026-12-01T08:00:00Z"}"#;
        assert_eq!(
            SsoToken::from_cache(Some(cache), at("2026-12-01T07:00:00Z")),
            SsoToken::Valid {
                expires_at: at("2026-12-01T08:00:00Z")
            }
        );
        let expired = SsoToken::from_cache(Some(cache), at("2026-12-01T08:00:01Z"));
        assert_eq!(
            expired,
            SsoToken::Expired {
                expired_at: at("2026-12-01T08:00:00Z")
            }
        );
        assert!(!expired.is_valid());
    }

    #[test]
    fn offsets_are_understood_and_a_missing_or_unreadable_cache_is_missing() {
        let cache = r#"{"expiresAt": "2026-12-01T10:00:00+02:00"}"#;
        assert!(SsoToken::from_cache(Some(cache), at("2026-12-01T07:59:00Z")).is_valid());
        assert!(!SsoToken::from_cache(Some(cache), at("2026-12-01T08:01:00Z")).is_valid());
        let now = at("2026-12-01T07:00:00Z");
        assert_eq!(SsoToken::from_cache(None, now), SsoToken::Missing);
        assert_eq!(SsoToken::from_cache(Some("{"), now), SsoToken::Missing);
        assert_eq!(
            SsoToken::from_cache(Some(r#"{"expiresAt": "tomorrow"}"#), now),
            SsoToken::Missing
        );
    }

    #[test]
    fn the_login_command_names_the_profile() {
        assert_eq!(sso_login_command("prod"), "aws sso login --profile prod");
    }
}
