//! The keys each blueprint table accepts: the one list behind "unknown key, did you mean",
//! "missing key, e.g. …" and the JSON Schema test.

/// One key of a blueprint table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// The key.
    pub name: &'static str,
    /// It must be present.
    pub required: bool,
    /// A valid example value, as TOML.
    pub example: &'static str,
}

/// One table of a blueprint (the root table has the path `""`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionSpec {
    /// Dotted path, e.g. `load_balancer.health_check`.
    pub path: &'static str,
    /// Its keys (sub-tables included).
    pub keys: &'static [KeySpec],
}

impl SectionSpec {
    /// The spec of `key`, if this table has it.
    pub fn key(&self, key: &str) -> Option<&'static KeySpec> {
        self.keys.iter().find(|k| k.name == key)
    }

    /// How the table is written in a blueprint, e.g. `[compute]` (the root: `the top level`).
    pub fn header(&self) -> String {
        if self.path.is_empty() {
            "the top level".to_string()
        } else {
            format!("[{}]", self.path)
        }
    }
}

const fn req(name: &'static str, example: &'static str) -> KeySpec {
    KeySpec {
        name,
        required: true,
        example,
    }
}

const fn opt(name: &'static str, example: &'static str) -> KeySpec {
    KeySpec {
        name,
        required: false,
        example,
    }
}

/// Every table of a blueprint and its keys.
pub const SECTIONS: &[SectionSpec] = &[
    SectionSpec {
        path: "",
        keys: &[
            req("stack", "{ name = \"lab\", region = \"ap-northeast-2\" }"),
            req(
                "network",
                "[network] with vpc_cidr, azs, public_subnets, private_subnets",
            ),
            opt("security", "[security] with ssh_from, app_port, db_port"),
            opt("iam", "[iam] with instance_role, instance_profile"),
            req("compute", "[compute] with ami, instance_type"),
            req(
                "load_balancer",
                "[load_balancer] with a [load_balancer.health_check]",
            ),
            req("auto_scaling", "[auto_scaling] with min, desired, max"),
            req(
                "database",
                "[database] with engine, engine_version, class, deletion_protection",
            ),
            opt("dr", "[dr] with regions, rpo"),
            opt("dns", "[dns] with zone, record"),
            opt("https", "[https] with certificate"),
        ],
    },
    SectionSpec {
        path: "stack",
        keys: &[req("name", "\"lab\""), req("region", "\"ap-northeast-2\"")],
    },
    SectionSpec {
        path: "network",
        keys: &[
            req("vpc_cidr", "\"10.0.0.0/16\""),
            req("azs", "[\"ap-northeast-2a\", \"ap-northeast-2b\"]"),
            req("public_subnets", "[\"10.0.0.0/20\", \"10.0.16.0/20\"]"),
            req("private_subnets", "[\"10.0.128.0/20\", \"10.0.144.0/20\"]"),
            opt("nat", "\"per-az\""),
            opt("s3_gateway_endpoint", "true"),
        ],
    },
    SectionSpec {
        path: "security",
        keys: &[
            opt("ssh_from", "[\"203.0.113.7/32\"]"),
            opt("allow_ssh_from_anywhere", "false"),
            opt("app_port", "80"),
            opt("db_port", "3306"),
        ],
    },
    SectionSpec {
        path: "iam",
        keys: &[
            opt("instance_role", "\"lab-instance-role\""),
            opt("instance_profile", "\"SSMInstanceProfile\""),
            opt(
                "instance_policy_arns",
                "[\"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore\"]",
            ),
            opt("operators", "[iam.operators] with group, policy_arn, users"),
            opt(
                "password_policy",
                "[iam.password_policy] with minimum_length",
            ),
        ],
    },
    SectionSpec {
        path: "iam.operators",
        keys: &[
            req("group", "\"lab-admins\""),
            req(
                "policy_arn",
                "\"arn:aws:iam::aws:policy/AdministratorAccess\"",
            ),
            opt("users", "[\"alice\", \"bob\"]"),
        ],
    },
    SectionSpec {
        path: "iam.password_policy",
        keys: &[
            opt("minimum_length", "14"),
            opt("require_symbols", "true"),
            opt("require_numbers", "true"),
            opt("require_uppercase", "true"),
            opt("require_lowercase", "true"),
            opt("allow_users_to_change", "true"),
            opt("max_age_days", "90"),
            opt("reuse_prevention", "24"),
        ],
    },
    SectionSpec {
        path: "compute",
        keys: &[
            req(
                "ami",
                "\"ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64\"",
            ),
            req("instance_type", "\"t3.micro\""),
            opt("user_data_file", "\"lab-user-data.sh\""),
            opt("key_name", "\"MyKeyPair\""),
            opt("imdsv2_required", "true"),
        ],
    },
    SectionSpec {
        path: "load_balancer",
        keys: &[
            opt("listener_port", "80"),
            opt("listener_protocol", "\"HTTP\""),
            opt(
                "certificate_arn",
                "\"arn:aws:acm:ap-northeast-2:123456789012:certificate/…\"",
            ),
            opt("deregistration_delay", "30"),
            req(
                "health_check",
                "[load_balancer.health_check] with path, interval, timeout, healthy_threshold, \
                 unhealthy_threshold, matcher",
            ),
        ],
    },
    SectionSpec {
        path: "load_balancer.health_check",
        keys: &[
            req("path", "\"/health\""),
            req("interval", "15"),
            req("timeout", "5"),
            req("healthy_threshold", "3"),
            req("unhealthy_threshold", "2"),
            req("matcher", "\"200\""),
        ],
    },
    SectionSpec {
        path: "auto_scaling",
        keys: &[
            req("min", "2"),
            req("desired", "2"),
            req("max", "4"),
            opt("health_check_type", "\"ELB\""),
            opt("grace_period", "300"),
            opt("cpu_target", "50"),
        ],
    },
    SectionSpec {
        path: "database",
        keys: &[
            req("engine", "\"mysql\""),
            req("engine_version", "\"8.0\""),
            req("class", "\"db.t3.micro\""),
            opt("multi_az", "true"),
            opt("allocated_storage", "20"),
            opt("backup_retention_days", "7"),
            opt("read_replicas", "1"),
            opt("master_username", "\"dbadmin\""),
            opt("manage_master_user_password", "true"),
            req("deletion_protection", "true"),
            opt("storage_encrypted", "true"),
        ],
    },
    SectionSpec {
        path: "dr",
        keys: &[req("regions", "[\"us-east-1\"]"), req("rpo", "\"1h\"")],
    },
    SectionSpec {
        path: "dns",
        keys: &[
            req("zone", "\"example.com\""),
            req("record", "\"lab.example.com\""),
            opt("create_zone", "false"),
            opt("routing", "\"failover\""),
            opt("alias", "true"),
            opt("ttl", "60"),
            opt("health_check_path", "\"/health\""),
            opt("weights", "[100, 0]"),
        ],
    },
    SectionSpec {
        path: "https",
        keys: &[
            opt("certificate", "\"request\""),
            opt("port", "443"),
            opt("tls_policy", "\"ELBSecurityPolicy-TLS13-1-2-Res-2021-06\""),
            opt("redirect_http", "true"),
        ],
    },
];

/// The spec of the table at `path`.
pub(crate) fn section(path: &str) -> Option<&'static SectionSpec> {
    SECTIONS.iter().find(|s| s.path == path)
}
