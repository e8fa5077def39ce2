//! IAM (global): the EC2 instance role and profile, the operators group and its users, the
//! account password policy. Everything haven creates lives under the path `/haven/<stack>/`;
//! an entity of the same name outside it is someone else's, changed only when `haven up
//! --adopt` takes it over (a `haven:stack` tag; a move to the path for a group).

use haven_model::Service;
use haven_model::blueprint::Blueprint;
use haven_model::plan::{Op, ResourceKind, iam_path, owns_iam};
use haven_model::topology::{Tags, Topology};

use super::{Runner, StepContext, has_code, tolerate_gone, unsupported};
use crate::context::AwsContext;
use crate::error::AwsError;

/// Reads the tags of the IAM entities `blueprint` names that exist outside its stack's path
/// (IAM's list calls do not return tags), so that the plan can tell an entity `haven up
/// --adopt` took over from someone else's. One call per such entity; nothing for the stack's
/// own.
pub async fn read_iam_tags(
    ctx: &AwsContext,
    blueprint: &Blueprint,
    topology: &mut Topology,
) -> Result<(), AwsError> {
    let Some(iam) = topology.iam.as_mut() else {
        return Ok(());
    };
    let stack = blueprint.name();
    let spec = &blueprint.iam;
    let client = ctx.iam();
    let endpoint = ctx.endpoint_label(GLOBAL);
    let tags = |list: &[aws_sdk_iam::types::Tag]| -> Tags {
        list.iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()
    };
    for role in iam
        .roles
        .iter_mut()
        .filter(|r| r.name == spec.instance_role && !owns_iam(&r.arn, &Tags::new(), stack))
    {
        let out = client
            .list_role_tags()
            .role_name(&role.name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(IAM, "ListRoleTags", &endpoint, e))?;
        role.tags = tags(out.tags());
    }
    for profile in iam
        .instance_profiles
        .iter_mut()
        .filter(|p| p.name == spec.instance_profile && !owns_iam(&p.arn, &Tags::new(), stack))
    {
        // GetInstanceProfile carries the tags (and moto has no ListInstanceProfileTags).
        let out = client
            .get_instance_profile()
            .instance_profile_name(&profile.name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(IAM, "GetInstanceProfile", &endpoint, e))?;
        let out = out
            .instance_profile()
            .map(|p| p.tags().to_vec())
            .unwrap_or_default();
        profile.tags = tags(&out);
    }
    let users: &[String] = spec.operators.as_ref().map_or(&[], |o| &o.users);
    for user in iam
        .users
        .iter_mut()
        .filter(|u| users.contains(&u.name) && !owns_iam(&u.arn, &Tags::new(), stack))
    {
        let out = client
            .list_user_tags()
            .user_name(&user.name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(IAM, "ListUserTags", &endpoint, e))?;
        user.tags = tags(out.tags());
    }
    Ok(())
}

const IAM: Service = Service::Iam;
const GLOBAL: &str = "global";
const EXISTS: &[&str] = &["EntityAlreadyExists"];
const EC2_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

