//! haven's files in the platform's places: `config.toml` (refresh interval, Regions, read-only,
//! key map overrides, `[[accounts]]`), an optional `keymap.toml` and an optional `policy.toml` (what the stack is
//! held to, read by the dashboard and `haven check` when no `--policy` is given) in the config
//! directory, the last topology in
//! the cache directory, the action log and the log file in the data directory.
//!
//! `HAVEN_CONFIG_DIR`, `HAVEN_CACHE_DIR` and `HAVEN_DATA_DIR` replace the platform's directories.
//! A malformed config or key map file is an error naming the file, line, column and what would be
//! valid; a malformed cache file is ignored with a warning.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use haven_model::accounts::{AccountField, AccountSpec, validate_accounts};
use haven_model::findings::Policy;
use serde::Deserialize;
use toml::Spanned;

use crate::dashboard::keymap::{KeyMap, KeyMapError, Mode};

pub use crate::dashboard::{
    DEFAULT_FULL_REFRESH_SECONDS, DEFAULT_IAM_REFRESH_SECONDS, DEFAULT_REFRESH_SECONDS,
    DEFAULT_SIGNALS_SECONDS,
};

/// Where haven keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `config.toml` and `keymap.toml` live here.
    pub config_dir: PathBuf,
    /// The last topology (`topology.json`) lives here.
    pub cache_dir: PathBuf,
    /// The action log and the log file live here.
    pub data_dir: PathBuf,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file is not valid: where, and what would be.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong and what would be valid.
        message: String,
    },
    /// A file exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Neither the environment nor the platform gives a home directory.
    #[error("no home directory found: set HAVEN_CONFIG_DIR, HAVEN_CACHE_DIR and HAVEN_DATA_DIR")]
    NoHome,
}

impl Paths {
    /// The platform's directories, each replaced by its `HAVEN_*_DIR` variable when set.
    pub fn discover() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// Like [`Paths::discover`], reading variables through `lookup` (for tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, ConfigError> {
        let var = |name: &str| lookup(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let (config, cache, data) = (
            var("HAVEN_CONFIG_DIR"),
            var("HAVEN_CACHE_DIR"),
            var("HAVEN_DATA_DIR"),
        );
        if let (Some(config_dir), Some(cache_dir), Some(data_dir)) =
            (config.clone(), cache.clone(), data.clone())
        {
            return Ok(Self {
                config_dir,
                cache_dir,
                data_dir,
            });
        }
        let dirs =
            directories::ProjectDirs::from("dev", "haven", "haven").ok_or(ConfigError::NoHome)?;
        Ok(Self {
            config_dir: config.unwrap_or_else(|| dirs.config_dir().to_path_buf()),
            cache_dir: cache.unwrap_or_else(|| dirs.cache_dir().to_path_buf()),
            data_dir: data.unwrap_or_else(|| dirs.data_dir().to_path_buf()),
        })
    }

    /// `config.toml`.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    /// `keymap.toml` (optional; the same tables as `[keymap.*]` in `config.toml`, without the
    /// `keymap.` prefix).
    pub fn keymap_file(&self) -> PathBuf {
        self.config_dir.join("keymap.toml")
    }

    /// `policy.toml` (optional): objectives, primary and DR Regions, ports, accepted exceptions,
    /// in the layout `haven check --policy` reads (docs/findings.md).
    pub fn policy_file(&self) -> PathBuf {
        self.config_dir.join("policy.toml")
    }

    /// The last topology seen: `topology.json` in the cache directory.
    pub fn cache_file(&self) -> PathBuf {
        self.cache_dir.join("topology.json")
    }

    /// The action log (JSON lines).
    pub fn action_log_file(&self) -> PathBuf {
        self.data_dir.join("actions.jsonl")
    }

    /// The log file.
    pub fn log_file(&self) -> PathBuf {
        self.data_dir.join("haven.log")
    }
}

