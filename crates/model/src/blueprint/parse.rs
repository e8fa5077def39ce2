//! From TOML text to a [`Blueprint`]: every value read with its span, every rule checked, every
//! problem reported where it is.

use std::collections::BTreeSet;
use std::ops::{Range, RangeInclusive};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::cidr::{CidrError, Ipv4Cidr};
use super::keys::{self, SECTIONS, SectionSpec};
use super::{
    AmiSource, AsgHealthCheck, AutoScalingSpec, Blueprint, BlueprintError, BlueprintErrors,
    CertificateSource, ComputeSpec, DatabaseSpec, DnsRouting, DnsSpec, DrSpec, HealthCheckSpec,
    HttpProtocol, HttpsSpec, IamSpec, LoadBalancerSpec, NatMode, NetworkSpec, OperatorsSpec,
    PasswordPolicySpec, SSM_MANAGED_POLICY_ARN, SecuritySpec, StackSpec,
};
use crate::regions;

/// Longest stack name: `<name>-alb` must fit the 32 characters AWS allows load balancer names.
pub(crate) const MAX_STACK_NAME: usize = 28;

/// Engines a blueprint can ask for, with their default port.
const ENGINES: &[(&str, u16)] = &[("mysql", 3306), ("mariadb", 3306), ("postgres", 5432)];

/// A value and where it is written.
#[derive(Debug, Clone)]
struct Sp<T> {
    value: T,
    span: Range<usize>,
}

type Value<'i> = Spanned<DeValue<'i>>;

/// A table being read, with the spec of its keys.
struct Table<'t, 'i> {
    spec: &'static SectionSpec,
    table: &'t DeTable<'i>,
    span: Range<usize>,
}

struct Reader<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<BlueprintError>,
}

pub(super) fn parse(
    text: &str,
    file: &str,
    user_data_exists: &dyn Fn(&str) -> bool,
) -> Result<Blueprint, BlueprintErrors> {
    let mut reader = Reader {
        file,
        text,
        errors: Vec::new(),
    };
    let document = match DeTable::parse(text) {
        Ok(document) => document,
        Err(error) => {
            let span = error.span().unwrap_or(0..0);
            let message = error.message().lines().next().unwrap_or("invalid TOML");
            reader.error(
                &span,
                format!("not valid TOML: {message}"),
                "expected TOML like assets/blueprints/lab.toml (key = value lines under [section] \
                 headers)"
                    .to_string(),
            );
            return Err(reader.finish());
        }
    };
    reader.refuse_passwords(document.get_ref());
    let root = Table {
        spec: &SECTIONS[0],
        table: document.get_ref(),
        span: 0..0,
    };
    reader.check_keys(&root);
    let blueprint = reader.blueprint(&root, user_data_exists);
    if reader.errors.is_empty() {
        Ok(blueprint)
    } else {
        Err(reader.finish())
    }
}

/// A key that would hold a database password in plain text.
fn is_password_key(key: &str) -> bool {
    (key == "password" || key.ends_with("_password") || key == "passwd" || key == "pwd")
        && key != "manage_master_user_password"
}

/// The closest candidate in spelling, for "did you mean".
fn closest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (regions::edit_distance(word, c), c))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, c)| c)
}

fn is_resource_name(name: &str, extra: &[char]) -> bool {
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
}

