//! The launch template, target group, load balancer and listener, and the Auto Scaling group
//! with its CPU policy.

use aws_sdk_autoscaling::types::{
    LaunchTemplateSpecification, MetricType, PredefinedMetricSpecification,
    TargetTrackingConfiguration,
};
use aws_sdk_ec2::types::{
    InstanceType, LaunchTemplateHttpTokensState,
    LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataEndpointState, LaunchTemplateInstanceMetadataOptionsRequest,
    RequestLaunchTemplateData, ResourceType,
};
use aws_sdk_elasticloadbalancingv2::types::{
    Action as ElbAction, ActionTypeEnum, Certificate, LoadBalancerAttribute,
    LoadBalancerSchemeEnum, LoadBalancerTypeEnum, Matcher, ProtocolEnum, RedirectActionConfig,
    RedirectActionStatusCodeEnum, TargetDescription, TargetGroupAttribute, TargetTypeEnum,
};
use haven_model::Service;
use haven_model::blueprint::CertificateSource;
use haven_model::plan::front_door;
use std::time::Duration;

use haven_model::plan::{CPU_METRIC, Op, ResourceKind, ResourceRef, desired_follows_policy};

use super::{Runner, StepContext, StepStatus, has_code, missing, tolerate_gone, unsupported};
use crate::error::AwsError;

/// How long a new instance profile can be refused: "a built-in delay of about two minutes"
/// for EC2 (AWS forum answer quoted in hashicorp/terraform#15341), plus a margin.
const PROFILE_BUDGET: Duration = Duration::from_secs(150);

/// Auto Scaling (`ValidationError`) and EC2 (`InvalidParameterValue`) refuse an instance
/// profile they cannot see yet with "… Invalid IAM Instance Profile name" (or "… ARN"): the
/// code comes from the error metadata, the phrase from the documented message.
pub(super) fn profile_not_yet_usable(error: &AwsError) -> bool {
    matches!(error, AwsError::Service { code, message, .. }
        if matches!(code.as_str(), "ValidationError" | "InvalidParameterValue")
            && message.contains("Invalid IAM Instance Profile"))
}

const EC2: Service = Service::Ec2;
const ELB: Service = Service::Elbv2;
const ASG: Service = Service::AutoScaling;