/// The settings read from the config files (defaults for whatever they leave out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the files are.
    pub paths: Paths,
    /// How often the dashboard refreshes.
    pub refresh: Duration,
    /// How often the dashboard's auto-refresh reads IAM too (`r` always does).
    pub iam_refresh: Duration,
    /// How often the dashboard reads everything (the refresh interval reads only what changes
    /// on its own).
    pub full_refresh: Duration,
    /// How often the dashboard reads the live signals (CloudWatch metrics and events).
    pub signals: Duration,
    /// Regions to show (empty = let the command line or the SDK decide).
    pub regions: Vec<String>,
    /// Start without any action that changes AWS.
    pub read_only: bool,
    /// The accounts to show side by side (`[[accounts]]`), checked; empty: one account, from
    /// `--profile` or the default credentials.
    pub accounts: Vec<AccountSpec>,
    /// Key bindings: the defaults with the user's overrides applied.
    pub keymap: KeyMap,
    /// What was ignored while reading, e.g. a malformed `keymap.toml` (the defaults are used).
    pub warnings: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    refresh_seconds: Option<Spanned<i64>>,
    iam_refresh_seconds: Option<Spanned<i64>>,
    full_refresh_seconds: Option<Spanned<i64>>,
    signals_seconds: Option<Spanned<i64>>,
    regions: Option<Vec<Spanned<String>>>,
    read_only: Option<bool>,
    keymap: Option<KeymapTables>,
    accounts: Option<Vec<Spanned<AccountTable>>>,
}

/// One `[[accounts]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountTable {
    name: Spanned<String>,
    profile: Option<Spanned<String>>,
    role_arn: Option<Spanned<String>>,
    external_id: Option<Spanned<String>>,
    #[serde(default)]
    regions: Vec<Spanned<String>>,
}

type KeymapTables = BTreeMap<String, Spanned<BTreeMap<String, Spanned<KeyList>>>>;

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl KeyList {
    fn names(&self) -> Vec<String> {
        match self {
            KeyList::One(k) => vec![k.clone()],
            KeyList::Many(ks) => ks.clone(),
        }
    }
}

impl Config {
    /// The defaults, for when no file exists.
    pub fn defaults(paths: Paths) -> Self {
        Self {
            paths,
            refresh: Duration::from_secs(DEFAULT_REFRESH_SECONDS),
            iam_refresh: Duration::from_secs(DEFAULT_IAM_REFRESH_SECONDS),
            full_refresh: Duration::from_secs(DEFAULT_FULL_REFRESH_SECONDS),
            signals: Duration::from_secs(DEFAULT_SIGNALS_SECONDS),
            regions: Vec::new(),
            read_only: false,
            accounts: Vec::new(),
            keymap: KeyMap::default(),
            warnings: Vec::new(),
        }
    }

