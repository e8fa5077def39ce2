//! IAM (global): the EC2 instance role and profile, the operators group and its users, the
//! account password policy. Everything haven creates lives under the path `/haven/<stack>/`.

use haven_model::Service;
use haven_model::plan::{Op, ResourceKind, iam_path};

use super::{Runner, StepContext, has_code, tolerate_gone, unsupported};
use crate::error::AwsError;

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
    async fn iam_send<T, E, R>(
        &self,
        operation: &str,
        call: impl std::future::Future<Output = Result<T, aws_sdk_iam::error::SdkError<E, R>>>,
    ) -> Result<(), AwsError>
    where
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
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
            // A profile holds one role: "limit exceeded" means an interrupted run added it.
            if !has_code(&result, &["LimitExceeded"]) {
                result?;
            }
        }
        Ok(())
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
    async fn iam_delete<T, E, R>(
        &self,
        operation: &str,
        call: impl std::future::Future<Output = Result<T, aws_sdk_iam::error::SdkError<E, R>>>,
    ) -> Result<(), AwsError>
    where
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        tolerate_gone(self.send(IAM, GLOBAL, operation, call).await).map(drop)
    }

    async fn iam_read<T, E, R>(
        &self,
        operation: &str,
        call: impl std::future::Future<Output = Result<T, aws_sdk_iam::error::SdkError<E, R>>>,
    ) -> Result<Option<T>, AwsError>
    where
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
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

    /// Removes what IAM refuses to delete a user with: sign-in, keys, MFA, groups, policies.
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
        self.iam_delete("DeleteUser", iam.delete_user().user_name(name).send())
            .await
    }
}