impl Runner<'_> {
    pub(super) async fn iam(&self, cx: &StepContext<'_>) -> Result<Option<String>, AwsError> {
        use ResourceKind::*;
        let step = cx.step;
        match (step.op, step.resource.kind) {
            (Op::Create | Op::Update, IamRole) => self.role(cx).await,
            (Op::Create | Op::Update, InstanceProfile) => self.instance_profile(cx).await,
            (Op::Create | Op::Update, IamGroup) => self.group(cx).await,
            (Op::Create | Op::Update, IamUser) => self.user(cx).await,
            (Op::Create | Op::Update, PasswordPolicy) => self.password_policy().await,
            (Op::Delete, IamRole) => self.delete_role(&step.name).await,
            (Op::Delete, InstanceProfile) => self.delete_instance_profile(&step.name).await,
            (Op::Delete, IamGroup) => self.delete_group(&step.name).await,
            (Op::Delete, IamUser) => self.delete_user(&step.name).await,
            _ => Err(unsupported(step)),
        }
        .map(|()| (step.op != Op::Delete).then(|| step.name.clone()))
    }

    fn current_iam(&self) -> Option<&haven_model::topology::Iam> {
        self.topology.iam.as_ref()
    }

    /// Sends an IAM call that may answer "already exists" for work an earlier run did.
    async fn iam_send<T, E>(
        &self,
        operation: &str,
        call: impl std::future::Future<
            Output = Result<
                T,
                aws_sdk_iam::error::SdkError<E, aws_sdk_iam::config::http::HttpResponse>,
            >,
        >,
    ) -> Result<(), AwsError>
    where
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let result = self.send(IAM, GLOBAL, operation, call).await;
        if has_code(&result, EXISTS) {
            return Ok(());
        }
        result.map(drop)
    }

    async fn role(&self, cx: &StepContext<'_>) -> Result<(), AwsError> {
        let bp = self.blueprint()?;
        let iam = self.ctx.iam();
        let name = &cx.step.name;
        let current = self
            .current_iam()
            .and_then(|i| i.roles.iter().find(|r| r.name == *name));
        match current {
            None => {
                self.iam_send(
                    "CreateRole",
                    iam.create_role()
                        .role_name(name)
                        .path(iam_path(self.stack))
                        .assume_role_policy_document(EC2_TRUST)
                        .description(format!("haven {}: EC2 instances of the stack", self.stack))
                        .set_tags(Some(crate::tags::iam(&self.tags(cx.step))))
                        .send(),
                )
                .await?;
            }
            Some(role)
                if !role
                    .trusted_services
                    .iter()
                    .any(|s| s == "ec2.amazonaws.com") =>
            {
                self.iam_send(
                    "UpdateAssumeRolePolicy",
                    iam.update_assume_role_policy()
                        .role_name(name)
                        .policy_document(EC2_TRUST)
                        .send(),
                )
                .await?;
            }
            Some(_) => {}
        }
        if let Some(role) = current.filter(|r| !owns_iam(&r.arn, &r.tags, self.stack)) {
            // Taken over with `--adopt`: the tag makes the next runs see it as the stack's.
            self.send(
                IAM,
                GLOBAL,
                "TagRole",
                iam.tag_role()
                    .role_name(&role.name)
                    .set_tags(Some(crate::tags::iam(&self.tags(cx.step))))
                    .send(),
            )
            .await?;
        }
        for arn in &bp.iam.instance_policy_arns {
            if current.is_some_and(|r| r.attached_policy_arns.contains(arn)) {
                continue;
            }
            self.iam_send(
                "AttachRolePolicy",
                iam.attach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send(),
            )
            .await?;
        }
        Ok(())
    }

    async fn instance_profile(&self, cx: &StepContext<'_>) -> Result<(), AwsError> {
        let bp = self.blueprint()?;
        let iam = self.ctx.iam();
        let name = &cx.step.name;
        let current = self
            .current_iam()
            .and_then(|i| i.instance_profiles.iter().find(|p| p.name == *name));
        if current.is_none() {
            self.iam_send(
                "CreateInstanceProfile",
                iam.create_instance_profile()
                    .instance_profile_name(name)
                    .path(iam_path(self.stack))
                    .set_tags(Some(crate::tags::iam(&self.tags(cx.step))))
                    .send(),
            )
            .await?;
        }
        if let Some(profile) = current.filter(|p| !owns_iam(&p.arn, &p.tags, self.stack)) {
            self.send(
                IAM,
                GLOBAL,
                "TagInstanceProfile",
                iam.tag_instance_profile()
                    .instance_profile_name(&profile.name)
                    .set_tags(Some(crate::tags::iam(&self.tags(cx.step))))
                    .send(),
            )
            .await?;
        }
        if !current.is_some_and(|p| p.role_names.contains(&bp.iam.instance_role)) {
            let result = self
                .send(
                    IAM,
                    GLOBAL,
                    "AddRoleToInstanceProfile",
                    iam.add_role_to_instance_profile()
                        .instance_profile_name(name)
                        .role_name(&bp.iam.instance_role)
                        .send(),
                )
                .await;
            // A profile holds one role ("LimitExceeded" otherwise). It is fine only when that
            // role is ours, added by an interrupted run; another role stays, and `up` says so.
            if has_code(&result, &["LimitExceeded"]) {
                let held = self.profile_roles(name).await?;
                if !held.contains(&bp.iam.instance_role) {
                    return Err(AwsError::Other {
                        service: IAM,
                        operation: "AddRoleToInstanceProfile".to_string(),
                        detail: format!(
                            "instance profile {name} already holds role {}, and a profile \
                             holds one role: haven does not swap it (instances using the \
                             profile would change identity). Remove that role from {name} by \
                             hand, or give the blueprint another instance_profile name",
                            held.join(", ")
                        ),
                    });
                }
            } else {
                result?;
            }
        }
        Ok(())
    }

    /// The roles an instance profile holds now.
    async fn profile_roles(&self, name: &str) -> Result<Vec<String>, AwsError> {
        let iam = self.ctx.iam();
        Ok(self
            .iam_read(
                "GetInstanceProfile",
                iam.get_instance_profile()
                    .instance_profile_name(name)
                    .send(),
            )
            .await?
            .and_then(|out| {
                out.instance_profile().map(|p| {
                    p.roles()
                        .iter()
                        .map(|r| r.role_name().to_string())
                        .collect()
                })
            })
            .unwrap_or_default())
    }

    async fn group(&self, cx: &StepContext<'_>) -> Result<(), AwsError> {
        let bp = self.blueprint()?;
        let Some(operators) = &bp.iam.operators else {
            return Err(unsupported(cx.step));
        };
        let iam = self.ctx.iam();
        let name = &cx.step.name;
        let current = self
            .current_iam()
            .and_then(|i| i.groups.iter().find(|g| g.name == *name));
        if current.is_none() {
            self.iam_send(
                "CreateGroup",
                iam.create_group()
                    .group_name(name)
                    .path(iam_path(self.stack))
                    .send(),
            )
            .await?;
        }
        if let Some(group) = current.filter(|g| !owns_iam(&g.arn, &Tags::new(), self.stack)) {
            // IAM groups take no tags: an adopted group moves to the stack's path.
            self.send(
                IAM,
                GLOBAL,
                "UpdateGroup",
                iam.update_group()
                    .group_name(&group.name)
                    .new_path(iam_path(self.stack))
                    .send(),
            )
            .await?;
        }
        if !current.is_some_and(|g| g.attached_policy_arns.contains(&operators.policy_arn)) {
            self.iam_send(
                "AttachGroupPolicy",
                iam.attach_group_policy()
                    .group_name(name)
                    .policy_arn(&operators.policy_arn)
                    .send(),
            )
            .await?;
        }
        Ok(())
    }

    /// The user gets no password and no access key: people set up their own sign-in.
    async fn user(&self, cx: &StepContext<'_>) -> Result<(), AwsError> {
        let bp = self.blueprint()?;
        let Some(operators) = &bp.iam.operators else {
            return Err(unsupported(cx.step));
        };
        let iam = self.ctx.iam();
        let name = &cx.step.name;
        let current = self
            .current_iam()
            .and_then(|i| i.users.iter().find(|u| u.name == *name));
        if current.is_none() {
            self.iam_send(
                "CreateUser",
                iam.create_user()
                    .user_name(name)
                    .path(iam_path(self.stack))
                    .set_tags(Some(crate::tags::iam(&self.tags(cx.step))))
                    .send(),
            )
            .await?;
        }
        if let Some(user) = current.filter(|u| !owns_iam(&u.arn, &u.tags, self.stack)) {
            self.send(
                IAM,
                GLOBAL,
                "TagUser",
                iam.tag_user()
                    .user_name(&user.name)
                    .set_tags(Some(crate::tags::iam(&self.tags(cx.step))))
                    .send(),
            )
            .await?;
        }
        if !current.is_some_and(|u| u.groups.contains(&operators.group)) {
            self.iam_send(
                "AddUserToGroup",
                iam.add_user_to_group()
                    .group_name(&operators.group)
                    .user_name(name)
                    .send(),
            )
            .await?;
        }
        Ok(())
    }

    async fn password_policy(&self) -> Result<(), AwsError> {
        let bp = self.blueprint()?;
        let Some(policy) = &bp.iam.password_policy else {
            return Ok(());
        };
        let iam = self.ctx.iam();
        self.iam_send(
            "UpdateAccountPasswordPolicy",
            iam.update_account_password_policy()
                .minimum_password_length(i32::from(policy.minimum_length))
                .require_symbols(policy.require_symbols)
                .require_numbers(policy.require_numbers)
                .require_uppercase_characters(policy.require_uppercase)
                .require_lowercase_characters(policy.require_lowercase)
                .allow_users_to_change_password(policy.allow_users_to_change)
                .set_max_password_age(policy.max_age_days.map(i32::from))
                .set_password_reuse_prevention(policy.reuse_prevention.map(i32::from))
                .send(),
        )
        .await
    }

    /// Sends an IAM delete; "no such entity" means it is already gone.
    async fn iam_delete<T, E>(
        &self,
        operation: &str,
        call: impl std::future::Future<
            Output = Result<
                T,
                aws_sdk_iam::error::SdkError<E, aws_sdk_iam::config::http::HttpResponse>,
            >,
        >,
    ) -> Result<(), AwsError>
    where
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        tolerate_gone(self.send(IAM, GLOBAL, operation, call).await).map(drop)
    }

    async fn iam_read<T, E>(
        &self,
        operation: &str,
        call: impl std::future::Future<
            Output = Result<
                T,
                aws_sdk_iam::error::SdkError<E, aws_sdk_iam::config::http::HttpResponse>,
            >,
        >,
    ) -> Result<Option<T>, AwsError>
    where
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        tolerate_gone(self.read(IAM, GLOBAL, operation, call).await)
    }

    async fn delete_instance_profile(&self, name: &str) -> Result<(), AwsError> {
        let iam = self.ctx.iam();
        let Some(out) = self
            .iam_read(
                "GetInstanceProfile",
                iam.get_instance_profile()
                    .instance_profile_name(name)
                    .send(),
            )
            .await?
        else {
            return Ok(());
        };
        let roles: Vec<String> = out
            .instance_profile()
            .map(|p| {
                p.roles()
                    .iter()
                    .map(|r| r.role_name().to_string())
                    .collect()
            })
            .unwrap_or_default();
        for role in roles {
            self.iam_delete(
                "RemoveRoleFromInstanceProfile",
                iam.remove_role_from_instance_profile()
                    .instance_profile_name(name)
                    .role_name(role)
                    .send(),
            )
            .await?;
        }
        self.iam_delete(
            "DeleteInstanceProfile",
            iam.delete_instance_profile()
                .instance_profile_name(name)
                .send(),
        )
        .await
    }

    async fn delete_role(&self, name: &str) -> Result<(), AwsError> {
        let iam = self.ctx.iam();
        if let Some(out) = self
            .iam_read(
                "ListAttachedRolePolicies",
                iam.list_attached_role_policies().role_name(name).send(),
            )
            .await?
        {
            for arn in out
                .attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn())
            {
                self.iam_delete(
                    "DetachRolePolicy",
                    iam.detach_role_policy()
                        .role_name(name)
                        .policy_arn(arn)
                        .send(),
                )
                .await?;
            }
        }
        if let Some(out) = self
            .iam_read(
                "ListRolePolicies",
                iam.list_role_policies().role_name(name).send(),
            )
            .await?
        {
            for policy in out.policy_names() {
                self.iam_delete(
                    "DeleteRolePolicy",
                    iam.delete_role_policy()
                        .role_name(name)
                        .policy_name(policy)
                        .send(),
                )
                .await?;
            }
        }
        if let Some(out) = self
            .iam_read(
                "ListInstanceProfilesForRole",
                iam.list_instance_profiles_for_role().role_name(name).send(),
            )
            .await?
        {
            for profile in out.instance_profiles() {
                self.iam_delete(
                    "RemoveRoleFromInstanceProfile",
                    iam.remove_role_from_instance_profile()
                        .instance_profile_name(profile.instance_profile_name())
                        .role_name(name)
                        .send(),
                )
                .await?;
            }
        }
        self.iam_delete("DeleteRole", iam.delete_role().role_name(name).send())
            .await
    }

    async fn delete_group(&self, name: &str) -> Result<(), AwsError> {
        let iam = self.ctx.iam();
        if let Some(out) = self
            .iam_read("GetGroup", iam.get_group().group_name(name).send())
            .await?
        {
            for user in out.users() {
                self.iam_delete(
                    "RemoveUserFromGroup",
                    iam.remove_user_from_group()
                        .group_name(name)
                        .user_name(user.user_name())
                        .send(),
                )
                .await?;
            }
        }
        if let Some(out) = self
            .iam_read(
                "ListAttachedGroupPolicies",
                iam.list_attached_group_policies().group_name(name).send(),
            )
            .await?
        {
            for arn in out
                .attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn())
            {
                self.iam_delete(
                    "DetachGroupPolicy",
                    iam.detach_group_policy()
                        .group_name(name)
                        .policy_arn(arn)
                        .send(),
                )
                .await?;
            }
        }
        if let Some(out) = self
            .iam_read(
                "ListGroupPolicies",
                iam.list_group_policies().group_name(name).send(),
            )
            .await?
        {
            for policy in out.policy_names() {
                self.iam_delete(
                    "DeleteGroupPolicy",
                    iam.delete_group_policy()
                        .group_name(name)
                        .policy_name(policy)
                        .send(),
                )
                .await?;
            }
        }
        self.iam_delete("DeleteGroup", iam.delete_group().group_name(name).send())
            .await
    }

    /// Removes what IAM refuses to delete a user with ("you must delete the items attached to
    /// the user manually": password, access keys, signing certificates, SSH public keys,
    /// service-specific credentials, MFA devices, inline and attached policies, group
    /// memberships; IAM User Guide, "Deleting an IAM user").
    async fn delete_user(&self, name: &str) -> Result<(), AwsError> {
        let iam = self.ctx.iam();
        self.iam_delete(
            "DeleteLoginProfile",
            iam.delete_login_profile().user_name(name).send(),
        )
        .await?;
        if let Some(out) = self
            .iam_read(
                "ListAccessKeys",
                iam.list_access_keys().user_name(name).send(),
            )
            .await?
        {
            for key in out
                .access_key_metadata()
                .iter()
                .filter_map(|k| k.access_key_id())
            {
                self.iam_delete(
                    "DeleteAccessKey",
                    iam.delete_access_key()
                        .user_name(name)
                        .access_key_id(key)
                        .send(),
                )
                .await?;
            }
        }
        if let Some(out) = self
            .iam_read(
                "ListMFADevices",
                iam.list_mfa_devices().user_name(name).send(),
            )
            .await?
        {
            for device in out.mfa_devices() {
                self.iam_delete(
                    "DeactivateMFADevice",
                    iam.deactivate_mfa_device()
                        .user_name(name)
                        .serial_number(device.serial_number())
                        .send(),
                )
                .await?;
                // A virtual device outlives its user otherwise (its serial is an ARN; a
                // hardware device's is not, and there is nothing to delete).
                if device.serial_number().starts_with("arn:") {
                    self.iam_delete(
                        "DeleteVirtualMFADevice",
                        iam.delete_virtual_mfa_device()
                            .serial_number(device.serial_number())
                            .send(),
                    )
                    .await?;
                }
            }
        }
        if let Some(out) = self
            .iam_read(
                "ListSSHPublicKeys",
                iam.list_ssh_public_keys().user_name(name).send(),
            )
            .await?
        {
            for key in out.ssh_public_keys() {
                self.iam_delete(
                    "DeleteSSHPublicKey",
                    iam.delete_ssh_public_key()
                        .user_name(name)
                        .ssh_public_key_id(key.ssh_public_key_id())
                        .send(),
                )
                .await?;
            }
        }
        if let Some(out) = self
            .iam_read(
                "ListSigningCertificates",
                iam.list_signing_certificates().user_name(name).send(),
            )
            .await?
        {
            for certificate in out.certificates() {
                self.iam_delete(
                    "DeleteSigningCertificate",
                    iam.delete_signing_certificate()
                        .user_name(name)
                        .certificate_id(certificate.certificate_id())
                        .send(),
                )
                .await?;
            }
        }
        if let Some(out) = self
            .iam_read(
                "ListGroupsForUser",
                iam.list_groups_for_user().user_name(name).send(),
            )
            .await?
        {
            for group in out.groups() {
                self.iam_delete(
                    "RemoveUserFromGroup",
                    iam.remove_user_from_group()
                        .group_name(group.group_name())
                        .user_name(name)
                        .send(),
                )
                .await?;
            }
        }
        if let Some(out) = self
            .iam_read(
                "ListAttachedUserPolicies",
                iam.list_attached_user_policies().user_name(name).send(),
            )
            .await?
        {
            for arn in out
                .attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn())
            {
                self.iam_delete(
                    "DetachUserPolicy",
                    iam.detach_user_policy()
                        .user_name(name)
                        .policy_arn(arn)
                        .send(),
                )
                .await?;
            }
        }
        if let Some(out) = self
            .iam_read(
                "ListUserPolicies",
                iam.list_user_policies().user_name(name).send(),
            )
            .await?
        {
            for policy in out.policy_names() {
                self.iam_delete(
                    "DeleteUserPolicy",
                    iam.delete_user_policy()
                        .user_name(name)
                        .policy_name(policy)
                        .send(),
                )
                .await?;
            }
        }
        match self
            .iam_delete("DeleteUser", iam.delete_user().user_name(name).send())
            .await
        {
            // Service-specific credentials (CodeCommit, Keyspaces) are rare, and not every
            // endpoint has the API to list them (moto answers HTTP 500, which the SDK retries for
            // a minute): they are looked for only when IAM says something still holds the user.
            Err(error) if error.code() == Some("DeleteConflict") => {
                self.delete_service_specific_credentials(name).await?;
                self.iam_delete("DeleteUser", iam.delete_user().user_name(name).send())
                    .await
            }
            other => other,
        }
    }

    /// Deletes the user's service-specific credentials (which block `DeleteUser`).
    async fn delete_service_specific_credentials(&self, name: &str) -> Result<(), AwsError> {
        let iam = self.ctx.iam();
        let Some(out) = self
            .iam_read(
                "ListServiceSpecificCredentials",
                iam.list_service_specific_credentials()
                    .user_name(name)
                    .send(),
            )
            .await?
        else {
            return Ok(());
        };
        for credential in out.service_specific_credentials() {
            self.iam_delete(
                "DeleteServiceSpecificCredential",
                iam.delete_service_specific_credential()
                    .user_name(name)
                    .service_specific_credential_id(credential.service_specific_credential_id())
                    .send(),
            )
            .await?;
        }
        Ok(())
    }
}