    /// Finds the directories and reads `config.toml` and `keymap.toml` (both optional).
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from(Paths::discover()?)
    }

    /// Reads the files under `paths` (both optional).
    pub fn load_from(paths: Paths) -> Result<Self, ConfigError> {
        let mut config = Self::defaults(paths);
        let config_file = config.paths.config_file();
        if let Some(text) = read_optional(&config_file)? {
            config.apply_config_text(&text, &config_file)?;
        }
        // A broken key map must not lock anyone out of the dashboard: it is ignored as a whole,
        // with a warning naming what is wrong, and the keys stay as they were.
        let keymap_file = config.paths.keymap_file();
        if let Some(text) = read_optional(&keymap_file)? {
            let mut keymap = config.keymap.clone();
            let applied = toml::from_str::<KeymapTables>(&text)
                .map_err(|e| toml_error(&keymap_file, &text, &e))
                .and_then(|tables| apply_keymap(&mut keymap, &tables, &keymap_file, &text));
            match applied {
                Ok(()) => config.keymap = keymap,
                Err(e) => config.warnings.push(format!(
                    "ignoring the key map: {e}; the default keys are used"
                )),
            }
        }
        Ok(config)
    }

    /// Applies the text of a `config.toml` (named `path` in errors).
    pub fn apply_config_text(&mut self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        if let Some(seconds) = file.refresh_seconds {
            self.refresh = interval(&seconds, "refresh_seconds", path, text)?;
        }
        if let Some(seconds) = file.full_refresh_seconds {
            self.full_refresh = interval(&seconds, "full_refresh_seconds", path, text)?;
        }
        if let Some(seconds) = file.iam_refresh_seconds {
            self.iam_refresh = interval(&seconds, "iam_refresh_seconds", path, text)?;
        }
        if let Some(seconds) = file.signals_seconds {
            self.signals = signals_interval(&seconds, path, text)?;
        }
        if let Some(regions) = file.regions {
            let mut codes = Vec::new();
            for region in regions {
                self.warnings.extend(check_region(&region, path, text)?);
                codes.push(region.into_inner());
            }
            self.regions = codes;
        }
        if let Some(read_only) = file.read_only {
            self.read_only = read_only;
        }
        if let Some(tables) = file.keymap {
            apply_keymap(&mut self.keymap, &tables, path, text)?;
        }
        if let Some(tables) = file.accounts {
            self.accounts = self.read_accounts(&tables, path, text)?;
        }
        Ok(())
    }

    /// The `[[accounts]]` tables as accounts, checked; a mistake is reported at the value that
    /// is wrong.
    fn read_accounts(
        &mut self,
        tables: &[Spanned<AccountTable>],
        path: &Path,
        text: &str,
    ) -> Result<Vec<AccountSpec>, ConfigError> {
        let mut accounts = Vec::new();
        for table in tables {
            let account = table.get_ref();
            for region in &account.regions {
                self.warnings.extend(check_region(region, path, text)?);
            }
            let value = |v: &Option<Spanned<String>>| v.as_ref().map(|s| s.get_ref().clone());
            accounts.push(AccountSpec {
                name: account.name.get_ref().clone(),
                profile: value(&account.profile),
                role_arn: value(&account.role_arn),
                external_id: value(&account.external_id),
                regions: account
                    .regions
                    .iter()
                    .map(|r| r.get_ref().clone())
                    .collect(),
            });
        }
        validate_accounts(&accounts).map_err(|error| {
            let table = &tables[error.index];
            let account = table.get_ref();
            let span = match error.field {
                AccountField::Name => Some(account.name.span()),
                AccountField::Profile => account.profile.as_ref().map(Spanned::span),
                AccountField::RoleArn => account.role_arn.as_ref().map(Spanned::span),
                AccountField::ExternalId => account.external_id.as_ref().map(Spanned::span),
                AccountField::Region(i) => account.regions.get(i).map(Spanned::span),
            };
            let offset = span.unwrap_or_else(|| table.span()).start;
            invalid_at(path, text, offset, error.to_string())
        })?;
        Ok(accounts)
    }
}

/// A number of seconds between 1 and a day.
fn interval(
    seconds: &Spanned<i64>,
    key: &str,
    path: &Path,
    text: &str,
) -> Result<Duration, ConfigError> {
    let value = *seconds.get_ref();
    if !(1..=86_400).contains(&value) {
        return Err(invalid_at(
            path,
            text,
            seconds.span().start,
            format!("{key} must be between 1 and 86400, not {value}"),
        ));
    }
    Ok(Duration::from_secs(value.unsigned_abs()))
}

/// The signals interval: a minute at least (CloudWatch's period), a day at most.
fn signals_interval(
    seconds: &Spanned<i64>,
    path: &Path,
    text: &str,
) -> Result<Duration, ConfigError> {
    let value = *seconds.get_ref();
    if !(60..=86_400).contains(&value) {
        return Err(invalid_at(
            path,
            text,
            seconds.span().start,
            format!(
                "signals_seconds must be between 60 and 86400 (CloudWatch's metrics have a point \
                 a minute), not {value}"
            ),
        ));
    }
    Ok(Duration::from_secs(value.unsigned_abs()))
}

/// Reads a policy file (`None` when there is none): the layout of
/// [`haven_model::findings::Policy`], with known Region codes. Only the commands that judge the
/// stack read it, so a broken one stops nothing else, and `--policy` replaces it.
pub fn read_policy(path: &Path) -> Result<Option<Policy>, ConfigError> {
    read_optional(path)?
        .map(|text| parse_policy(&text, path))
        .transpose()
}

