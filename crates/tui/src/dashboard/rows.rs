//! The row model every list shares — the kinds of list, cells, rows, columns — so the resource
//! lists (`tables`) and the judged views (`insight`) build the same thing without knowing of
//! each other.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use super::style::Tone;

/// The kinds of resource with a list view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ListKind {
    /// EC2 instances.
    Ec2,
    /// Auto Scaling groups.
    Asg,
    /// Load balancers.
    Lb,
    /// Target groups.
    Tg,
    /// RDS DB instances.
    Rds,
    /// RDS snapshots.
    DbSnap,
    /// AMIs.
    Ami,
    /// EBS snapshots.
    Snap,
    /// Security groups.
    Sg,
    /// Subnets.
    Subnet,
    /// VPCs.
    Vpc,
    /// NAT gateways.
    Nat,
    /// Route tables.
    Rtb,
    /// Launch templates.
    Lt,
    /// IAM users, groups, roles and instance profiles.
    Iam,
    /// Discovery errors.
    Errors,
    /// HA, DR and security findings, worst first.
    Findings,
    /// What losing each AZ (and the primary Region) would do.
    AzLoss,
    /// DR copies and replicas per protected resource and DR Region.
    Dr,
    /// Deploys of every stack, running first (`haven deploy`).
    Deploy,
    /// Route 53 records that route users to the load balancers, one row per record.
    Dns,
    /// ACM certificates.
    Certs,
    /// CloudWatch alarms, worst state first.
    Alarms,
    /// What happened (scaling, RDS events, changes seen, haven's actions), newest first.
    Events,
    /// The profiles of the shared AWS files: which are shown, and switching to one.
    Profiles,
}

impl ListKind {
    /// Every kind, in command-completion order.
    pub const ALL: [ListKind; 25] = [
        ListKind::Ec2,
        ListKind::Asg,
        ListKind::Lb,
        ListKind::Tg,
        ListKind::Dns,
        ListKind::Certs,
        ListKind::Rds,
        ListKind::DbSnap,
        ListKind::Ami,
        ListKind::Snap,
        ListKind::Sg,
        ListKind::Subnet,
        ListKind::Vpc,
        ListKind::Nat,
        ListKind::Rtb,
        ListKind::Lt,
        ListKind::Iam,
        ListKind::Errors,
        ListKind::Findings,
        ListKind::AzLoss,
        ListKind::Dr,
        ListKind::Deploy,
        ListKind::Alarms,
        ListKind::Events,
        ListKind::Profiles,
    ];

    /// The command that opens the list (without `:`).
    pub fn command(self) -> &'static str {
        match self {
            ListKind::Ec2 => "ec2",
            ListKind::Asg => "asg",
            ListKind::Lb => "lb",
            ListKind::Tg => "tg",
            ListKind::Rds => "rds",
            ListKind::DbSnap => "dbsnap",
            ListKind::Ami => "ami",
            ListKind::Snap => "snap",
            ListKind::Sg => "sg",
            ListKind::Subnet => "subnet",
            ListKind::Vpc => "vpc",
            ListKind::Nat => "nat",
            ListKind::Rtb => "rtb",
            ListKind::Lt => "lt",
            ListKind::Iam => "iam",
            ListKind::Errors => "errors",
            ListKind::Findings => "findings",
            ListKind::AzLoss => "azloss",
            ListKind::Dr => "dr",
            ListKind::Deploy => "deploy",
            ListKind::Dns => "dns",
            ListKind::Certs => "certs",
            ListKind::Alarms => "alarms",
            ListKind::Events => "events",
            ListKind::Profiles => "profile",
        }
    }

    /// Other names the command line accepts.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            ListKind::Ec2 => &["instances", "instance", "i"],
            ListKind::Asg => &["autoscaling"],
            ListKind::Lb => &["alb", "elb", "loadbalancers"],
            ListKind::Tg => &["targetgroups"],
            ListKind::Rds => &["db", "dbs"],
            ListKind::DbSnap => &["rdssnap"],
            ListKind::Ami => &["images"],
            ListKind::Snap => &["snapshots", "ebs"],
            ListKind::Sg => &["securitygroups"],
            ListKind::Subnet => &["subnets"],
            ListKind::Vpc => &["vpcs"],
            ListKind::Nat => &["natgw"],
            ListKind::Rtb => &["routes", "routetables"],
            ListKind::Lt => &["launchtemplates"],
            ListKind::Iam => &[],
            ListKind::Errors => &["err", "error"],
            ListKind::Findings => &["check", "f"],
            ListKind::AzLoss => &["az", "whatif"],
            ListKind::Dr => &["copies"],
            ListKind::Deploy => &["deploys", "rollout"],
            ListKind::Dns => &["route53", "records"],
            ListKind::Certs => &["acm", "certificates", "cert"],
            ListKind::Alarms => &["alarm", "cw"],
            ListKind::Events => &["ev", "timeline"],
            ListKind::Profiles => &["profiles", "account", "accounts", "ctx"],
        }
    }

    /// A judged view: its cells are sentences haven writes (describe shows them whole first).
    pub fn judged(self) -> bool {
        matches!(
            self,
            ListKind::Findings | ListKind::AzLoss | ListKind::Dr | ListKind::Errors
        )
    }

    /// The title of the list.
    pub fn title(self) -> &'static str {
        match self {
            ListKind::Ec2 => "EC2 instances",
            ListKind::Asg => "Auto Scaling groups",
            ListKind::Lb => "Load balancers",
            ListKind::Tg => "Target groups",
            ListKind::Rds => "RDS DB instances",
            ListKind::DbSnap => "RDS snapshots",
            ListKind::Ami => "AMIs",
            ListKind::Snap => "EBS snapshots",
            ListKind::Sg => "Security groups",
            ListKind::Subnet => "Subnets",
            ListKind::Vpc => "VPCs",
            ListKind::Nat => "NAT gateways",
            ListKind::Rtb => "Route tables",
            ListKind::Lt => "Launch templates",
            ListKind::Iam => "IAM",
            ListKind::Errors => "Discovery errors",
            ListKind::Findings => "Findings",
            ListKind::AzLoss => "If an AZ (or the Region) fails",
            ListKind::Dr => "Disaster recovery",
            ListKind::Deploy => "Deploys",
            ListKind::Dns => "Front door: Route 53 records",
            ListKind::Certs => "ACM certificates",
            ListKind::Alarms => "CloudWatch alarms",
            ListKind::Events => "Events, newest first",
            ListKind::Profiles => "Profiles and accounts",
        }
    }
}