impl Runner<'_> {
    pub(super) async fn compute(&self, cx: &StepContext<'_>) -> Result<Option<String>, AwsError> {
        use ResourceKind::*;
        let step = cx.step;
        match (step.op, step.resource.kind) {
            (Op::Create | Op::Update, LaunchTemplate) => self.launch_template(cx).await.map(Some),
            (Op::Create | Op::Update, TargetGroup) => self.target_group(cx).await.map(Some),
            (Op::Create | Op::Update, LoadBalancer) => self.load_balancer(cx).await.map(Some),
            (Op::Create | Op::Update, Listener) => self.listener(cx).await.map(Some),
            (Op::Create | Op::Update, AutoScalingGroup) => {
                self.auto_scaling_group(cx).await.map(Some)
            }
            (Op::Create | Op::Update, ScalingPolicy) => self.scaling_policy(cx).await.map(Some),
            (Op::Delete, _) => self.delete_compute(cx).await.map(|()| None),
            _ => Err(unsupported(step)),
        }
    }

    /// The whole template data, every time: a new version does not inherit from the last.
    fn template_data(&self) -> Result<RequestLaunchTemplateData, AwsError> {
        let desired = self.desired()?;
        let compute = &desired.blueprint.compute;
        let tokens = if compute.imdsv2_required {
            LaunchTemplateHttpTokensState::Required
        } else {
            LaunchTemplateHttpTokensState::Optional
        };
        Ok(RequestLaunchTemplateData::builder()
            .image_id(compute.ami.launch_template_image_id())
            .instance_type(InstanceType::from(compute.instance_type.as_str()))
            .security_group_ids(self.id(ResourceKind::SecurityGroup, "app-sg")?)
            .iam_instance_profile(
                LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                    .name(&desired.blueprint.iam.instance_profile)
                    .build(),
            )
            .set_user_data(desired.user_data.map(aws_smithy_types::base64::encode))
            .set_key_name(compute.key_name.clone())
            .metadata_options(
                LaunchTemplateInstanceMetadataOptionsRequest::builder()
                    .http_tokens(tokens)
                    .http_endpoint(LaunchTemplateInstanceMetadataEndpointState::Enabled)
                    .build(),
            )
            .build())
    }

    /// Creates the template, or a new version of it made the default (instances pick it up when
    /// they are replaced: start an instance refresh to roll it out).
    async fn launch_template(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let ec2 = self.ctx.ec2(&cx.region);
        let data = self.template_data()?;
        if let Some(id) = &cx.step.id {
            let out = self
                .send(
                    EC2,
                    &cx.region,
                    "CreateLaunchTemplateVersion",
                    ec2.create_launch_template_version()
                        .launch_template_id(id)
                        .launch_template_data(data)
                        .version_description(format!("haven up: {}", cx.step.detail))
                        .send(),
                )
                .await?;
            let version = out
                .launch_template_version()
                .and_then(|v| v.version_number())
                .ok_or_else(|| missing(EC2, "CreateLaunchTemplateVersion", "version number"))?;
            self.send(
                EC2,
                &cx.region,
                "ModifyLaunchTemplate",
                ec2.modify_launch_template()
                    .launch_template_id(id)
                    .default_version(version.to_string())
                    .send(),
            )
            .await?;
            return Ok(id.clone());
        }
        let out = self
            .send(
                EC2,
                &cx.region,
                "CreateLaunchTemplate",
                ec2.create_launch_template()
                    .launch_template_name(&cx.step.name)
                    .client_token(self.token(cx.step, "first")?)
                    .launch_template_data(data)
                    .tag_specifications(crate::tags::ec2_spec(
                        ResourceType::LaunchTemplate,
                        &self.tags(cx.step),
                    ))
                    .send(),
            )
            .await?;
        out.launch_template()
            .and_then(|t| t.launch_template_id())
            .map(str::to_string)
            .ok_or_else(|| missing(EC2, "CreateLaunchTemplate", "template id"))
    }

    async fn target_group(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let bp = self.blueprint()?;
        let elb = self.ctx.elbv2(&cx.region);
        let hc = &bp.load_balancer.health_check;
        let arn = match &cx.step.id {
            Some(arn) => {
                self.send(
                    ELB,
                    &cx.region,
                    "ModifyTargetGroup",
                    elb.modify_target_group()
                        .target_group_arn(arn)
                        .health_check_path(&hc.path)
                        .health_check_interval_seconds(i32::from(hc.interval))
                        .health_check_timeout_seconds(i32::from(hc.timeout))
                        .healthy_threshold_count(i32::from(hc.healthy_threshold))
                        .unhealthy_threshold_count(i32::from(hc.unhealthy_threshold))
                        .matcher(Matcher::builder().http_code(&hc.matcher).build())
                        .send(),
                )
                .await?;
                return Ok(arn.clone());
            }
            // The same name with the same settings returns the existing group.
            None => self
                .send(
                    ELB,
                    &cx.region,
                    "CreateTargetGroup",
                    elb.create_target_group()
                        .name(&cx.step.name)
                        .protocol(ProtocolEnum::Http)
                        .port(i32::from(bp.security.app_port))
                        .vpc_id(self.id(ResourceKind::Vpc, "vpc")?)
                        .target_type(TargetTypeEnum::Instance)
                        .health_check_protocol(ProtocolEnum::Http)
                        .health_check_path(&hc.path)
                        .health_check_interval_seconds(i32::from(hc.interval))
                        .health_check_timeout_seconds(i32::from(hc.timeout))
                        .healthy_threshold_count(i32::from(hc.healthy_threshold))
                        .unhealthy_threshold_count(i32::from(hc.unhealthy_threshold))
                        .matcher(Matcher::builder().http_code(&hc.matcher).build())
                        .set_tags(Some(crate::tags::elb(&self.tags(cx.step))))
                        .send(),
                )
                .await?
                .target_groups()
                .first()
                .and_then(|t| t.target_group_arn())
                .ok_or_else(|| missing(ELB, "CreateTargetGroup", "target group ARN"))?
                .to_string(),
        };
        self.send(
            ELB,
            &cx.region,
            "ModifyTargetGroupAttributes",
            elb.modify_target_group_attributes()
                .target_group_arn(&arn)
                .attributes(
                    TargetGroupAttribute::builder()
                        .key("deregistration_delay.timeout_seconds")
                        .value(bp.load_balancer.deregistration_delay.to_string())
                        .build(),
                )
                .send(),
        )
        .await?;
        Ok(arn)
    }

    fn public_subnets(&self) -> Result<Vec<String>, AwsError> {
        let bp = self.blueprint()?;
        bp.network
            .azs
            .iter()
            .map(|az| self.id(ResourceKind::Subnet, &format!("public-{az}")))
            .collect()
    }

    async fn load_balancer(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let elb = self.ctx.elbv2(&cx.region);
        let subnets = self.public_subnets()?;
        if let Some(arn) = &cx.step.id {
            self.send(
                ELB,
                &cx.region,
                "SetSubnets",
                elb.set_subnets()
                    .load_balancer_arn(arn)
                    .set_subnets(Some(subnets))
                    .send(),
            )
            .await?;
            self.harden_load_balancer(cx, arn).await?;
            return Ok(arn.clone());
        }
        let group = self.id(ResourceKind::SecurityGroup, "alb-sg")?;
        // New subnets and group can be unknown to Elastic Load Balancing for a moment.
        let out = self
            .eventually(cx, self.fresh(cx.step), || {
                self.send(
                    ELB,
                    &cx.region,
                    "CreateLoadBalancer",
                    elb.create_load_balancer()
                        .name(&cx.step.name)
                        .r#type(LoadBalancerTypeEnum::Application)
                        .scheme(LoadBalancerSchemeEnum::InternetFacing)
                        .set_subnets(Some(subnets.clone()))
                        .security_groups(&group)
                        .set_tags(Some(crate::tags::elb(&self.tags(cx.step))))
                        .send(),
                )
            })
            .await?;
        let arn = out
            .load_balancers()
            .first()
            .and_then(|l| l.load_balancer_arn())
            .map(str::to_string)
            .ok_or_else(|| missing(ELB, "CreateLoadBalancer", "load balancer ARN"))?;
        self.harden_load_balancer(cx, &arn).await?;
        Ok(arn)
    }

    /// The attributes the blueprint's ALB meets Security Hub with: invalid header fields dropped
    /// (ELB.4) and desync mitigation `defensive` (ELB.12; AWS's default, set explicitly).
    async fn harden_load_balancer(&self, cx: &StepContext<'_>, arn: &str) -> Result<(), AwsError> {
        let elb = self.ctx.elbv2(&cx.region);
        let attributes = haven_model::plan::ALB_ATTRIBUTES
            .iter()
            .map(|(key, value)| {
                LoadBalancerAttribute::builder()
                    .key(*key)
                    .value(*value)
                    .build()
            })
            .collect();
        self.send(
            ELB,
            &cx.region,
            "ModifyLoadBalancerAttributes",
            elb.modify_load_balancer_attributes()
                .load_balancer_arn(arn)
                .set_attributes(Some(attributes))
                .send(),
        )
        .await?;
        Ok(())
    }

    async fn listener(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let bp = self.blueprint()?;
        let elb = self.ctx.elbv2(&cx.region);
        let lb = &bp.load_balancer;
        let forward = ElbAction::builder()
            .r#type(ActionTypeEnum::Forward)
            .target_group_arn(self.id(ResourceKind::TargetGroup, "target-group")?)
            .build();
        let https = bp
            .https
            .as_ref()
            .filter(|h| cx.step.resource.logical == front_door::https_listener_logical(h.port));
        let (port, protocol, certificate, ssl_policy, action) = match https {
            // `[https]`: the HTTPS listener, with the ACM certificate (issued: its validation
            // step waited for it) or the one given.
            Some(h) => {
                let arn = match &h.certificate {
                    CertificateSource::Arn(arn) => arn.clone(),
                    CertificateSource::Request => self.id(
                        ResourceKind::Certificate,
                        &front_door::certificate_logical(&cx.region),
                    )?,
                };
                (
                    h.port,
                    ProtocolEnum::Https,
                    Some(vec![Certificate::builder().certificate_arn(arn).build()]),
                    Some(h.tls_policy.clone()),
                    forward,
                )
            }
            None => {
                let redirect = bp.https.as_ref().filter(|h| h.redirect_http).map(|h| {
                    ElbAction::builder()
                        .r#type(ActionTypeEnum::Redirect)
                        .redirect_config(
                            RedirectActionConfig::builder()
                                .protocol("HTTPS")
                                .port(h.port.to_string())
                                .status_code(RedirectActionStatusCodeEnum::Http301)
                                .build(),
                        )
                        .build()
                });
                (
                    lb.listener_port,
                    ProtocolEnum::from(lb.listener_protocol.as_str()),
                    lb.certificate_arn
                        .as_ref()
                        .map(|arn| vec![Certificate::builder().certificate_arn(arn).build()]),
                    None,
                    redirect.unwrap_or(forward),
                )
            }
        };
        let forward = action;
        if let Some(arn) = &cx.step.id {
            self.send(
                ELB,
                &cx.region,
                "ModifyListener",
                elb.modify_listener()
                    .listener_arn(arn)
                    .protocol(protocol)
                    .set_certificates(certificate)
                    .set_ssl_policy(ssl_policy)
                    .default_actions(forward)
                    .send(),
            )
            .await?;
            return Ok(arn.clone());
        }
        let out = self
            .send(
                ELB,
                &cx.region,
                "CreateListener",
                elb.create_listener()
                    .load_balancer_arn(self.id(ResourceKind::LoadBalancer, "load-balancer")?)
                    .port(i32::from(port))
                    .protocol(protocol)
                    .set_certificates(certificate)
                    .set_ssl_policy(ssl_policy)
                    .default_actions(forward)
                    .set_tags(Some(crate::tags::elb(&self.tags(cx.step))))
                    .send(),
            )
            .await?;
        out.listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .map(str::to_string)
            .ok_or_else(|| missing(ELB, "CreateListener", "listener ARN"))
    }

    async fn auto_scaling_group(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let bp = self.blueprint()?;
        let client = self.ctx.autoscaling(&cx.region);
        let scaling = &bp.auto_scaling;
        let name = cx.step.id.clone().unwrap_or_else(|| cx.step.name.clone());
        let target_group = self.id(ResourceKind::TargetGroup, "target-group")?;
        let subnets = bp
            .network
            .azs
            .iter()
            .map(|az| self.id(ResourceKind::Subnet, &format!("private-{az}")))
            .collect::<Result<Vec<_>, _>>()?
            .join(",");
        let to_i32 = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        let template = self.pinned_template(&cx.region).await?;
        self.instance_profile_ready(cx).await?;
        let current = self
            .region(&cx.region)
            .and_then(|r| r.auto_scaling_groups.iter().find(|a| a.name == name));
        if cx.step.id.is_some() {
            // Under a scaling policy the desired capacity is the policy's: left out, Auto
            // Scaling keeps it, clamped into the new min and max.
            let desired = (!desired_follows_policy(bp, current)).then(|| to_i32(scaling.desired));
            self.launching_retry(cx, || {
                self.send(
                    ASG,
                    &cx.region,
                    "UpdateAutoScalingGroup",
                    client
                        .update_auto_scaling_group()
                        .auto_scaling_group_name(&name)
                        .launch_template(template.clone())
                        .min_size(to_i32(scaling.min))
                        .max_size(to_i32(scaling.max))
                        .set_desired_capacity(desired)
                        .health_check_type(scaling.health_check_type.as_str())
                        .health_check_grace_period(to_i32(scaling.grace_period))
                        .send(),
                )
            })
            .await?;
            let attached = current.is_some_and(|a| a.target_group_arns.contains(&target_group));
            if !attached {
                self.send(
                    ASG,
                    &cx.region,
                    "AttachLoadBalancerTargetGroups",
                    client
                        .attach_load_balancer_target_groups()
                        .auto_scaling_group_name(&name)
                        .target_group_arns(&target_group)
                        .send(),
                )
                .await?;
            }
            return Ok(name);
        }
        // Instances are named `<stack>-app`; the group's other tags reach them too.
        let mut tags = self.tags(cx.step);
        tags.insert("Name".to_string(), format!("{}-app", self.stack));
        let tags: Vec<_> = tags
            .iter()
            .map(|(k, v)| {
                aws_sdk_autoscaling::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .propagate_at_launch(true)
                    .resource_id(&name)
                    .resource_type("auto-scaling-group")
                    .build()
            })
            .collect();
        // The blueprint's desired capacity is set here, once; afterwards it is the policy's.
        let result = self
            .launching_retry(cx, || {
                self.send(
                    ASG,
                    &cx.region,
                    "CreateAutoScalingGroup",
                    client
                        .create_auto_scaling_group()
                        .auto_scaling_group_name(&name)
                        .launch_template(template.clone())
                        .min_size(to_i32(scaling.min))
                        .max_size(to_i32(scaling.max))
                        .desired_capacity(to_i32(scaling.desired))
                        .vpc_zone_identifier(&subnets)
                        .target_group_arns(&target_group)
                        .health_check_type(scaling.health_check_type.as_str())
                        .health_check_grace_period(to_i32(scaling.grace_period))
                        .set_tags(Some(tags.clone()))
                        .send(),
                )
            })
            .await;
        if !has_code(&result, &["AlreadyExists"]) {
            result?;
        }
        Ok(name)
    }

    /// When this run made or changed the instance profile, waits until IAM lists the role in
    /// it: a first sign of propagation. Auto Scaling and EC2 read IAM through their own caches
    /// and can still refuse the profile afterwards, which [`Runner::launching_retry`] covers.
    async fn instance_profile_ready(&self, cx: &StepContext<'_>) -> Result<(), AwsError> {
        let bp = self.blueprint()?;
        let (profile, role) = (&bp.iam.instance_profile, &bp.iam.instance_role);
        if !self.made(&ResourceRef::new(ResourceKind::InstanceProfile, profile)) {
            return Ok(());
        }
        let iam = self.ctx.iam();
        let what = format!("instance profile {profile} to hold role {role}");
        // A profile that never shows its role (it holds another one) must not hold `up` for
        // the whole --wait-timeout.
        self.wait_within(cx, Service::Iam, &what, PROFILE_BUDGET, || async {
            let out = self
                .read(
                    Service::Iam,
                    "global",
                    "GetInstanceProfile",
                    iam.get_instance_profile()
                        .instance_profile_name(profile)
                        .send(),
                )
                .await;
            let holds = match out {
                Ok(out) => out
                    .instance_profile()
                    .is_some_and(|p| p.roles().iter().any(|r| r.role_name() == role)),
                // Not visible yet to this IAM endpoint either.
                Err(error) if error.code() == Some("NoSuchEntity") => false,
                Err(error) => return Err(error),
            };
            Ok((!holds).then(|| "not visible yet".to_string()))
        })
        .await
    }

    /// Sends a call that launches instances with the blueprint's instance profile, retrying for
    /// about two minutes while AWS refuses a profile it has not seen yet
    /// ([IAM eventual consistency](https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency);
    /// terraform-provider-aws#838 retries the same answer).
    async fn launching_retry<F, Fut, T>(
        &self,
        cx: &StepContext<'_>,
        attempt: F,
    ) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, AwsError>>,
    {
        let first = self.options.first_poll.min(Duration::from_secs(2));
        self.retry(cx, PROFILE_BUDGET, first, &profile_not_yet_usable, attempt)
            .await
    }

    /// The stack's launch template at its current default version, by number: a group pinned
    /// to `$Latest` or `$Default` would launch an untested version the moment one is made.
    async fn pinned_template(&self, region: &str) -> Result<LaunchTemplateSpecification, AwsError> {
        let id = self.id(ResourceKind::LaunchTemplate, "launch-template")?;
        let ec2 = self.ctx.ec2(region);
        let out = self
            .read(
                EC2,
                region,
                "DescribeLaunchTemplates",
                ec2.describe_launch_templates()
                    .launch_template_ids(&id)
                    .send(),
            )
            .await?;
        let version = out
            .launch_templates()
            .first()
            .and_then(|t| t.default_version_number())
            .ok_or_else(|| missing(EC2, "DescribeLaunchTemplates", "default version"))?;
        Ok(LaunchTemplateSpecification::builder()
            .launch_template_id(id)
            .version(version.to_string())
            .build())
    }

    async fn scaling_policy(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let bp = self.blueprint()?;
        let client = self.ctx.autoscaling(&cx.region);
        let target = bp
            .auto_scaling
            .cpu_target
            .ok_or_else(|| super::unsupported(cx.step))?;
        let name = cx.step.id.clone().unwrap_or_else(|| cx.step.name.clone());
        let metric = PredefinedMetricSpecification::builder()
            .predefined_metric_type(MetricType::from(CPU_METRIC))
            .build();
        self.send(
            ASG,
            &cx.region,
            "PutScalingPolicy",
            client
                .put_scaling_policy()
                .auto_scaling_group_name(self.id(ResourceKind::AutoScalingGroup, "asg")?)
                .policy_name(&name)
                .policy_type("TargetTrackingScaling")
                .target_tracking_configuration(
                    TargetTrackingConfiguration::builder()
                        .predefined_metric_specification(metric)
                        .target_value(target)
                        .build(),
                )
                .send(),
        )
        .await?;
        Ok(name)
    }

    async fn delete_compute(&self, cx: &StepContext<'_>) -> Result<(), AwsError> {
        use ResourceKind::*;
        let step = cx.step;
        let region = cx.region.as_str();
        let id = step.id.clone().ok_or_else(|| unsupported(step))?;
        let result = match step.resource.kind {
            TargetRegistration => self.deregister_all(cx, &id).await,
            AutoScalingGroup => self.delete_auto_scaling_group(cx, &id).await,
            ScalingPolicy => {
                let client = self.ctx.autoscaling(region);
                let group = self.region(region).and_then(|r| {
                    r.auto_scaling_groups
                        .iter()
                        .find(|a| a.policies.iter().any(|p| p.name == id))
                });
                match group {
                    Some(group) => self
                        .send(
                            ASG,
                            region,
                            "DeletePolicy",
                            client
                                .delete_policy()
                                .auto_scaling_group_name(&group.name)
                                .policy_name(&id)
                                .send(),
                        )
                        .await
                        .map(drop),
                    None => Ok(()),
                }
            }
            Instance => self.terminate_instance(cx, &id).await,
            LaunchTemplate => {
                let ec2 = self.ctx.ec2(region);
                self.send(
                    EC2,
                    region,
                    "DeleteLaunchTemplate",
                    ec2.delete_launch_template().launch_template_id(&id).send(),
                )
                .await
                .map(drop)
            }
            Listener => {
                let elb = self.ctx.elbv2(region);
                self.send(
                    ELB,
                    region,
                    "DeleteListener",
                    elb.delete_listener().listener_arn(&id).send(),
                )
                .await
                .map(drop)
            }
            LoadBalancer => self.delete_load_balancer(cx, &id).await,
            TargetGroup => {
                let elb = self.ctx.elbv2(region);
                self.retry_busy(cx, &["ResourceInUse"], || {
                    self.send(
                        ELB,
                        region,
                        "DeleteTargetGroup",
                        elb.delete_target_group().target_group_arn(&id).send(),
                    )
                })
                .await
                .map(drop)
            }
            _ => Err(unsupported(step)),
        };
        tolerate_gone(result).map(drop)
    }

    async fn deregister_all(&self, cx: &StepContext<'_>, arn: &str) -> Result<(), AwsError> {
        let elb = self.ctx.elbv2(&cx.region);
        let health = self
            .read(
                ELB,
                &cx.region,
                "DescribeTargetHealth",
                elb.describe_target_health().target_group_arn(arn).send(),
            )
            .await?;
        let targets: Vec<TargetDescription> = health
            .target_health_descriptions()
            .iter()
            .filter_map(|d| d.target().cloned())
            .collect();
        if targets.is_empty() {
            return Ok(());
        }
        self.send(
            ELB,
            &cx.region,
            "DeregisterTargets",
            elb.deregister_targets()
                .target_group_arn(arn)
                .set_targets(Some(targets))
                .send(),
        )
        .await
        .map(drop)
    }

    /// Force-deletes the group (its instances are terminated) and waits until it is gone.
    async fn delete_auto_scaling_group(
        &self,
        cx: &StepContext<'_>,
        name: &str,
    ) -> Result<(), AwsError> {
        let client = self.ctx.autoscaling(&cx.region);
        let result = self
            .send(
                ASG,
                &cx.region,
                "DeleteAutoScalingGroup",
                client
                    .delete_auto_scaling_group()
                    .auto_scaling_group_name(name)
                    .force_delete(true)
                    .send(),
            )
            .await;
        if tolerate_gone(result)?.is_none() {
            return Ok(());
        }
        self.wait_for(
            cx,
            ASG,
            &format!("Auto Scaling group {name} to be deleted"),
            || async {
                let out = self
                    .read(
                        ASG,
                        &cx.region,
                        "DescribeAutoScalingGroups",
                        client
                            .describe_auto_scaling_groups()
                            .auto_scaling_group_names(name)
                            .send(),
                    )
                    .await?;
                Ok(out
                    .auto_scaling_groups()
                    .first()
                    .map(|g| g.status().unwrap_or("deleting").to_string()))
            },
        )
        .await
    }

    /// Deletes the load balancer and waits until it is gone: it holds network interfaces in the
    /// public subnets until then.
    async fn delete_load_balancer(&self, cx: &StepContext<'_>, arn: &str) -> Result<(), AwsError> {
        let elb = self.ctx.elbv2(&cx.region);
        self.send(
            ELB,
            &cx.region,
            "DeleteLoadBalancer",
            elb.delete_load_balancer().load_balancer_arn(arn).send(),
        )
        .await?;
        self.wait_for(cx, ELB, "the load balancer to be deleted", || async {
            let out = self
                .read(
                    ELB,
                    &cx.region,
                    "DescribeLoadBalancers",
                    elb.describe_load_balancers().load_balancer_arns(arn).send(),
                )
                .await;
            Ok(tolerate_gone(out)?
                .and_then(|o| o.load_balancers().first().cloned())
                .map(|l| {
                    l.state()
                        .and_then(|s| s.code())
                        .map_or("deleting".to_string(), |c| c.as_str().to_string())
                }))
        })
        .await
    }

    /// Terminates an instance and waits until EC2 says `terminated`. After TerminateInstances,
    /// `InvalidInstanceID.NotFound` "doesn't mean the instance … will be terminated. Your
    /// instance might still be running" (EC2 eventual consistency): DescribeInstances, which
    /// found the instance for the plan, decides; a repeat of the call is harmless.
    async fn terminate_instance(&self, cx: &StepContext<'_>, id: &str) -> Result<(), AwsError> {
        let ec2 = self.ctx.ec2(&cx.region);
        let started = std::time::Instant::now();
        let mut delay = self.options.first_poll;
        loop {
            let result = self
                .send(
                    EC2,
                    &cx.region,
                    "TerminateInstances",
                    ec2.terminate_instances().instance_ids(id).send(),
                )
                .await;
            tolerate_gone(result)?;
            match self.instance_state(cx, id).await?.as_deref() {
                // Gone from DescribeInstances too: terminated long enough ago to be forgotten.
                None | Some("terminated") => return Ok(()),
                Some("shutting-down") => {
                    return self
                        .wait_for(
                            cx,
                            EC2,
                            &format!("instance {id} to be terminated"),
                            || async {
                                Ok(self
                                    .instance_state(cx, id)
                                    .await?
                                    .filter(|state| state != "terminated"))
                            },
                        )
                        .await;
                }
                Some(state) => {
                    if started.elapsed() + delay > self.options.max_wait {
                        return Err(AwsError::WaitTimedOut {
                            service: EC2,
                            waiting_for: format!("instance {id} ({state}) to be terminated"),
                            waited_seconds: started.elapsed().as_secs(),
                        });
                    }
                    (cx.report)(StepStatus::Waiting(format!(
                        "instance {id} is still {state} after TerminateInstances: sending it again"
                    )));
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.options.max_poll);
                }
            }
        }
    }

    /// The instance's state name, `None` when EC2 no longer knows it.
    async fn instance_state(
        &self,
        cx: &StepContext<'_>,
        id: &str,
    ) -> Result<Option<String>, AwsError> {
        let out = self
            .read(
                EC2,
                &cx.region,
                "DescribeInstances",
                self.ctx
                    .ec2(&cx.region)
                    .describe_instances()
                    .instance_ids(id)
                    .send(),
            )
            .await;
        Ok(tolerate_gone(out)?.and_then(|o| {
            o.reservations()
                .iter()
                .flat_map(|r| r.instances())
                .find_map(|i| i.state()?.name().map(|n| n.as_str().to_string()))
        }))
    }
}