fn parse_policy(text: &str, path: &Path) -> Result<Policy, ConfigError> {
    #[derive(Deserialize)]
    struct Regions {
        primary_region: Option<Spanned<String>>,
        #[serde(default)]
        dr_regions: Vec<Spanned<String>>,
    }
    let policy: Policy = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    // The same text parsed again for the spans of the Region codes, to point at a wrong one.
    let regions: Regions = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    for region in regions.primary_region.iter().chain(&regions.dr_regions) {
        if let Some(warning) = check_region(region, path, text)? {
            tracing::warn!("{}: {warning}", path.display());
        }
    }
    Ok(policy)
}

/// A known Region is fine; a Region code haven does not list is used with a warning (AWS may
/// have launched it after this build); a misspelling of a known Region is an error.
fn check_region(
    region: &Spanned<String>,
    path: &Path,
    text: &str,
) -> Result<Option<String>, ConfigError> {
    use haven_model::regions::{self, RegionCode};
    let code = region.get_ref();
    match regions::classify(code) {
        RegionCode::Known => Ok(None),
        RegionCode::Unlisted { closest } => Ok(Some(format!(
            "{}: {}",
            path.display(),
            regions::unlisted_warning(code, closest)
        ))),
        RegionCode::Invalid { closest } => {
            let hint = closest
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            Err(invalid_at(
                path,
                text,
                region.span().start,
                format!("unknown Region `{code}`{hint}"),
            ))
        }
    }
}

fn apply_keymap(
    keymap: &mut KeyMap,
    tables: &KeymapTables,
    path: &Path,
    text: &str,
) -> Result<(), ConfigError> {
    for (mode, table) in tables {
        if Mode::from_name(mode).is_none() {
            let error = KeyMapError::UnknownMode(mode.clone());
            return Err(invalid_at(
                path,
                text,
                table.span().start,
                error.to_string(),
            ));
        }
        for (action, keys) in table.get_ref() {
            keymap
                .apply_override(mode, action, &keys.get_ref().names())
                .map_err(|e| invalid_at(path, text, keys.span().start, e.to_string()))?;
        }
    }
    Ok(())
}

fn read_optional(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.chars().count(), |i| before[i + 1..].chars().count())
        + 1;
    (line, column)
}

