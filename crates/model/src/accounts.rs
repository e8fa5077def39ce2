//! Accounts: the profiles of the AWS shared config files, the state of an IAM Identity Center
//! (SSO) login, and the accounts a person asks haven to show side by side.
//!
//! All of it is pure: haven-aws reads the files and the token cache and hands the text here.

pub mod shared_config;
pub mod spec;
pub mod sso;

pub use shared_config::{ProfileInfo, RoleSource, SignIn, parse_shared_config};
pub use spec::{AccountError, AccountField, AccountSpec, validate_accounts};
pub use sso::{SsoPrompt, SsoToken, sso_login_command};