#[cfg(test)]
mod tests {
    //! moto accepts an instance profile the moment it exists; AWS refuses it for a while. The
    //! retry is tested against a mocked Auto Scaling client that answers as AWS does.

    use std::sync::Mutex;

    use aws_sdk_autoscaling::Client;
    use aws_sdk_autoscaling::error::ErrorMetadata;
    use aws_sdk_autoscaling::operation::create_auto_scaling_group::{
        CreateAutoScalingGroupError, CreateAutoScalingGroupOutput,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use haven_model::topology::Topology;

    use super::super::StepStatus;
    use super::super::tests::{context, quick, runner, step};
    use super::*;

    fn refused(message: &str) -> CreateAutoScalingGroupError {
        CreateAutoScalingGroupError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message(message)
                .build(),
        )
    }

    const NOT_YET: &str = "You must use a valid fully-formed launch template. Value \
                           (SSMInstanceProfile) for parameter iamInstanceProfile.name is invalid. \
                           Invalid IAM Instance Profile name";

    async fn create_group(client: &Client) -> (Result<(), AwsError>, Vec<StepStatus>) {
        let (ctx, topology, options) = (context(), Topology::new(chrono::Utc::now()), quick());
        let build = runner(&ctx, &topology, &options, Some("vpc-1"));
        let asg = step(ResourceKind::AutoScalingGroup, "asg", Op::Create);
        let reports = Mutex::new(Vec::new());
        let report = |s: StepStatus| reports.lock().expect("lock").push(s);
        let cx = StepContext {
            step: &asg,
            region: "ap-northeast-2".into(),
            report: &report,
        };
        let result = build
            .launching_retry(&cx, || {
                build.send(
                    ASG,
                    "ap-northeast-2",
                    "CreateAutoScalingGroup",
                    client
                        .create_auto_scaling_group()
                        .auto_scaling_group_name("lab-asg")
                        .min_size(2)
                        .max_size(4)
                        .send(),
                )
            })
            .await
            .map(drop);
        (result, reports.into_inner().expect("lock"))
    }