fn invalid_at(path: &Path, text: &str, offset: usize, message: String) -> ConfigError {
    let (line, column) = line_column(text, offset);
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

fn toml_error(path: &Path, text: &str, error: &toml::de::Error) -> ConfigError {
    let offset = error.span().map_or(0, |s| s.start);
    invalid_at(path, text, offset, error.message().trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{read_cached_topology, write_cached_topology};
    use haven_model::Topology;

    fn paths(dir: &Path) -> Paths {
        let dir = dir.to_path_buf();
        Paths::from_lookup(move |name| {
            let sub = match name {
                "HAVEN_CONFIG_DIR" => "config",
                "HAVEN_CACHE_DIR" => "cache",
                "HAVEN_DATA_DIR" => "data",
                _ => return None,
            };
            Some(dir.join(sub).into_os_string())
        })
        .expect("paths")
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("haven-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("config")).expect("mkdir");
        dir
    }

    #[test]
    fn environment_variables_replace_the_platform_directories() {
        let dir = temp_dir("env");
        let p = paths(&dir);
        assert_eq!(p.config_file(), dir.join("config/config.toml"));
        assert_eq!(p.cache_file(), dir.join("cache/topology.json"));
        assert_eq!(p.log_file(), dir.join("data/haven.log"));
        let config = Config::load_from(p).expect("no files is fine");
        assert_eq!(config.refresh, Duration::from_secs(DEFAULT_REFRESH_SECONDS));
        assert_eq!(config.iam_refresh, Duration::from_secs(1800));
        assert_eq!(config.keymap, KeyMap::default());
    }

    #[test]
    fn d_a_region_newer_than_the_build_is_used_with_a_warning_and_a_typo_is_refused() {
        let dir = temp_dir("new-region");
        let file = dir.join("config/config.toml");
        std::fs::write(&file, "regions = [\"ap-southeast-8\", \"us-east-1\"]\n").expect("write");
        let config = Config::load_from(paths(&dir)).expect("a new Region is accepted");
        assert_eq!(config.regions, ["ap-southeast-8", "us-east-1"]);
        assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
        assert!(
            config.warnings[0].contains("ap-southeast-8 is not in haven's list of Regions"),
            "{:?}",
            config.warnings
        );
        std::fs::write(&file, "regions = [\"ap-southaest-1\"]\n").expect("write");
        let err = Config::load_from(paths(&dir)).expect_err("a typo is refused");
        assert!(
            err.to_string().contains("did you mean `ap-southeast-1`"),
            "{err}"
        );
    }

    #[test]
    fn d_the_iam_refresh_interval_is_read_from_config_toml() {
        let dir = temp_dir("iam-refresh");
        let file = dir.join("config/config.toml");
        std::fs::write(
            &file,
            "refresh_seconds = 20\niam_refresh_seconds = 900\nfull_refresh_seconds = 300\n",
        )
        .expect("write");
        let config = Config::load_from(paths(&dir)).expect("valid");
        assert_eq!(config.refresh, Duration::from_secs(20));
        assert_eq!(config.iam_refresh, Duration::from_secs(900));
        assert_eq!(config.full_refresh, Duration::from_secs(300));
        std::fs::write(&file, "iam_refresh_seconds = 0\n").expect("write");
        let err = Config::load_from(paths(&dir)).expect_err("0 is refused");
        let err = err.to_string();
        assert!(err.contains("config.toml:1:23:"), "{err}");
        assert!(
            err.contains("iam_refresh_seconds must be between 1 and 86400"),
            "{err}"
        );
    }

    #[test]
    fn the_signals_interval_is_read_from_config_toml_and_is_a_minute_at_least() {
        let dir = temp_dir("signals-interval");
        let file = dir.join("config/config.toml");
        let config = Config::load_from(paths(&dir)).expect("no file");
        assert_eq!(config.signals, Duration::from_secs(60), "the default");
        std::fs::write(
            &file,
            "signals_seconds = 300
",
        )
        .expect("write");
        let config = Config::load_from(paths(&dir)).expect("valid");
        assert_eq!(config.signals, Duration::from_secs(300));
        std::fs::write(
            &file,
            "signals_seconds = 30
",
        )
        .expect("write");
        let err = Config::load_from(paths(&dir)).expect_err("30 s is refused");
        let err = err.to_string();
        assert!(err.contains("config.toml:1:19:"), "{err}");
        assert!(
            err.contains("signals_seconds must be between 60 and 86400"),
            "{err}"
        );
    }

    #[test]
    fn reads_settings_and_keymap_overrides() {
        let dir = temp_dir("ok");
        std::fs::write(
            dir.join("config/config.toml"),
            "refresh_seconds = 10\nregions = [\"ap-northeast-2\", \"us-east-1\"]\nread_only = true\n\n[keymap.global]\nquit = [\"x\"]\n",
        )
        .expect("write");
        std::fs::write(
            dir.join("config/keymap.toml"),
            "[list]\nsort_next = \"o\"\n",
        )
        .expect("write");
        let config = Config::load_from(paths(&dir)).expect("valid");
        assert_eq!(config.refresh, Duration::from_secs(10));
        assert_eq!(config.regions, ["ap-northeast-2", "us-east-1"]);
        assert!(config.read_only);
        use crate::dashboard::keymap::{KeyAction, KeySpec};
        let o = KeySpec::parse("o").expect("key");
        assert_eq!(
            config.keymap.keys_for(Mode::List, KeyAction::SortNext),
            vec![o]
        );
        assert_eq!(
            config.keymap.keys_for(Mode::Map, KeyAction::Quit),
            vec![KeySpec::parse("x").expect("key")]
        );
    }

    #[test]
    fn accounts_tables_are_read_in_order_with_their_roles_and_regions() {
        let dir = temp_dir("accounts");
        std::fs::write(
            dir.join("config/config.toml"),
            "refresh_seconds = 30\n\n\
             [[accounts]]\nname = \"prod\"\nprofile = \"prod\"\n\
             regions = [\"ap-northeast-2\", \"ap-southeast-8\"]\n\n\
             [[accounts]]\nname = \"dr\"\nprofile = \"prod\"\n\
             role_arn = \"arn:aws:iam::210987654321:role/haven-reader\"\n\
             external_id = \"haven-2026\"\n",
        )
        .expect("write");
        let config = Config::load_from(paths(&dir)).expect("valid");
        assert_eq!(
            config.accounts,
            vec![
                AccountSpec {
                    name: "prod".into(),
                    profile: Some("prod".into()),
                    role_arn: None,
                    external_id: None,
                    regions: vec!["ap-northeast-2".into(), "ap-southeast-8".into()],
                },
                AccountSpec {
                    name: "dr".into(),
                    profile: Some("prod".into()),
                    role_arn: Some("arn:aws:iam::210987654321:role/haven-reader".into()),
                    external_id: Some("haven-2026".into()),
                    regions: Vec::new(),
                },
            ]
        );
        assert_eq!(
            config.warnings.len(),
            1,
            "the unlisted Region: {:?}",
            config.warnings
        );
        assert!(
            Config::load_from(paths(&temp_dir("no-accounts")))
                .expect("defaults")
                .accounts
                .is_empty()
        );
    }

    #[test]
    fn a_wrong_account_names_the_file_line_column_field_and_what_is_valid() {
        let err = error_for(
            "config.toml",
            "[[accounts]]\nname = \"dr\"\nrole_arn = \"arn:aws:iam::210987654321:user/ana\"\n",
        );
        assert!(err.contains("config.toml:3:12:"), "{err}");
        assert!(err.contains("account `dr`: role_arn"), "{err}");
        assert!(
            err.contains("expected arn:aws:iam::123456789012:role/NAME"),
            "{err}"
        );

        let err = error_for(
            "config.toml",
            "[[accounts]]\nname = \"a\"\n[[accounts]]\nname = \"a\"\n",
        );
        assert!(err.contains("config.toml:4:8:"), "{err}");
        assert!(err.contains("already the name of account #1"), "{err}");

        let err = error_for(
            "config.toml",
            "[[accounts]]\nname = \"a\"\nregions = [\"us-east-1\", \"eu-wset-1\"]\n",
        );
        assert!(err.contains("config.toml:3:25:"), "{err}");
        assert!(err.contains("did you mean `eu-west-1`"), "{err}");

        let err = error_for("config.toml", "[[accounts]]\nprofile = \"prod\"\n");
        assert!(err.contains("config.toml:1:"), "{err}");
        assert!(err.contains("name"), "a missing name: {err}");

        let err = error_for("config.toml", "[[accounts]]\nname = \"a\"\nrole = \"x\"\n");
        assert!(err.contains("config.toml:3:1:"), "{err}");
        assert!(err.contains("role_arn"), "the valid keys: {err}");
    }

    fn error_for(file: &str, text: &str) -> String {
        let dir = temp_dir(&format!("bad-{}", text.len()));
        std::fs::write(dir.join("config").join(file), text).expect("write");
        let err = Config::load_from(paths(&dir)).expect_err("invalid");
        assert!(matches!(err, ConfigError::Invalid { .. }), "{err:?}");
        err.to_string()
    }

    #[test]
    fn malformed_files_name_the_file_position_and_valid_keys() {
        let err = error_for("config.toml", "refresh_seconds = 10\nrefresh = 5\n");
        assert!(err.contains("config.toml:2:1:"), "{err}");
        assert!(err.contains("refresh_seconds"), "{err}");
        assert!(err.contains("regions"), "{err}");

        let err = error_for("config.toml", "regions = [\"us-east-l\"]\n");
        assert!(err.contains("config.toml:1:12:"), "{err}");
        assert!(err.contains("did you mean `us-east-1`"), "{err}");

        let err = error_for("config.toml", "refresh_seconds = \"often\"\n");
        assert!(err.contains("config.toml:1:19:"), "{err}");

        let err = error_for("config.toml", "[keymap.map]\nexpand = [\"ctrl-nope\"]\n");
        assert!(err.contains("config.toml:2:10:"), "{err}");
        assert!(err.contains("ctrl-nope"), "{err}");
    }

    #[test]
    fn a_policy_file_in_the_config_directory_is_read_and_a_wrong_one_says_where() {
        let dir = temp_dir("policy");
        let file = paths(&dir).policy_file();
        assert_eq!(read_policy(&file).expect("no policy file"), None);
        std::fs::write(
            &file,
            "primary_region = \"ap-northeast-2\"\ndr_regions = [\"us-east-1\"]\n\
             [objectives.region]\nrto_seconds = 3600\nrpo_seconds = 900\n",
        )
        .expect("write");
        let policy = read_policy(&file)
            .expect("a valid policy")
            .expect("a policy");
        assert_eq!(policy.primary_region.as_deref(), Some("ap-northeast-2"));
        assert_eq!(policy.dr_regions, vec!["us-east-1".to_string()]);
        assert_eq!(
            policy.objectives.region.map(|o| o.rpo_seconds),
            Some(900),
            "the DR view's RPO"
        );

        let error_for = |text: &str| {
            std::fs::write(&file, text).expect("write");
            let err = read_policy(&file).expect_err("invalid");
            assert!(matches!(err, ConfigError::Invalid { .. }), "{err:?}");
            // Nothing else depends on it.
            assert!(Config::load_from(paths(&dir)).is_ok());
            err.to_string()
        };
        let err = error_for("dr_regions = [\"us-east-1\", \"eu-wset-1\"]\n");
        assert!(err.contains("policy.toml:1:28:"), "{err}");
        assert!(err.contains("did you mean `eu-west-1`"), "{err}");
        let err = error_for("rpo = 60\n");
        assert!(err.contains("policy.toml:1:1:"), "{err}");
        assert!(err.contains("objectives"), "{err}");
    }

    /// The warning a malformed `keymap.toml` gives; the keys stay the defaults.
    fn keymap_warning(text: &str) -> String {
        let dir = temp_dir(&format!("keymap-{}", text.len()));
        std::fs::write(dir.join("config/keymap.toml"), text).expect("write");
        let config = Config::load_from(paths(&dir)).expect("a bad key map is not fatal");
        assert_eq!(config.keymap, KeyMap::default());
        assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
        config.warnings[0].clone()
    }

    #[test]
    fn a_malformed_keymap_is_ignored_with_a_warning_naming_what_is_wrong() {
        let w = keymap_warning("[list]\nsort = \"o\"\n");
        assert!(w.contains("keymap.toml:2:8:"), "{w}");
        assert!(w.contains("sort_next"), "{w}");
        assert!(w.contains("default keys"), "{w}");

        let w = keymap_warning("[lists]\nfilter = \"f\"\n");
        assert!(w.contains("keymap.toml:1:1:"), "{w}");
        assert!(w.contains("global, map, list"), "{w}");

        // Half-valid files are ignored whole, not half applied.
        let w = keymap_warning("[global]\nquit = \"x\"\n[map]\nexpand = \"ctrl-nope\"\n");
        assert!(w.contains("ctrl-nope"), "{w}");
        assert!(keymap_warning("not toml at all [").contains("keymap.toml:1:"));
        assert!(keymap_warning("\u{0}\u{1}binary").contains("keymap.toml"));
    }

    #[test]
    fn a_malformed_cache_is_ignored_and_a_written_one_reads_back() {
        let dir = temp_dir("cache");
        let p = paths(&dir);
        assert_eq!(read_cached_topology(&p.cache_file()), None);
        std::fs::create_dir_all(&p.cache_dir).expect("mkdir");
        std::fs::write(p.cache_file(), "{ not json").expect("write");
        assert_eq!(read_cached_topology(&p.cache_file()), None);
        let topology = Topology::new(chrono::DateTime::UNIX_EPOCH);
        write_cached_topology(&p.cache_file(), &topology).expect("write");
        assert_eq!(read_cached_topology(&p.cache_file()), Some(topology));
    }
}