/// One cell of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Text with a tone.
    Text(String, Tone),
    /// A number (sorted numerically).
    Number(i64),
    /// A moment, shown as an age relative to the dashboard's clock.
    Time(Option<DateTime<Utc>>),
    /// A live signal (sparkline and value), sorted by its value (`order`: the value in
    /// thousandths; no value sorts first).
    Gauge(String, Tone, i64),
}

impl Cell {
    pub(super) fn text(s: impl Into<String>) -> Self {
        Cell::Text(s.into(), Tone::Normal)
    }

    pub(super) fn toned(s: impl Into<String>, tone: Tone) -> Self {
        Cell::Text(s.into(), tone)
    }

    pub(super) fn opt(s: Option<&str>) -> Self {
        Cell::Text(s.unwrap_or("-").to_string(), Tone::Normal)
    }

    pub(super) fn compare(&self, other: &Cell) -> Ordering {
        match (self, other) {
            (Cell::Number(a), Cell::Number(b)) => a.cmp(b),
            // Newest first reads as "youngest age first".
            (Cell::Time(a), Cell::Time(b)) => b.cmp(a),
            (Cell::Text(a, _), Cell::Text(b, _)) => a.cmp(b),
            (Cell::Gauge(_, _, a), Cell::Gauge(_, _, b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }
}

/// Which model object a row stands for, so the describe pane can find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowRef {
    /// Index into `Topology::regions` (`None` for account-wide rows).
    pub region: Option<usize>,
    /// Index into the kind's collection (for IAM: see [`IamPart`]).
    pub index: usize,
    /// For IAM rows, which collection.
    pub iam: Option<IamPart>,
}

/// The IAM collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IamPart {
    /// Users.
    User,
    /// Groups.
    Group,
    /// Roles.
    Role,
    /// Instance profiles.
    Profile,
    /// The password policy.
    PasswordPolicy,
}

/// One row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Cells, one per column (the first is the Region).
    pub cells: Vec<Cell>,
    /// The object described by Enter.
    pub target: RowRef,
    /// Lowercase text of the row, for the filter.
    pub haystack: String,
    /// A stable key to keep the selection across refreshes.
    pub key: String,
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Header.
    pub name: &'static str,
    /// Preferred width (the last column takes what is left).
    pub width: u16,
}

/// The rows of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListModel {
    /// The kind.
    pub kind: ListKind,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows, in discovery order.
    pub rows: Vec<Row>,
    /// What the rows are judged against, shown in the title (e.g. the RPO and its source).
    pub note: Option<String>,
}

/// A column with its header and preferred width.
pub fn col(name: &'static str, width: u16) -> Column {
    Column { name, width }
}

/// A list of `kind` from its columns and rows (the filter text is made here).
pub fn finish(kind: ListKind, columns: Vec<Column>, mut rows: Vec<Row>) -> ListModel {
    for row in &mut rows {
        let mut hay = String::new();
        for cell in &row.cells {
            match cell {
                Cell::Text(t, _) | Cell::Gauge(t, _, _) => hay.push_str(t),
                Cell::Number(n) => hay.push_str(&n.to_string()),
                Cell::Time(_) => {}
            }
            hay.push(' ');
        }
        row.haystack = hay.to_lowercase();
    }
    ListModel {
        kind,
        columns,
        rows,
        note: None,
    }
}