    #[tokio::test]
    async fn b2_a_new_instance_profile_refused_by_auto_scaling_is_retried_until_accepted() {
        let create = mock!(Client::create_auto_scaling_group)
            .match_requests(|r| r.auto_scaling_group_name() == Some("lab-asg"))
            .sequence()
            .error(|| refused(NOT_YET))
            .times(2)
            .output(|| CreateAutoScalingGroupOutput::builder().build())
            .build();
        let client = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [&create]);
        let (result, reports) = create_group(&client).await;
        assert_eq!(result, Ok(()));
        assert_eq!(create.num_calls(), 3);
        assert!(
            reports.iter().any(|r| matches!(r, StepStatus::Waiting(s)
                if s.contains("Invalid IAM Instance Profile name (retrying)")
                    && s.contains("typically 2–5 min"))),
            "{reports:?}"
        );
    }

    #[tokio::test]
    async fn b2_other_validation_errors_are_not_retried() {
        let message = "Max bound, 4, must be greater than or equal to min bound, 5";
        let create = mock!(Client::create_auto_scaling_group)
            .sequence()
            .error(|| refused(message))
            .times(2)
            .build();
        let client = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [&create]);
        let (result, _) = create_group(&client).await;
        let error = result.expect_err("refused");
        assert_eq!(error.code(), Some("ValidationError"));
        assert_eq!(create.num_calls(), 1);
    }

    #[tokio::test]
    async fn b2_a_profile_that_never_becomes_usable_stops_within_the_budget() {
        let create = mock!(Client::create_auto_scaling_group)
            .sequence()
            .error(|| refused(NOT_YET))
            .repeatedly()
            .build();
        let client = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [&create]);
        let (result, _) = create_group(&client).await;
        assert!(result.is_err_and(|e| profile_not_yet_usable(&e)));
        assert!(create.num_calls() > 2);
    }
}