/// `t3.micro`, `m7g.large`, `u-6tb1.metal`: a family with a generation digit, a dot, a size.
fn is_instance_type(text: &str) -> bool {
    let Some((family, size)) = text.split_once('.') else {
        return false;
    };
    family.starts_with(|c: char| c.is_ascii_lowercase())
        && family.chars().any(|c| c.is_ascii_digit())
        && family
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !size.is_empty()
        && size
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// An RDS identifier: a letter, then letters, digits and single hyphens, at most 63, no hyphen
/// at the end. Lowercase, as RDS stores it.
fn is_db_identifier(name: &str) -> bool {
    name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// `arn:<partition>:iam::<aws|account>:policy/<name>`.
fn is_policy_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    prefix == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && (account == "aws"
            || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
        && resource
            .strip_prefix("policy/")
            .is_some_and(|name| !name.is_empty())
}

fn is_ami_id(text: &str) -> bool {
    text.strip_prefix("ami-").is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17)
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// `200`, `200,302`, `200-299`: every code within 200–499.
fn is_matcher(text: &str) -> bool {
    let code = |s: &str| s.parse::<u16>().is_ok_and(|c| (200..=499).contains(&c));
    !text.is_empty()
        && text.split(',').all(|part| match part.split_once('-') {
            Some((low, high)) => {
                code(low) && code(high) && low.parse::<u16>().ok() <= high.parse::<u16>().ok()
            }
            None => code(part),
        })
}

/// The predefined security policies of an Application Load Balancer's HTTPS listener, as the
/// Elastic Load Balancing user guide lists them ("Security policies for your Application Load
/// Balancer").
pub(crate) const TLS_POLICIES: &[&str] = &[
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-1-2021-06",
    "ELBSecurityPolicy-TLS13-1-0-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-1-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-0-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    "ELBSecurityPolicy-FS-1-2-Res-2019-08",
    "ELBSecurityPolicy-FS-1-2-2019-08",
    "ELBSecurityPolicy-FS-1-1-2019-08",
    "ELBSecurityPolicy-FS-2018-06",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    "ELBSecurityPolicy-TLS-1-2-2017-01",
    "ELBSecurityPolicy-TLS-1-1-2017-01",
    "ELBSecurityPolicy-2016-08",
    "ELBSecurityPolicy-TLS-1-0-2015-04",
    "ELBSecurityPolicy-2015-05",
];

/// The default `[https] tls_policy`: TLS 1.3 and 1.2.
pub(crate) const DEFAULT_TLS_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06";

/// A DNS name: labels of letters, digits and hyphens (and `_`, which Route 53 accepts), 1–63
/// characters each, not starting or ending with a hyphen, 253 characters at most; no final dot.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// `arn:<partition>:acm:<region>:<account>:certificate/<id>` → its Region.
fn acm_arn_region(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return None;
    };
    (prefix == "arn"
        && partition.starts_with("aws")
        && service == "acm"
        && !region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource
            .strip_prefix("certificate/")
            .is_some_and(|id| !id.is_empty()))
    .then_some(region)
}

/// `15m`, `1h`, `1d` → minutes.
fn rpo_minutes(text: &str) -> Option<u32> {
    let unit = text.chars().last()?;
    let number: u32 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    let minutes = match unit {
        'm' => number,
        'h' => number.checked_mul(60)?,
        'd' => number.checked_mul(24 * 60)?,
        _ => return None,
    };
    (minutes > 0).then_some(minutes)
}

fn list(items: &[&str]) -> String {
    items.join(", ")
}

impl<'a> Reader<'a> {
    fn finish(mut self) -> BlueprintErrors {
        self.errors.sort_by_key(|e| (e.offset, e.problem.clone()));
        self.errors.dedup();
        BlueprintErrors(self.errors)
    }

    fn error(&mut self, span: &Range<usize>, problem: String, expected: String) {
        let offset = span.start.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        self.errors.push(BlueprintError {
            file: self.file.to_string(),
            line,
            column,
            offset,
            problem,
            expected,
        });
    }

    /// Every key anywhere that would hold a database password.
    fn refuse_passwords(&mut self, table: &DeTable<'_>) {
        for (key, value) in table.iter() {
            if is_password_key(key.get_ref()) {
                self.error(
                    &key.span(),
                    format!(
                        "`{}` would put a database password in plain text in the blueprint",
                        key.get_ref()
                    ),
                    "expected no password at all: with manage_master_user_password = true (the \
                     default) RDS creates the master password and keeps it in Secrets Manager, \
                     where the instance role reads it"
                        .to_string(),
                );
            }
            match value.get_ref() {
                DeValue::Table(inner) => self.refuse_passwords(inner),
                DeValue::Array(items) => {
                    for item in items.iter() {
                        if let DeValue::Table(inner) = item.get_ref() {
                            self.refuse_passwords(inner);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Unknown keys, with the nearest valid one or the table they belong in.
    fn check_keys(&mut self, table: &Table<'_, '_>) {
        let spec = table.spec;
        for (key, _) in table.table.iter() {
            let name = key.get_ref().as_ref();
            if spec.key(name).is_some() || is_password_key(name) {
                continue;
            }
            let valid: Vec<&str> = spec.keys.iter().map(|k| k.name).collect();
            let what = if spec.path.is_empty() {
                format!("unknown section [{name}]")
            } else {
                format!("unknown key `{name}` in {}", spec.header())
            };
            let hint = if let Some(near) = closest(name, valid.iter().copied()) {
                if spec.path.is_empty() {
                    format!("did you mean [{near}]? ")
                } else {
                    format!("did you mean `{near}`? ")
                }
            } else if let Some(home) = SECTIONS
                .iter()
                .find(|s| !s.path.is_empty() && s.path != spec.path && s.key(name).is_some())
            {
                format!("`{name}` belongs in {}. ", home.header())
            } else {
                String::new()
            };
            let noun = if spec.path.is_empty() {
                "sections".to_string()
            } else {
                format!("keys in {}", spec.header())
            };
            self.error(
                &key.span(),
                what,
                format!("{hint}valid {noun}: {}", list(&valid)),
            );
        }
    }

    fn missing(&mut self, table: &Table<'_, '_>, key: &str) {
        // A misspelt key is already reported as unknown, with this one as the suggestion.
        let misspelt = table.table.iter().any(|(written, _)| {
            let written = written.get_ref().as_ref();
            table.spec.key(written).is_none()
                && closest(written, table.spec.keys.iter().map(|k| k.name)) == Some(key)
        });
        if misspelt {
            return;
        }
        let example = table.spec.key(key).map_or("", |k| k.example);
        if let Some(sub) = keys::section(&join(table.spec.path, key)) {
            let required: Vec<&str> = sub
                .keys
                .iter()
                .filter(|k| k.required)
                .map(|k| k.name)
                .collect();
            self.error(
                &table.span,
                format!("missing section {}", sub.header()),
                format!(
                    "expected a {} table with {}",
                    sub.header(),
                    if required.is_empty() {
                        "its settings".to_string()
                    } else {
                        list(&required)
                    }
                ),
            );
        } else {
            self.error(
                &table.span,
                format!("missing key `{key}` in {}", table.spec.header()),
                format!("expected e.g. {key} = {example}"),
            );
        }
    }

    fn wrong_type(&mut self, table: &Table<'_, '_>, key: &str, value: &Value<'_>, want: &str) {
        let example = table.spec.key(key).map_or("", |k| k.example);
        self.error(
            &value.span(),
            format!(
                "`{key}` must be {want}, found {} {}",
                article(value.get_ref().type_str()),
                value.get_ref().type_str()
            ),
            format!("expected e.g. {key} = {example}"),
        );
    }

    /// The value of `key`; a missing required key is reported.
    fn raw<'t, 'i>(&mut self, table: &Table<'t, 'i>, key: &str) -> Option<&'t Value<'i>> {
        let value = table.table.get(key);
        if value.is_none() && table.spec.key(key).is_some_and(|k| k.required) {
            self.missing(table, key);
        }
        value
    }

    fn sub<'t, 'i>(&mut self, table: &Table<'t, 'i>, key: &str) -> Option<Table<'t, 'i>> {
        let value = self.raw(table, key)?;
        let path = join(table.spec.path, key);
        let spec = keys::section(&path)?;
        match value.get_ref() {
            DeValue::Table(inner) => {
                let sub = Table {
                    spec,
                    table: inner,
                    span: value.span(),
                };
                self.check_keys(&sub);
                Some(sub)
            }
            other => {
                self.error(
                    &value.span(),
                    format!(
                        "`{key}` must be a table, found {} {}",
                        article(other.type_str()),
                        other.type_str()
                    ),
                    format!("expected a {} section", spec.header()),
                );
                None
            }
        }
    }

    fn string(&mut self, table: &Table<'_, '_>, key: &str) -> Option<Sp<String>> {
        let value = self.raw(table, key)?;
        match value.get_ref() {
            DeValue::String(s) => Some(Sp {
                value: s.to_string(),
                span: value.span(),
            }),
            _ => {
                self.wrong_type(table, key, value, "a string");
                None
            }
        }
    }

    fn boolean(&mut self, table: &Table<'_, '_>, key: &str) -> Option<Sp<bool>> {
        let value = self.raw(table, key)?;
        match value.get_ref() {
            DeValue::Boolean(b) => Some(Sp {
                value: *b,
                span: value.span(),
            }),
            _ => {
                self.wrong_type(table, key, value, "true or false");
                None
            }
        }
    }

    /// An integer within `range`; `what` says what it counts, for the message.
    fn integer(
        &mut self,
        table: &Table<'_, '_>,
        key: &str,
        range: RangeInclusive<i64>,
        what: &str,
    ) -> Option<Sp<i64>> {
        let value = self.raw(table, key)?;
        let DeValue::Integer(int) = value.get_ref() else {
            self.wrong_type(table, key, value, "an integer");
            return None;
        };
        let Ok(number) = i64::from_str_radix(int.as_str(), int.radix()) else {
            self.wrong_type(table, key, value, "a small integer");
            return None;
        };
        if !range.contains(&number) {
            self.error(
                &value.span(),
                format!("`{key}` = {number} is out of range"),
                format!("expected {what} from {} to {}", range.start(), range.end()),
            );
            return None;
        }
        Some(Sp {
            value: number,
            span: value.span(),
        })
    }

    fn strings(&mut self, table: &Table<'_, '_>, key: &str) -> Option<Sp<Vec<Sp<String>>>> {
        let value = self.raw(table, key)?;
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(table, key, value, "a list of strings");
            return None;
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => out.push(Sp {
                    value: s.to_string(),
                    span: item.span(),
                }),
                other => {
                    self.error(
                        &item.span(),
                        format!(
                            "`{key}` must hold strings, found {} {}",
                            article(other.type_str()),
                            other.type_str()
                        ),
                        format!(
                            "expected e.g. {key} = {}",
                            table.spec.key(key).map_or("", |k| k.example)
                        ),
                    );
                    return None;
                }
            }
        }
        Some(Sp {
            value: out,
            span: value.span(),
        })
    }

    fn cidr(&mut self, key: &str, item: &Sp<String>, example: &str) -> Option<Ipv4Cidr> {
        match Ipv4Cidr::parse(&item.value) {
            Ok(cidr) => Some(cidr),
            Err(error) => {
                let (problem, expected) = match error {
                    CidrError::Malformed => (
                        format!("`{key}`: {:?} is not an IPv4 CIDR block", item.value),
                        format!("expected an address and a prefix length, e.g. {example}"),
                    ),
                    CidrError::BadPrefix => (
                        format!("`{key}`: {:?} has a prefix length above 32", item.value),
                        format!("expected a prefix length from 0 to 32, e.g. {example}"),
                    ),
                    CidrError::HostBitsSet(network) => (
                        format!(
                            "`{key}`: {:?} has host bits set after the /{} prefix",
                            item.value,
                            network.prefix()
                        ),
                        format!("expected the network address: did you mean \"{network}\"?"),
                    ),
                };
                self.error(&item.span, problem, expected);
                None
            }
        }
    }

    fn blueprint(&mut self, root: &Table<'_, '_>, exists: &dyn Fn(&str) -> bool) -> Blueprint {
        let stack = self.stack(root);
        let database_table = self.sub(root, "database");
        let engine_port = database_table
            .as_ref()
            .and_then(|t| t.table.get("engine"))
            .and_then(|v| v.get_ref().as_str())
            .and_then(|e| ENGINES.iter().find(|(name, _)| *name == e))
            .map_or(3306, |(_, port)| *port);
        let network = self.network(root, &stack);
        let security = self.security(root, engine_port);
        let iam = self.iam(root, &stack.name);
        let compute = self.compute(root, exists);
        let load_balancer = self.load_balancer(root);
        let auto_scaling = self.auto_scaling(root);
        let database = self.database(database_table.as_ref(), &stack.name);
        let dr = self.dr(root, &stack.region);
        let dns = self.dns(root, &load_balancer);
        let https = self.https(root, &load_balancer, dns.is_some(), &stack.region);
        Blueprint {
            stack,
            network,
            security,
            iam,
            compute,
            load_balancer,
            auto_scaling,
            database,
            dr,
            dns,
            https,
        }
    }

    fn stack(&mut self, root: &Table<'_, '_>) -> StackSpec {
        let mut spec = StackSpec {
            name: String::new(),
            region: String::new(),
        };
        let Some(table) = self.sub(root, "stack") else {
            return spec;
        };
        if let Some(name) = self.string(&table, "name") {
            let n = &name.value;
            let valid = !n.is_empty()
                && n.len() <= MAX_STACK_NAME
                && n.starts_with(|c: char| c.is_ascii_lowercase())
                && n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !n.ends_with('-')
                && !n.contains("--");
            if !valid {
                self.error(
                    &name.span,
                    format!("stack name {n:?} is not valid"),
                    format!(
                        "expected 1 to {MAX_STACK_NAME} lowercase letters, digits and single \
                         hyphens, starting with a letter (it prefixes the load balancer and \
                         target group names, which AWS limits to 32 characters), e.g. name = \
                         \"lab\""
                    ),
                );
            }
            spec.name = name.value;
        }
        if let Some(region) = self.string(&table, "region") {
            if regions::is_known(&region.value) {
                spec.region = region.value;
            } else {
                let hint = regions::closest(&region.value.to_ascii_lowercase())
                    .map(|r| format!("did you mean {r}? "))
                    .unwrap_or_default();
                self.error(
                    &region.span,
                    format!("unknown Region {:?}", region.value),
                    format!("{hint}expected a Region code such as ap-northeast-2 or us-east-1"),
                );
            }
        }
        spec
    }

    fn network(&mut self, root: &Table<'_, '_>, stack: &StackSpec) -> NetworkSpec {
        let mut spec = NetworkSpec {
            vpc_cidr: Ipv4Cidr::new(std::net::Ipv4Addr::new(10, 0, 0, 0), 16),
            azs: Vec::new(),
            public_subnets: Vec::new(),
            private_subnets: Vec::new(),
            nat: NatMode::PerAz,
            s3_gateway_endpoint: false,
        };
        let Some(table) = self.sub(root, "network") else {
            return spec;
        };
        let vpc = self.string(&table, "vpc_cidr").and_then(|v| {
            let cidr = self.cidr("vpc_cidr", &v, "\"10.0.0.0/16\"")?;
            if !(16..=28).contains(&cidr.prefix()) {
                self.error(
                    &v.span,
                    format!("VPC block {cidr} is /{}", cidr.prefix()),
                    "expected a prefix length from /16 to /28 (what AWS allows for a VPC), e.g. \
                     \"10.0.0.0/16\""
                        .to_string(),
                );
                return None;
            }
            Some(cidr)
        });
        if let Some(vpc) = vpc {
            spec.vpc_cidr = vpc;
        }
        let azs = self.strings(&table, "azs");
        if let Some(azs) = &azs {
            self.check_azs(azs, &stack.region);
            spec.azs = azs.value.iter().map(|a| a.value.clone()).collect();
        }
        let mut seen: Vec<(Ipv4Cidr, String)> = Vec::new();
        for key in ["public_subnets", "private_subnets"] {
            let Some(list) = self.strings(&table, key) else {
                continue;
            };
            let mut cidrs = Vec::new();
            for (i, item) in list.value.iter().enumerate() {
                let Some(cidr) = self.cidr(key, item, "\"10.0.0.0/20\"") else {
                    continue;
                };
                if !(16..=28).contains(&cidr.prefix()) {
                    self.error(
                        &item.span,
                        format!("subnet {cidr} is /{}", cidr.prefix()),
                        "expected a prefix length from /16 to /28 (what AWS allows for a subnet)"
                            .to_string(),
                    );
                } else if let Some(vpc) = vpc.filter(|vpc| !vpc.contains(&cidr)) {
                    self.error(
                        &item.span,
                        format!("subnet {cidr} is outside the VPC {vpc}"),
                        format!(
                            "expected a block inside {vpc}, e.g. \"{}/{}\"",
                            vpc.network(),
                            (vpc.prefix() + 4).min(28)
                        ),
                    );
                } else if let Some((other, name)) = seen.iter().find(|(o, _)| o.overlaps(&cidr)) {
                    self.error(
                        &item.span,
                        format!("subnet {cidr} overlaps {other} ({name})"),
                        "expected subnet blocks that share no address".to_string(),
                    );
                }
                seen.push((cidr, format!("{key}[{i}]")));
                cidrs.push(cidr);
            }
            if let Some(azs) = &azs
                && list.value.len() != azs.value.len()
                && !azs.value.is_empty()
            {
                self.error(
                    &list.span,
                    format!(
                        "{} {key} for {} Availability Zones",
                        list.value.len(),
                        azs.value.len()
                    ),
                    format!(
                        "expected exactly one subnet per AZ ({}), in the order of azs",
                        azs.value.len()
                    ),
                );
            }
            if key == "public_subnets" {
                spec.public_subnets = cidrs;
            } else {
                spec.private_subnets = cidrs;
            }
        }
        if let Some(nat) = self.string(&table, "nat") {
            spec.nat = match nat.value.as_str() {
                "single" => NatMode::Single,
                "per-az" => NatMode::PerAz,
                "none" => NatMode::None,
                other => {
                    let hint = closest(other, ["single", "per-az", "none"])
                        .map(|c| format!("did you mean \"{c}\"? "))
                        .unwrap_or_default();
                    self.error(
                        &nat.span,
                        format!("nat = {other:?} is not a NAT layout"),
                        format!(
                            "{hint}expected \"per-az\" (one NAT gateway per AZ, the HA choice), \
                             \"single\" (one, cheaper) or \"none\""
                        ),
                    );
                    NatMode::PerAz
                }
            };
        }
        if let Some(s3) = self.boolean(&table, "s3_gateway_endpoint") {
            spec.s3_gateway_endpoint = s3.value;
        }
        spec
    }

    fn check_azs(&mut self, azs: &Sp<Vec<Sp<String>>>, region: &str) {
        let mut seen = BTreeSet::new();
        for az in &azs.value {
            let name = &az.value;
            if !region.is_empty() {
                let in_region = name.strip_prefix(region).is_some_and(|suffix| {
                    suffix.len() == 1 && suffix.chars().all(|c| c.is_ascii_lowercase())
                });
                if !in_region {
                    self.error(
                        &az.span,
                        format!("Availability Zone {name:?} is not in the stack's Region {region}"),
                        format!(
                            "expected zones of {region}, named like {region}a, {region}b, \
                             {region}c"
                        ),
                    );
                    continue;
                }
            }
            if !seen.insert(name.clone()) {
                self.error(
                    &az.span,
                    format!("Availability Zone {name:?} is listed twice"),
                    "expected each AZ once".to_string(),
                );
            }
        }
        if azs.value.len() < 2 {
            let first = region.to_string();
            self.error(
                &azs.span,
                format!(
                    "{} Availability Zone(s): a highly available stack needs at least two",
                    azs.value.len()
                ),
                format!("expected e.g. azs = [\"{first}a\", \"{first}b\"]"),
            );
        }
    }

    fn security(&mut self, root: &Table<'_, '_>, default_db_port: u16) -> SecuritySpec {
        let mut spec = SecuritySpec {
            ssh_from: Vec::new(),
            app_port: 80,
            db_port: default_db_port,
        };
        let Some(table) = self.sub(root, "security") else {
            return spec;
        };
        let anywhere = self
            .boolean(&table, "allow_ssh_from_anywhere")
            .is_some_and(|b| b.value);
        if let Some(list) = self.strings(&table, "ssh_from") {
            for item in &list.value {
                let Some(cidr) = self.cidr("ssh_from", item, "\"203.0.113.7/32\"") else {
                    continue;
                };
                if cidr.is_anywhere() && !anywhere {
                    self.error(
                        &item.span,
                        "SSH open to the whole internet (0.0.0.0/0) is refused".to_string(),
                        "expected your own address, e.g. ssh_from = [\"203.0.113.7/32\"], an \
                         empty list (reach instances with Session Manager instead), or \
                         allow_ssh_from_anywhere = true if you really mean it"
                            .to_string(),
                    );
                }
                spec.ssh_from.push(cidr);
            }
        }
        if let Some(port) = self.integer(&table, "app_port", 1..=65535, "a TCP port") {
            spec.app_port = to_u16(port.value);
        }
        if let Some(port) = self.integer(&table, "db_port", 1150..=65535, "a database port") {
            spec.db_port = to_u16(port.value);
        }
        spec
    }

    fn iam_name(&mut self, table: &Table<'_, '_>, key: &str, max: usize) -> Option<String> {
        let name = self.string(table, key)?;
        let valid = !name.value.is_empty()
            && name.value.len() <= max
            && is_resource_name(&name.value, &['+', '=', ',', '.', '@', '_', '-']);
        if !valid {
            self.error(
                &name.span,
                format!("`{key}` = {:?} is not a valid IAM name", name.value),
                format!(
                    "expected 1 to {max} letters, digits and + = , . @ _ -, e.g. {key} = {}",
                    table.spec.key(key).map_or("", |k| k.example)
                ),
            );
        }
        Some(name.value)
    }

    fn policy_arn(&mut self, key: &str, arn: &Sp<String>) {
        if !is_policy_arn(&arn.value) {
            self.error(
                &arn.span,
                format!("`{key}`: {:?} is not an IAM policy ARN", arn.value),
                "expected arn:aws:iam::aws:policy/<name> (AWS managed) or \
                 arn:aws:iam::<12-digit account>:policy/<name>"
                    .to_string(),
            );
        }
    }

    fn iam(&mut self, root: &Table<'_, '_>, stack: &str) -> IamSpec {
        let mut spec = IamSpec {
            instance_role: format!("{stack}-instance-role"),
            instance_profile: format!("{stack}-instance-profile"),
            instance_policy_arns: vec![SSM_MANAGED_POLICY_ARN.to_string()],
            operators: None,
            password_policy: None,
        };
        let Some(table) = self.sub(root, "iam") else {
            return spec;
        };
        if let Some(role) = self.iam_name(&table, "instance_role", 64) {
            spec.instance_role = role;
        }
        if let Some(profile) = self.iam_name(&table, "instance_profile", 128) {
            spec.instance_profile = profile;
        }
        if let Some(arns) = self.strings(&table, "instance_policy_arns") {
            for arn in &arns.value {
                self.policy_arn("instance_policy_arns", arn);
                if !spec.instance_policy_arns.contains(&arn.value) {
                    spec.instance_policy_arns.push(arn.value.clone());
                }
            }
        }
        if let Some(operators) = self.sub(&table, "operators") {
            let group = self.iam_name(&operators, "group", 128).unwrap_or_default();
            let policy_arn = self.string(&operators, "policy_arn");
            if let Some(arn) = &policy_arn {
                self.policy_arn("policy_arn", arn);
            }
            let mut users = Vec::new();
            if let Some(list) = self.strings(&operators, "users") {
                for user in list.value {
                    let valid = !user.value.is_empty()
                        && user.value.len() <= 64
                        && is_resource_name(&user.value, &['+', '=', ',', '.', '@', '_', '-']);
                    if !valid {
                        self.error(
                            &user.span,
                            format!("user name {:?} is not a valid IAM name", user.value),
                            "expected 1 to 64 letters, digits and + = , . @ _ -".to_string(),
                        );
                    }
                    users.push(user.value);
                }
            }
            spec.operators = Some(OperatorsSpec {
                group,
                policy_arn: policy_arn.map(|a| a.value).unwrap_or_default(),
                users,
            });
        }
        if let Some(policy) = self.sub(&table, "password_policy") {
            let flag =
                |reader: &mut Self, key: &str| reader.boolean(&policy, key).is_none_or(|b| b.value);
            let minimum_length = self
                .integer(&policy, "minimum_length", 6..=128, "characters")
                .map_or(14, |n| n.value);
            let require_symbols = flag(self, "require_symbols");
            let require_numbers = flag(self, "require_numbers");
            let require_uppercase = flag(self, "require_uppercase");
            let require_lowercase = flag(self, "require_lowercase");
            let allow_users_to_change = flag(self, "allow_users_to_change");
            let max_age_days = self
                .integer(&policy, "max_age_days", 1..=1095, "days")
                .map(|n| to_u16(n.value));
            let reuse_prevention = self
                .integer(&policy, "reuse_prevention", 1..=24, "remembered passwords")
                .map(|n| u8::try_from(n.value).unwrap_or(u8::MAX));
            spec.password_policy = Some(PasswordPolicySpec {
                minimum_length: u8::try_from(minimum_length).unwrap_or(u8::MAX),
                require_symbols,
                require_numbers,
                require_uppercase,
                require_lowercase,
                allow_users_to_change,
                max_age_days,
                reuse_prevention,
            });
        }
        spec
    }

    fn compute(&mut self, root: &Table<'_, '_>, exists: &dyn Fn(&str) -> bool) -> ComputeSpec {
        let mut spec = ComputeSpec {
            ami: AmiSource::Id(String::new()),
            instance_type: String::new(),
            user_data_file: None,
            key_name: None,
            imdsv2_required: true,
        };
        let Some(table) = self.sub(root, "compute") else {
            return spec;
        };
        if let Some(ami) = self.string(&table, "ami") {
            if is_ami_id(&ami.value) {
                spec.ami = AmiSource::Id(ami.value);
            } else if let Some(parameter) = ami.value.strip_prefix("ssm:")
                && parameter.len() > 1
                && parameter.starts_with('/')
                && !parameter.contains(char::is_whitespace)
            {
                spec.ami = AmiSource::SsmParameter(parameter.to_string());
            } else {
                self.error(
                    &ami.span,
                    format!("ami = {:?} is not an AMI id or an SSM parameter", ami.value),
                    "expected ami-0123456789abcdef0 (\"ami-\" and 8 or 17 hex digits) or \
                     ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
                        .to_string(),
                );
            }
        }
        if let Some(kind) = self.string(&table, "instance_type") {
            if !is_instance_type(&kind.value) {
                self.error(
                    &kind.span,
                    format!(
                        "instance_type = {:?} is not an EC2 instance type",
                        kind.value
                    ),
                    "expected a family and a size joined by a dot, e.g. \"t3.micro\" or \
                     \"m7g.large\""
                        .to_string(),
                );
            }
            spec.instance_type = kind.value;
        }
        if let Some(file) = self.string(&table, "user_data_file") {
            if !exists(&file.value) {
                self.error(
                    &file.span,
                    format!("user-data file {:?} does not exist", file.value),
                    "expected the path of an existing script, relative to the blueprint's \
                     directory, e.g. user_data_file = \"lab-user-data.sh\""
                        .to_string(),
                );
            }
            spec.user_data_file = Some(file.value);
        }
        if let Some(key) = self.string(&table, "key_name") {
            if key.value.is_empty() || key.value.len() > 255 {
                self.error(
                    &key.span,
                    "key_name is empty or longer than 255 characters".to_string(),
                    "expected the name of an EC2 key pair, or no key_name (use Session Manager)"
                        .to_string(),
                );
            }
            spec.key_name = Some(key.value);
        }
        if let Some(imds) = self.boolean(&table, "imdsv2_required") {
            spec.imdsv2_required = imds.value;
        }
        spec
    }

    fn load_balancer(&mut self, root: &Table<'_, '_>) -> LoadBalancerSpec {
        let mut spec = LoadBalancerSpec {
            listener_port: 80,
            listener_protocol: HttpProtocol::Http,
            certificate_arn: None,
            deregistration_delay: 300,
            health_check: HealthCheckSpec {
                path: "/".to_string(),
                interval: 30,
                timeout: 5,
                healthy_threshold: 5,
                unhealthy_threshold: 2,
                matcher: "200".to_string(),
            },
        };
        let Some(table) = self.sub(root, "load_balancer") else {
            return spec;
        };
        if let Some(port) = self.integer(&table, "listener_port", 1..=65535, "a TCP port") {
            spec.listener_port = to_u16(port.value);
        }
        let protocol = self.string(&table, "listener_protocol");
        if let Some(protocol) = &protocol {
            spec.listener_protocol = match protocol.value.to_ascii_uppercase().as_str() {
                "HTTP" => HttpProtocol::Http,
                "HTTPS" => HttpProtocol::Https,
                _ => {
                    self.error(
                        &protocol.span,
                        format!(
                            "listener_protocol = {:?} is not an ALB protocol",
                            protocol.value
                        ),
                        "expected \"HTTP\" or \"HTTPS\"".to_string(),
                    );
                    HttpProtocol::Http
                }
            };
        }
        spec.certificate_arn = self.string(&table, "certificate_arn").map(|c| c.value);
        if spec.listener_protocol == HttpProtocol::Https
            && spec.certificate_arn.is_none()
            && let Some(protocol) = &protocol
        {
            self.error(
                &protocol.span,
                "an HTTPS listener needs a certificate".to_string(),
                "expected certificate_arn = \"arn:aws:acm:<region>:<account>:certificate/<id>\" \
                 in [load_balancer], or listener_protocol = \"HTTP\""
                    .to_string(),
            );
        }
        if let Some(delay) = self.integer(&table, "deregistration_delay", 0..=3600, "seconds") {
            spec.deregistration_delay = to_u16(delay.value);
        }
        if let Some(check) = self.sub(&table, "health_check") {
            let hc = &mut spec.health_check;
            if let Some(path) = self.string(&check, "path") {
                if !path.value.starts_with('/') || path.value.len() > 1024 {
                    self.error(
                        &path.span,
                        format!("health-check path {:?} does not start with /", path.value),
                        "expected an absolute path, e.g. path = \"/health\"".to_string(),
                    );
                }
                hc.path = path.value;
            }
            let interval = self.integer(&check, "interval", 5..=300, "seconds");
            let timeout = self.integer(&check, "timeout", 2..=120, "seconds");
            if let (Some(interval), Some(timeout)) = (&interval, &timeout)
                && timeout.value >= interval.value
            {
                self.error(
                    &timeout.span,
                    format!(
                        "health-check timeout {} s is not shorter than the interval {} s",
                        timeout.value, interval.value
                    ),
                    format!(
                        "expected a timeout below the interval, e.g. timeout = {} with interval \
                         = {}",
                        (interval.value / 3).max(2),
                        interval.value
                    ),
                );
            }
            hc.interval = interval.map_or(30, |i| to_u16(i.value));
            hc.timeout = timeout.map_or(5, |t| to_u16(t.value));
            let threshold = |reader: &mut Self, key: &str| {
                reader
                    .integer(&check, key, 2..=10, "consecutive checks")
                    .map(|n| u8::try_from(n.value).unwrap_or(2))
            };
            hc.healthy_threshold = threshold(self, "healthy_threshold").unwrap_or(5);
            hc.unhealthy_threshold = threshold(self, "unhealthy_threshold").unwrap_or(2);
            if let Some(value) = self.raw(&check, "matcher") {
                let text = match value.get_ref() {
                    DeValue::String(s) => Some(s.to_string()),
                    DeValue::Integer(i) => Some(i.as_str().to_string()),
                    _ => {
                        self.wrong_type(&check, "matcher", value, "a string");
                        None
                    }
                };
                if let Some(text) = text {
                    if !is_matcher(&text) {
                        self.error(
                            &value.span(),
                            format!("matcher {text:?} is not a set of HTTP codes within 200–499"),
                            "expected codes from 200 to 499: one (\"200\"), a list \
                             (\"200,302\") or a range (\"200-299\")"
                                .to_string(),
                        );
                    }
                    hc.matcher = text;
                }
            }
        }
        spec
    }

    fn auto_scaling(&mut self, root: &Table<'_, '_>) -> AutoScalingSpec {
        let mut spec = AutoScalingSpec {
            min: 0,
            desired: 0,
            max: 0,
            health_check_type: AsgHealthCheck::Elb,
            grace_period: 300,
            cpu_target: None,
        };
        let Some(table) = self.sub(root, "auto_scaling") else {
            return spec;
        };
        let min = self.integer(&table, "min", 0..=10_000, "instances");
        let desired = self.integer(&table, "desired", 0..=10_000, "instances");
        let max = self.integer(&table, "max", 1..=10_000, "instances");
        if let (Some(min), Some(desired)) = (&min, &desired)
            && min.value > desired.value
        {
            self.error(
                &min.span,
                format!("min {} is above desired {}", min.value, desired.value),
                "expected min ≤ desired ≤ max".to_string(),
            );
        }
        if let (Some(desired), Some(max)) = (&desired, &max)
            && desired.value > max.value
        {
            self.error(
                &desired.span,
                format!("desired {} is above max {}", desired.value, max.value),
                "expected min ≤ desired ≤ max".to_string(),
            );
        }
        let count = |n: Option<Sp<i64>>| n.map_or(0, |n| u32::try_from(n.value).unwrap_or(0));
        spec.min = count(min);
        spec.desired = count(desired);
        spec.max = count(max);
        if let Some(kind) = self.string(&table, "health_check_type") {
            spec.health_check_type = match kind.value.to_ascii_uppercase().as_str() {
                "ELB" => AsgHealthCheck::Elb,
                "EC2" => AsgHealthCheck::Ec2,
                _ => {
                    self.error(
                        &kind.span,
                        format!(
                            "health_check_type = {:?} is not a health-check type",
                            kind.value
                        ),
                        "expected \"ELB\" (replace instances whose application fails the load \
                         balancer's check) or \"EC2\" (instance status only)"
                            .to_string(),
                    );
                    AsgHealthCheck::Elb
                }
            };
        }
        if let Some(grace) = self.integer(&table, "grace_period", 0..=7200, "seconds") {
            spec.grace_period = u32::try_from(grace.value).unwrap_or(300);
        }
        if let Some(value) = self.raw(&table, "cpu_target") {
            let number = match value.get_ref() {
                DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                    .ok()
                    .map(|n| n as f64),
                DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
                _ => None,
            };
            match number {
                Some(n) if n > 0.0 && n <= 100.0 => spec.cpu_target = Some(n),
                Some(n) => self.error(
                    &value.span(),
                    format!("cpu_target = {n} is not a CPU percentage"),
                    "expected an average CPU % above 0 and at most 100, e.g. cpu_target = 50"
                        .to_string(),
                ),
                None => self.wrong_type(&table, "cpu_target", value, "a number"),
            }
        }
        spec
    }

    fn database(&mut self, table: Option<&Table<'_, '_>>, stack: &str) -> DatabaseSpec {
        let mut spec = DatabaseSpec {
            engine: "mysql".to_string(),
            engine_version: String::new(),
            class: String::new(),
            multi_az: true,
            allocated_storage: 20,
            backup_retention_days: 7,
            read_replicas: Vec::new(),
            // Not `admin` or `postgres`, the names Security Hub RDS.24/RDS.25 call default.
            master_username: "dbadmin".to_string(),
            manage_master_user_password: true,
            deletion_protection: true,
            storage_encrypted: true,
            adopt: None,
        };
        let Some(table) = table else {
            return spec;
        };
        if let Some(engine) = self.string(table, "engine") {
            if ENGINES.iter().any(|(name, _)| *name == engine.value) {
                spec.engine = engine.value;
            } else {
                let names: Vec<&str> = ENGINES.iter().map(|(name, _)| *name).collect();
                let hint = if engine.value.starts_with("aurora") {
                    "Aurora clusters are not built by blueprints yet; ".to_string()
                } else {
                    closest(&engine.value, names.iter().copied())
                        .map(|c| format!("did you mean \"{c}\"? "))
                        .unwrap_or_default()
                };
                self.error(
                    &engine.span,
                    format!("engine = {:?} is not supported", engine.value),
                    format!("{hint}expected one of {}", list(&names)),
                );
            }
        }
        if let Some(version) = self.string(table, "engine_version") {
            let valid = !version.value.is_empty()
                && version.value.starts_with(|c: char| c.is_ascii_digit())
                && version
                    .value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_');
            if !valid {
                self.error(
                    &version.span,
                    format!("engine_version = {:?} is not a version", version.value),
                    "expected a major or full version, e.g. \"8.0\" or \"8.0.39\"".to_string(),
                );
            }
            spec.engine_version = version.value;
        }
        if let Some(class) = self.string(table, "class") {
            let valid = class
                .value
                .strip_prefix("db.")
                .is_some_and(is_instance_type);
            if !valid {
                self.error(
                    &class.span,
                    format!("class = {:?} is not a DB instance class", class.value),
                    "expected \"db.\" and an instance type, e.g. \"db.t3.micro\" or \
                     \"db.r6g.large\""
                        .to_string(),
                );
            }
            spec.class = class.value;
        }
        if let Some(multi_az) = self.boolean(table, "multi_az") {
            spec.multi_az = multi_az.value;
        }
        if let Some(storage) = self.integer(table, "allocated_storage", 20..=65_536, "GiB") {
            spec.allocated_storage = u32::try_from(storage.value).unwrap_or(20);
        }
        let retention = self.integer(table, "backup_retention_days", 0..=35, "days");
        if let Some(retention) = &retention {
            spec.backup_retention_days = u8::try_from(retention.value).unwrap_or(7);
        }
        if let Some(value) = self.raw(table, "read_replicas") {
            match value.get_ref() {
                DeValue::Integer(_) => {
                    if let Some(count) = self.integer(table, "read_replicas", 0..=5, "replicas") {
                        spec.read_replicas = (1..=count.value)
                            .map(|i| format!("{stack}-db-replica-{i}"))
                            .collect();
                    }
                }
                DeValue::Array(_) => {
                    if let Some(names) = self.strings(table, "read_replicas") {
                        let mut seen = BTreeSet::new();
                        for name in names.value {
                            if !is_db_identifier(&name.value) {
                                self.error(
                                    &name.span,
                                    format!("replica name {:?} is not a DB identifier", name.value),
                                    "expected a lowercase letter, then lowercase letters, digits \
                                     and single hyphens, at most 63, e.g. \"lab-db-replica-1\""
                                        .to_string(),
                                );
                            } else if !seen.insert(name.value.clone()) {
                                self.error(
                                    &name.span,
                                    format!("replica {:?} is listed twice", name.value),
                                    "expected each replica name once".to_string(),
                                );
                            }
                            spec.read_replicas.push(name.value);
                        }
                    }
                }
                _ => self.wrong_type(
                    table,
                    "read_replicas",
                    value,
                    "a count or a list of replica names",
                ),
            }
        }
        if let Some(retention) = &retention
            && retention.value == 0
            && !spec.read_replicas.is_empty()
        {
            self.error(
                &retention.span,
                format!(
                    "backups are off (0 days) but {} read replica(s) are asked for",
                    spec.read_replicas.len()
                ),
                "expected backup_retention_days from 1 to 35 (7 or more for production, control \
                 RDS.11): RDS creates a read replica only from a source with automated backups"
                    .to_string(),
            );
        }
        if let Some(user) = self.string(table, "master_username") {
            let valid = !user.value.is_empty()
                && user.value.len() <= 16
                && user.value.starts_with(|c: char| c.is_ascii_alphabetic())
                && user
                    .value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                self.error(
                    &user.span,
                    format!("master_username = {:?} is not valid", user.value),
                    "expected 1 to 16 letters, digits and underscores, starting with a letter, \
                     e.g. \"dbadmin\""
                        .to_string(),
                );
            }
            spec.master_username = user.value;
        }
        if let Some(managed) = self.boolean(table, "manage_master_user_password")
            && !managed.value
        {
            self.error(
                &managed.span,
                "manage_master_user_password = false would need a database password written \
                 somewhere"
                    .to_string(),
                "expected manage_master_user_password = true: RDS creates the master password \
                 and keeps it in Secrets Manager, where the instance role reads it"
                    .to_string(),
            );
        }
        if let Some(protection) = self.boolean(table, "deletion_protection") {
            spec.deletion_protection = protection.value;
        }
        if let Some(encrypted) = self.boolean(table, "storage_encrypted") {
            spec.storage_encrypted = encrypted.value;
        }
        spec
    }

    fn dr(&mut self, root: &Table<'_, '_>, stack_region: &str) -> Option<DrSpec> {
        let table = self.sub(root, "dr")?;
        let mut spec = DrSpec {
            regions: Vec::new(),
            rpo_minutes: 60,
        };
        if let Some(list) = self.strings(&table, "regions") {
            if list.value.is_empty() {
                self.error(
                    &list.span,
                    "no DR Region given".to_string(),
                    "expected at least one Region other than the stack's, e.g. regions = \
                     [\"us-east-1\"]"
                        .to_string(),
                );
            }
            for region in list.value {
                if !regions::is_known(&region.value) {
                    let hint = regions::closest(&region.value.to_ascii_lowercase())
                        .map(|r| format!("did you mean {r}? "))
                        .unwrap_or_default();
                    self.error(
                        &region.span,
                        format!("unknown Region {:?}", region.value),
                        format!("{hint}expected a Region code such as us-east-1"),
                    );
                } else if region.value == stack_region {
                    self.error(
                        &region.span,
                        format!("DR Region {} is the stack's own Region", region.value),
                        "expected another Region: a Regional outage takes both copies otherwise"
                            .to_string(),
                    );
                }
                spec.regions.push(region.value);
            }
        }
        if let Some(rpo) = self.string(&table, "rpo") {
            match rpo_minutes(&rpo.value) {
                Some(minutes) => spec.rpo_minutes = minutes,
                None => self.error(
                    &rpo.span,
                    format!("rpo = {:?} is not a duration", rpo.value),
                    "expected a number and a unit m, h or d, e.g. rpo = \"15m\" or \"1h\""
                        .to_string(),
                ),
            }
        }
        Some(spec)
    }
}

impl Reader<'_> {
    fn dns(&mut self, root: &Table<'_, '_>, load_balancer: &LoadBalancerSpec) -> Option<DnsSpec> {
        let table = self.sub(root, "dns")?;
        let mut spec = DnsSpec {
            zone: String::new(),
            create_zone: false,
            record: String::new(),
            routing: DnsRouting::Failover,
            alias: true,
            ttl: 60,
            health_check_path: load_balancer.health_check.path.clone(),
            weights: [100, 0],
        };
        let zone = self.string(&table, "zone");
        if let Some(zone) = &zone {
            let name = zone.value.trim_end_matches('.').to_ascii_lowercase();
            if !is_dns_name(&name) || !name.contains('.') {
                self.error(
                    &zone.span,
                    format!("zone = {:?} is not a domain name", zone.value),
                    "expected the hosted zone's name, e.g. zone = \"example.com\"".to_string(),
                );
            }
            spec.zone = name;
        }
        if let Some(record) = self.string(&table, "record") {
            let name = record.value.trim_end_matches('.').to_ascii_lowercase();
            if !is_dns_name(&name) {
                self.error(
                    &record.span,
                    format!("record = {:?} is not a domain name", record.value),
                    "expected the full name users reach the stack by, e.g. record = \
                     \"lab.example.com\""
                        .to_string(),
                );
            } else if zone.is_some()
                && !spec.zone.is_empty()
                && name != spec.zone
                && !name.ends_with(&format!(".{}", spec.zone))
            {
                self.error(
                    &record.span,
                    format!("record {name:?} is not inside the zone {:?}", spec.zone),
                    format!(
                        "expected the zone's apex or a name ending in .{}, e.g. record = \
                         \"lab.{}\"",
                        spec.zone, spec.zone
                    ),
                );
            }
            spec.record = name;
        }
        if let Some(create) = self.boolean(&table, "create_zone") {
            spec.create_zone = create.value;
        }
        let routing = self.string(&table, "routing");
        if let Some(routing) = &routing {
            spec.routing = match routing.value.as_str() {
                "failover" => DnsRouting::Failover,
                "weighted" => DnsRouting::Weighted,
                other => {
                    let hint = closest(other, ["failover", "weighted"])
                        .map(|c| format!("did you mean \"{c}\"? "))
                        .unwrap_or_default();
                    self.error(
                        &routing.span,
                        format!("routing = {other:?} is not a routing policy haven writes"),
                        format!(
                            "{hint}expected \"failover\" (the DR Region answers while the \
                             stack's Region is unhealthy) or \"weighted\" (traffic split by \
                             weights)"
                        ),
                    );
                    DnsRouting::Failover
                }
            };
        }
        let alias = self.boolean(&table, "alias");
        if let Some(alias) = &alias {
            spec.alias = alias.value;
        }
        let ttl = self.integer(&table, "ttl", 0..=2_147_483_647, "seconds");
        if let Some(ttl) = &ttl {
            spec.ttl = u32::try_from(ttl.value).unwrap_or(60);
            if spec.alias {
                self.error(
                    &ttl.span,
                    "ttl is set but the records are aliases, whose TTL is the load balancer's \
                     (60 s)"
                        .to_string(),
                    "expected no ttl, or alias = false (CNAME records with this TTL)".to_string(),
                );
            }
        }
        if let Some(alias) = &alias
            && !alias.value
            && !spec.record.is_empty()
            && spec.record == spec.zone
        {
            self.error(
                &alias.span,
                format!(
                    "alias = false makes {:?} a CNAME, which DNS does not allow at the zone apex",
                    spec.record
                ),
                format!(
                    "expected alias = true (an alias A record is allowed at the apex), or a \
                     record below the apex, e.g. \"www.{}\"",
                    spec.zone
                ),
            );
        }
        if let Some(path) = self.string(&table, "health_check_path") {
            if !path.value.starts_with('/') || path.value.len() > 255 {
                self.error(
                    &path.span,
                    format!(
                        "health_check_path = {:?} is not an absolute path",
                        path.value
                    ),
                    "expected a path starting with / of at most 255 characters, e.g. \
                     health_check_path = \"/health\""
                        .to_string(),
                );
            }
            spec.health_check_path = path.value;
        }
        if let Some(value) = self.raw(&table, "weights") {
            let numbers: Option<Vec<i64>> = match value.get_ref() {
                DeValue::Array(items) => items
                    .iter()
                    .map(|item| match item.get_ref() {
                        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
                        _ => None,
                    })
                    .collect(),
                _ => None,
            };
            match numbers.as_deref() {
                _ if spec.routing != DnsRouting::Weighted => self.error(
                    &value.span(),
                    "weights are given but routing is not \"weighted\"".to_string(),
                    "expected routing = \"weighted\" with the weights, or no weights".to_string(),
                ),
                Some(&[first, second])
                    if (0..=255).contains(&first)
                        && (0..=255).contains(&second)
                        && first + second > 0 =>
                {
                    spec.weights = [
                        u8::try_from(first).unwrap_or(0),
                        u8::try_from(second).unwrap_or(0),
                    ];
                }
                Some(&[0, 0]) => self.error(
                    &value.span(),
                    "both weights are 0".to_string(),
                    "expected at least one weight above 0, e.g. weights = [100, 0] (Route 53 \
                     answers nothing useful when every weight is 0)"
                        .to_string(),
                ),
                _ => self.error(
                    &value.span(),
                    "weights must be two integers from 0 to 255".to_string(),
                    "expected the weight of the stack's Region then of the DR Region, e.g. \
                     weights = [100, 0]"
                        .to_string(),
                ),
            }
        }
        Some(spec)
    }

    fn https(
        &mut self,
        root: &Table<'_, '_>,
        load_balancer: &LoadBalancerSpec,
        has_dns: bool,
        region: &str,
    ) -> Option<HttpsSpec> {
        let table = self.sub(root, "https")?;
        let mut spec = HttpsSpec {
            certificate: CertificateSource::Request,
            port: 443,
            tls_policy: DEFAULT_TLS_POLICY.to_string(),
            redirect_http: true,
        };
        if load_balancer.listener_protocol == HttpProtocol::Https {
            self.error(
                &table.span,
                "[https] is given but [load_balancer] listener_protocol is \"HTTPS\" already"
                    .to_string(),
                "expected one of the two: keep [https] (an HTTPS listener beside the HTTP one, \
                 with the certificate requested and renewed by ACM) and set listener_protocol = \
                 \"HTTP\", or remove [https] to keep the single HTTPS listener"
                    .to_string(),
            );
        }
        let certificate = self.string(&table, "certificate");
        match &certificate {
            Some(cert) if cert.value == "request" => {}
            Some(cert) => match acm_arn_region(&cert.value) {
                Some(arn_region) if arn_region == region || region.is_empty() => {
                    spec.certificate = CertificateSource::Arn(cert.value.clone());
                }
                Some(arn_region) => self.error(
                    &cert.span,
                    format!(
                        "the certificate is in {arn_region}, not in the stack's Region {region}"
                    ),
                    format!(
                        "expected an ACM certificate of {region} (a load balancer uses only \
                         certificates of its own Region), or certificate = \"request\""
                    ),
                ),
                None => self.error(
                    &cert.span,
                    format!(
                        "certificate = {:?} is neither \"request\" nor an ACM certificate ARN",
                        cert.value
                    ),
                    format!(
                        "expected \"request\" (haven requests it from ACM and validates it \
                         through the [dns] zone) or \
                         \"arn:aws:acm:{region}:<account>:certificate/<id>\""
                    ),
                ),
            },
            None => {}
        }
        let requested = certificate.as_ref().is_none_or(|c| c.value == "request");
        if requested && !has_dns {
            let span = certificate
                .as_ref()
                .map_or(table.span.clone(), |c| c.span.clone());
            self.error(
                &span,
                "certificate = \"request\" needs a [dns] section".to_string(),
                "expected a [dns] section with zone and record (ACM validates the certificate \
                 through a CNAME in that zone), or certificate = \
                 \"arn:aws:acm:<region>:<account>:certificate/<id>\""
                    .to_string(),
            );
        }
        if let Some(port) = self.integer(&table, "port", 1..=65535, "a TCP port") {
            if to_u16(port.value) == load_balancer.listener_port {
                self.error(
                    &port.span,
                    format!(
                        "port {} is the [load_balancer] listener_port already",
                        port.value
                    ),
                    format!(
                        "expected another port than {}, e.g. port = 443",
                        load_balancer.listener_port
                    ),
                );
            }
            spec.port = to_u16(port.value);
        } else if load_balancer.listener_port == 443 {
            self.error(
                &table.span,
                "[https] port 443 (the default) is the [load_balancer] listener_port already"
                    .to_string(),
                "expected listener_port = 80 in [load_balancer], or another port in [https]"
                    .to_string(),
            );
        }
        if let Some(policy) = self.string(&table, "tls_policy") {
            if TLS_POLICIES.contains(&policy.value.as_str()) {
                spec.tls_policy = policy.value;
            } else {
                let hint = closest(&policy.value, TLS_POLICIES.iter().copied())
                    .map(|c| format!("did you mean \"{c}\"? "))
                    .unwrap_or_default();
                self.error(
                    &policy.span,
                    format!(
                        "tls_policy = {:?} is not an ELB predefined security policy",
                        policy.value
                    ),
                    format!(
                        "{hint}expected a predefined policy such as \"{DEFAULT_TLS_POLICY}\" \
                         (TLS 1.3 and 1.2) or \"ELBSecurityPolicy-TLS13-1-3-2021-06\" (TLS 1.3 \
                         only)"
                    ),
                );
            }
        }
        if let Some(redirect) = self.boolean(&table, "redirect_http") {
            spec.redirect_http = redirect.value;
        }
        Some(spec)
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// Ports and similar values were range-checked before conversion.
fn to_u16(value: i64) -> u16 {
    u16::try_from(value).unwrap_or(u16::MAX)
}
