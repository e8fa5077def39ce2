//! The VPC and everything in it: subnets, internet gateway, Elastic IPs and NAT gateways, route
//! tables, the S3 gateway endpoint and the security-group chain.

use aws_sdk_ec2::types::{
    AttributeBooleanValue, DomainType, IpPermission, IpRange, ResourceType, UserIdGroupPair,
    VpcEndpointType,
};
use haven_model::Service;
use haven_model::plan::layout::{self, DefaultRoute, Peer, RuleSpec};
use haven_model::plan::{Op, ResourceKind};
use haven_model::topology::{RouteTarget, RulePeer, SecurityGroupRule};

use super::{Runner, StepContext, missing, tolerate_gone, unsupported};
use crate::error::AwsError;
use haven_model::plan::STACK_TAG;

const EC2: Service = Service::Ec2;

fn on() -> AttributeBooleanValue {
    AttributeBooleanValue::builder().value(true).build()
}

/// One ingress rule as EC2 takes it.
fn permission(rule: &SecurityGroupRule) -> IpPermission {
    let builder = IpPermission::builder()
        .ip_protocol(&rule.protocol)
        .set_from_port(rule.from_port)
        .set_to_port(rule.to_port);
    match &rule.peer {
        RulePeer::Cidr(cidr) => builder.ip_ranges(IpRange::builder().cidr_ip(cidr).build()),
        RulePeer::Ipv6Cidr(cidr) => builder.ipv6_ranges(
            aws_sdk_ec2::types::Ipv6Range::builder()
                .cidr_ipv6(cidr)
                .build(),
        ),
        RulePeer::SecurityGroup(id) => {
            builder.user_id_group_pairs(UserIdGroupPair::builder().group_id(id).build())
        }
        RulePeer::PrefixList(id) => builder.prefix_list_ids(
            aws_sdk_ec2::types::PrefixListId::builder()
                .prefix_list_id(id)
                .build(),
        ),
    }
    .build()
}

impl Runner<'_> {
    pub(super) async fn network(&self, cx: &StepContext<'_>) -> Result<Option<String>, AwsError> {
        use ResourceKind::*;
        let step = cx.step;
        match (step.op, step.resource.kind) {
            (Op::Create, Vpc) => self.create_vpc(cx).await.map(Some),
            (Op::Create | Op::Update, InternetGateway) => self.internet_gateway(cx).await.map(Some),
            (Op::Create | Op::Update, Subnet) => self.subnet(cx).await.map(Some),
            (Op::Create, ElasticIp) => self.allocate_address(cx).await.map(Some),
            (Op::Create | Op::Update, NatGateway) => self.nat_gateway(cx).await.map(Some),
            (Op::Create | Op::Update, RouteTable) => self.route_table(cx).await.map(Some),
            (Op::Create, VpcEndpoint) => self.s3_endpoint(cx).await.map(Some),
            (Op::Create | Op::Update, SecurityGroup) => self.security_group(cx).await.map(Some),
            (Op::Delete, _) => self.delete_network(cx).await.map(|()| None),
            _ => Err(unsupported(step)),
        }
    }

    async fn create_vpc(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let bp = self.blueprint()?;
        let ec2 = self.ctx.ec2(&cx.region);
        let out = self
            .send(
                EC2,
                &cx.region,
                "CreateVpc",
                ec2.create_vpc()
                    .cidr_block(bp.network.vpc_cidr.to_string())
                    .tag_specifications(crate::tags::ec2_spec(
                        ResourceType::Vpc,
                        &self.tags(cx.step),
                    ))
                    .send(),
            )
            .await?;
        let id = out
            .vpc()
            .and_then(|v| v.vpc_id())
            .ok_or_else(|| missing(EC2, "CreateVpc", "VPC id"))?
            .to_string();
        // The id a create returns can be unknown to the next call for a moment.
        self.eventually(cx, true, || {
            self.send(
                EC2,
                &cx.region,
                "ModifyVpcAttribute",
                ec2.modify_vpc_attribute()
                    .vpc_id(&id)
                    .enable_dns_hostnames(on())
                    .send(),
            )
        })
        .await?;
        Ok(id)
    }

    async fn internet_gateway(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let ec2 = self.ctx.ec2(&cx.region);
        let vpc = self.id(ResourceKind::Vpc, "vpc")?;
        let id = match &cx.step.id {
            Some(id) => id.clone(),
            None => self
                .send(
                    EC2,
                    &cx.region,
                    "CreateInternetGateway",
                    ec2.create_internet_gateway()
                        .tag_specifications(crate::tags::ec2_spec(
                            ResourceType::InternetGateway,
                            &self.tags(cx.step),
                        ))
                        .send(),
                )
                .await?
                .internet_gateway()
                .and_then(|g| g.internet_gateway_id())
                .ok_or_else(|| missing(EC2, "CreateInternetGateway", "gateway id"))?
                .to_string(),
        };
        self.eventually(cx, self.fresh(cx.step), || {
            self.send(
                EC2,
                &cx.region,
                "AttachInternetGateway",
                ec2.attach_internet_gateway()
                    .internet_gateway_id(&id)
                    .vpc_id(&vpc)
                    .send(),
            )
        })
        .await?;
        Ok(id)
    }

    async fn subnet(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let bp = self.blueprint()?;
        let ec2 = self.ctx.ec2(&cx.region);
        let logical = cx.step.resource.logical.as_str();
        let (public, az) = match logical.split_once('-') {
            Some(("public", az)) => (true, az),
            Some((_, az)) => (false, az),
            None => (false, logical),
        };
        let id = match &cx.step.id {
            Some(id) => id.clone(),
            None => {
                let net = &bp.network;
                let position = net.azs.iter().position(|a| a == az);
                let cidrs = if public {
                    &net.public_subnets
                } else {
                    &net.private_subnets
                };
                let cidr = position
                    .and_then(|i| cidrs.get(i))
                    .ok_or_else(|| unsupported(cx.step))?;
                let vpc = self.id(ResourceKind::Vpc, "vpc")?;
                self.eventually(cx, self.fresh(cx.step), || {
                    self.send(
                        EC2,
                        &cx.region,
                        "CreateSubnet",
                        ec2.create_subnet()
                            .vpc_id(&vpc)
                            .cidr_block(cidr.to_string())
                            .availability_zone(az)
                            .tag_specifications(crate::tags::ec2_spec(
                                ResourceType::Subnet,
                                &self.tags(cx.step),
                            ))
                            .send(),
                    )
                })
                .await?
                .subnet()
                .and_then(|s| s.subnet_id())
                .ok_or_else(|| missing(EC2, "CreateSubnet", "subnet id"))?
                .to_string()
            }
        };
        // No subnet of the stack auto-assigns public IPv4 (Security Hub EC2.15): the load
        // balancer and the NAT gateways bring their own addresses.
        let maps = self
            .region(&cx.region)
            .and_then(|r| r.subnets.iter().find(|s| s.id == id))
            .is_some_and(|s| s.map_public_ip_on_launch);
        if maps {
            self.eventually(cx, self.fresh(cx.step), || {
                self.send(
                    EC2,
                    &cx.region,
                    "ModifySubnetAttribute",
                    ec2.modify_subnet_attribute()
                        .subnet_id(&id)
                        .map_public_ip_on_launch(
                            AttributeBooleanValue::builder().value(false).build(),
                        )
                        .send(),
                )
            })
            .await?;
        }
        Ok(id)
    }

    async fn allocate_address(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let ec2 = self.ctx.ec2(&cx.region);
        let out = self
            .send(
                EC2,
                &cx.region,
                "AllocateAddress",
                ec2.allocate_address()
                    .domain(DomainType::Vpc)
                    .tag_specifications(crate::tags::ec2_spec(
                        ResourceType::ElasticIp,
                        &self.tags(cx.step),
                    ))
                    .send(),
            )
            .await?;
        out.allocation_id()
            .map(str::to_string)
            .ok_or_else(|| missing(EC2, "AllocateAddress", "allocation id"))
    }

    /// Creates the NAT gateway (again, when the old one failed) and waits until it is available.
    async fn nat_gateway(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let ec2 = self.ctx.ec2(&cx.region);
        let logical = &cx.step.resource.logical;
        let az = logical.trim_start_matches("nat-");
        if let Some(failed) = &cx.step.id {
            self.delete_nat(cx, failed).await?;
        }
        let subnet = self.id(ResourceKind::Subnet, &format!("public-{az}"))?;
        let address = self.id(ResourceKind::ElasticIp, &format!("nat-eip-{az}"))?;
        // A replacement for a failed gateway is another request: its token is salted with the
        // failed gateway's id.
        let token = self.token(cx.step, cx.step.id.as_deref().unwrap_or("first"))?;
        let out = self
            .eventually(cx, self.fresh(cx.step), || {
                self.send(
                    EC2,
                    &cx.region,
                    "CreateNatGateway",
                    ec2.create_nat_gateway()
                        .subnet_id(&subnet)
                        .allocation_id(&address)
                        .client_token(&token)
                        .tag_specifications(crate::tags::ec2_spec(
                            ResourceType::Natgateway,
                            &self.tags(cx.step),
                        ))
                        .send(),
                )
            })
            .await?;
        let id = out
            .nat_gateway()
            .and_then(|n| n.nat_gateway_id())
            .ok_or_else(|| missing(EC2, "CreateNatGateway", "NAT gateway id"))?
            .to_string();
        let what = format!("NAT gateway {id}");
        self.pause_before_looking(cx, &what).await;
        self.wait_for(cx, EC2, &what, || {
            self.nat_state(&cx.region, &id, "available")
        })
        .await?;
        Ok(id)
    }

    /// `None` once the NAT gateway is in `wanted`; its state otherwise (a failure is an error).
    async fn nat_state(
        &self,
        region: &str,
        id: &str,
        wanted: &str,
    ) -> Result<Option<String>, AwsError> {
        let ec2 = self.ctx.ec2(region);
        let out = self
            .read(
                EC2,
                region,
                "DescribeNatGateways",
                ec2.describe_nat_gateways().nat_gateway_ids(id).send(),
            )
            .await;
        let state = match tolerate_gone(out)? {
            Some(out) => out
                .nat_gateways()
                .first()
                .and_then(|n| n.state())
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "deleted".to_string()),
            None => "deleted".to_string(),
        };
        if state == wanted {
            Ok(None)
        } else if state == "failed" && wanted != "deleted" {
            Err(AwsError::Other {
                service: EC2,
                operation: "CreateNatGateway".to_string(),
                detail: format!("NAT gateway {id} failed; run `haven up` again to replace it"),
            })
        } else {
            Ok(Some(state))
        }
    }

    async fn delete_nat(&self, cx: &StepContext<'_>, id: &str) -> Result<(), AwsError> {
        let ec2 = self.ctx.ec2(&cx.region);
        let result = self
            .send(
                EC2,
                &cx.region,
                "DeleteNatGateway",
                ec2.delete_nat_gateway().nat_gateway_id(id).send(),
            )
            .await;
        if tolerate_gone(result)?.is_some() {
            self.wait_for(cx, EC2, &format!("NAT gateway {id} to be deleted"), || {
                self.nat_state(&cx.region, id, "deleted")
            })
            .await?;
        }
        Ok(())
    }

    /// Creates the table if needed, then makes its default route and associations match.
    async fn route_table(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let bp = self.blueprint()?;
        let ec2 = self.ctx.ec2(&cx.region);
        let logical = &cx.step.resource.logical;
        let spec = layout::route_tables(bp)
            .into_iter()
            .find(|t| t.logical == *logical)
            .ok_or_else(|| unsupported(cx.step))?;
        let existing = cx.step.id.as_ref().and_then(|id| {
            self.region(&cx.region)
                .and_then(|r| r.route_tables.iter().find(|t| t.id == *id))
        });
        let fresh = self.fresh(cx.step);
        let id = match &cx.step.id {
            Some(id) => id.clone(),
            None => {
                let vpc = self.id(ResourceKind::Vpc, "vpc")?;
                self.eventually(cx, fresh, || {
                    self.send(
                        EC2,
                        &cx.region,
                        "CreateRouteTable",
                        ec2.create_route_table()
                            .vpc_id(&vpc)
                            .tag_specifications(crate::tags::ec2_spec(
                                ResourceType::RouteTable,
                                &self.tags(cx.step),
                            ))
                            .send(),
                    )
                })
                .await?
                .route_table()
                .and_then(|t| t.route_table_id())
                .ok_or_else(|| missing(EC2, "CreateRouteTable", "route table id"))?
                .to_string()
            }
        };
        let wanted = match &spec.default_route {
            Some(DefaultRoute::InternetGateway) => Some(RouteTarget::InternetGateway(
                self.id(ResourceKind::InternetGateway, "igw")?,
            )),
            Some(DefaultRoute::Nat(nat)) => Some(RouteTarget::NatGateway(
                self.id(ResourceKind::NatGateway, nat)?,
            )),
            None => None,
        };
        let current = existing.and_then(|t| {
            t.routes
                .iter()
                .find(|r| r.destination == "0.0.0.0/0")
                .map(|r| &r.target)
        });
        match (current, &wanted) {
            (Some(now), Some(target)) if now == target => {}
            (now, Some(target)) => {
                let (gateway, nat) = match target {
                    RouteTarget::NatGateway(id) => (None, Some(id.clone())),
                    RouteTarget::InternetGateway(id) => (Some(id.clone()), None),
                    _ => (None, None),
                };
                if now.is_some() {
                    self.eventually(cx, fresh, || {
                        self.send(
                            EC2,
                            &cx.region,
                            "ReplaceRoute",
                            ec2.replace_route()
                                .route_table_id(&id)
                                .destination_cidr_block("0.0.0.0/0")
                                .set_gateway_id(gateway.clone())
                                .set_nat_gateway_id(nat.clone())
                                .send(),
                        )
                    })
                    .await?;
                } else {
                    self.eventually(cx, fresh, || {
                        self.send(
                            EC2,
                            &cx.region,
                            "CreateRoute",
                            ec2.create_route()
                                .route_table_id(&id)
                                .destination_cidr_block("0.0.0.0/0")
                                .set_gateway_id(gateway.clone())
                                .set_nat_gateway_id(nat.clone())
                                .send(),
                        )
                    })
                    .await?;
                }
            }
            (Some(_), None) => {
                self.send(
                    EC2,
                    &cx.region,
                    "DeleteRoute",
                    ec2.delete_route()
                        .route_table_id(&id)
                        .destination_cidr_block("0.0.0.0/0")
                        .send(),
                )
                .await?;
            }
            (None, None) => {}
        }
        for subnet in &spec.subnets {
            let subnet_id = self.id(ResourceKind::Subnet, subnet)?;
            let associated = existing.is_some_and(|t| {
                t.associations
                    .iter()
                    .any(|a| a.subnet_id.as_deref() == Some(subnet_id.as_str()))
            });
            if !associated {
                self.eventually(cx, fresh, || {
                    self.send(
                        EC2,
                        &cx.region,
                        "AssociateRouteTable",
                        ec2.associate_route_table()
                            .route_table_id(&id)
                            .subnet_id(&subnet_id)
                            .send(),
                    )
                })
                .await?;
            }
        }
        Ok(id)
    }

    async fn s3_endpoint(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let ec2 = self.ctx.ec2(&cx.region);
        let tables = cx
            .step
            .depends_on
            .iter()
            .filter(|d| d.kind == ResourceKind::RouteTable)
            .map(|d| self.id(d.kind, &d.logical))
            .collect::<Result<Vec<_>, _>>()?;
        let vpc = self.id(ResourceKind::Vpc, "vpc")?;
        let token = self.token(cx.step, "first")?;
        let out = self
            .eventually(cx, self.fresh(cx.step), || {
                self.send(
                    EC2,
                    &cx.region,
                    "CreateVpcEndpoint",
                    ec2.create_vpc_endpoint()
                        .vpc_id(&vpc)
                        .service_name(format!("com.amazonaws.{}.s3", cx.region))
                        .vpc_endpoint_type(VpcEndpointType::Gateway)
                        .set_route_table_ids(Some(tables.clone()))
                        .client_token(&token)
                        .tag_specifications(crate::tags::ec2_spec(
                            ResourceType::VpcEndpoint,
                            &self.tags(cx.step),
                        ))
                        .send(),
                )
            })
            .await?;
        out.vpc_endpoint()
            .and_then(|e| e.vpc_endpoint_id())
            .map(str::to_string)
            .ok_or_else(|| missing(EC2, "CreateVpcEndpoint", "endpoint id"))
    }

    /// Creates the group if needed, then authorizes the rules it lacks and revokes the ones the
    /// blueprint does not have.
    async fn security_group(&self, cx: &StepContext<'_>) -> Result<String, AwsError> {
        let bp = self.blueprint()?;
        let ec2 = self.ctx.ec2(&cx.region);
        let logical = cx.step.resource.logical.as_str();
        let spec = layout::security_groups(bp)
            .into_iter()
            .find(|g| g.logical == logical)
            .ok_or_else(|| unsupported(cx.step))?;
        let fresh = self.fresh(cx.step);
        let id = match &cx.step.id {
            Some(id) => id.clone(),
            None => {
                let vpc = self.id(ResourceKind::Vpc, "vpc")?;
                self.eventually(cx, fresh, || {
                    self.send(
                        EC2,
                        &cx.region,
                        "CreateSecurityGroup",
                        ec2.create_security_group()
                            .group_name(&cx.step.name)
                            .description(format!("haven {}: {}", self.stack, spec.description))
                            .vpc_id(&vpc)
                            .tag_specifications(crate::tags::ec2_spec(
                                ResourceType::SecurityGroup,
                                &self.tags(cx.step),
                            ))
                            .send(),
                    )
                })
                .await?
                .group_id()
                .ok_or_else(|| missing(EC2, "CreateSecurityGroup", "group id"))?
                .to_string()
            }
        };
        let group_id = |logical: &str| self.id(ResourceKind::SecurityGroup, logical).ok();
        let existing = self
            .region(&cx.region)
            .and_then(|r| r.security_groups.iter().find(|g| g.id == id));
        let (missing_rules, extra): (Vec<&RuleSpec>, Vec<&SecurityGroupRule>) = match existing {
            Some(group) => {
                let diff = layout::rule_diff(group, &spec.rules, &group_id);
                (diff.missing, diff.extra)
            }
            None => (spec.rules.iter().collect(), Vec::new()),
        };
        if !missing_rules.is_empty() {
            let permissions = missing_rules
                .iter()
                .map(|rule| {
                    let peer = match &rule.peer {
                        Peer::Cidr(c) => RulePeer::Cidr(c.clone()),
                        Peer::Group(l) => {
                            RulePeer::SecurityGroup(self.id(ResourceKind::SecurityGroup, l)?)
                        }
                    };
                    Ok(permission(&SecurityGroupRule {
                        protocol: "tcp".to_string(),
                        from_port: Some(rule.port),
                        to_port: Some(rule.port),
                        peer,
                        description: None,
                    }))
                })
                .collect::<Result<Vec<_>, AwsError>>()?;
            // A group just made, or a peer group just made, may not be known yet.
            let result = self
                .eventually(cx, fresh, || {
                    self.send(
                        EC2,
                        &cx.region,
                        "AuthorizeSecurityGroupIngress",
                        ec2.authorize_security_group_ingress()
                            .group_id(&id)
                            .set_ip_permissions(Some(permissions.clone()))
                            .send(),
                    )
                })
                .await;
            // A rule made by an interrupted run is already there.
            if !super::has_code(&result, &["InvalidPermission.Duplicate"]) {
                result?;
            }
        }
        if !extra.is_empty() {
            self.send(
                EC2,
                &cx.region,
                "RevokeSecurityGroupIngress",
                ec2.revoke_security_group_ingress()
                    .group_id(&id)
                    .set_ip_permissions(Some(extra.into_iter().map(permission).collect()))
                    .send(),
            )
            .await?;
        }
        Ok(id)
    }

    async fn delete_network(&self, cx: &StepContext<'_>) -> Result<(), AwsError> {
        use ResourceKind::*;
        let step = cx.step;
        let ec2 = self.ctx.ec2(&cx.region);
        let region = cx.region.as_str();
        let id = step.id.clone().ok_or_else(|| unsupported(step))?;
        const BUSY: &[&str] = &["DependencyViolation", "InvalidIPAddress.InUse"];
        let result = match step.resource.kind {
            NatGateway => return self.delete_nat(cx, &id).await,
            ElasticIp => self
                .retry_busy(cx, BUSY, || {
                    self.send(
                        EC2,
                        region,
                        "ReleaseAddress",
                        ec2.release_address().allocation_id(&id).send(),
                    )
                })
                .await
                .map(drop),
            VpcEndpoint => self.delete_vpc_endpoint(cx, &id).await,
            RouteTableAssociation => self
                .send(
                    EC2,
                    region,
                    "DisassociateRouteTable",
                    ec2.disassociate_route_table().association_id(&id).send(),
                )
                .await
                .map(drop),
            RouteTable => self
                .retry_busy(cx, BUSY, || {
                    self.send(
                        EC2,
                        region,
                        "DeleteRouteTable",
                        ec2.delete_route_table().route_table_id(&id).send(),
                    )
                })
                .await
                .map(drop),
            IgwAttachment => {
                let vpcs = self
                    .region(region)
                    .and_then(|r| r.internet_gateways.iter().find(|g| g.id == id))
                    .map(|g| g.attached_vpc_ids.clone())
                    .unwrap_or_default();
                for vpc in vpcs {
                    let detached = self
                        .retry_busy(cx, BUSY, || {
                            self.send(
                                EC2,
                                region,
                                "DetachInternetGateway",
                                ec2.detach_internet_gateway()
                                    .internet_gateway_id(&id)
                                    .vpc_id(&vpc)
                                    .send(),
                            )
                        })
                        .await;
                    tolerate_gone(detached)?;
                }
                Ok(())
            }
            InternetGateway => self
                .send(
                    EC2,
                    region,
                    "DeleteInternetGateway",
                    ec2.delete_internet_gateway()
                        .internet_gateway_id(&id)
                        .send(),
                )
                .await
                .map(drop),
            Subnet => self
                .retry_blocked(cx, &id, || {
                    self.send(
                        EC2,
                        region,
                        "DeleteSubnet",
                        ec2.delete_subnet().subnet_id(&id).send(),
                    )
                })
                .await
                .map(drop),
            SecurityGroupReferences => self.revoke_references(cx, &id).await,
            SecurityGroup => self
                .retry_blocked(cx, &id, || {
                    self.send(
                        EC2,
                        region,
                        "DeleteSecurityGroup",
                        ec2.delete_security_group().group_id(&id).send(),
                    )
                })
                .await
                .map(drop),
            Vpc => self
                .retry_blocked(cx, &id, || {
                    self.send(
                        EC2,
                        region,
                        "DeleteVpc",
                        ec2.delete_vpc().vpc_id(&id).send(),
                    )
                })
                .await
                .map(drop),
            _ => Err(unsupported(step)),
        };
        tolerate_gone(result).map(drop)
    }

    /// Deletes the endpoint. `DeleteVpcEndpoints` answers 200 even when it could not delete: the
    /// failures are in its `Unsuccessful` list (EC2 API Reference), which is read here so that the
    /// route table after it does not wait an hour on `DependencyViolation` for no reason.
    async fn delete_vpc_endpoint(&self, cx: &StepContext<'_>, id: &str) -> Result<(), AwsError> {
        let ec2 = self.ctx.ec2(&cx.region);
        let out = self
            .send(
                EC2,
                &cx.region,
                "DeleteVpcEndpoints",
                ec2.delete_vpc_endpoints().vpc_endpoint_ids(id).send(),
            )
            .await?;
        let failures: Vec<String> = out
            .unsuccessful()
            .iter()
            .filter_map(|item| {
                let error = item.error()?;
                let code = error.code().unwrap_or("unknown");
                (!code.contains("NotFound")).then(|| {
                    format!(
                        "{}: {code}: {}",
                        item.resource_id().unwrap_or(id),
                        error.message().unwrap_or_default()
                    )
                })
            })
            .collect();
        if failures.is_empty() {
            return Ok(());
        }
        Err(AwsError::Other {
            service: EC2,
            operation: "DeleteVpcEndpoints".to_string(),
            detail: format!(
                "EC2 accepted the call but did not delete the endpoint ({}); run `haven down` \
                 again, or delete it in the VPC console",
                failures.join("; ")
            ),
        })
    }

    /// Repeats a delete of a subnet, security group or VPC while AWS answers
    /// `DependencyViolation`, naming what still uses it. AWS releases the network interfaces of
    /// the stack's load balancer, NAT gateways, database and instances some minutes after they
    /// are deleted, so those are waited out; a dependency that is not the stack's (a person's
    /// instance or network interface, a subnet or security group made by hand, another group's
    /// rule that references ours) never goes away by itself, so the delete stops at once and
    /// names it.
    async fn retry_blocked<F, Fut, T>(
        &self,
        cx: &StepContext<'_>,
        id: &str,
        mut attempt: F,
    ) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, AwsError>>,
    {
        let started = std::time::Instant::now();
        let mut delay = self.options.first_poll;
        loop {
            let error = match attempt().await {
                Err(error)
                    if error.code().is_some_and(|c| {
                        c == "DependencyViolation" || c == "InvalidIPAddress.InUse"
                    }) =>
                {
                    error
                }
                other => return other,
            };
            let blockers = self.blockers(cx, id).await.unwrap_or_default();
            let foreign: Vec<&str> = blockers
                .iter()
                .filter(|b| !b.ours)
                .map(|b| b.what.as_str())
                .collect();
            let fail = |why: &str| AwsError::Other {
                service: EC2,
                operation: error.to_string(),
                detail: format!(
                    "{id} cannot be deleted: {why}. Remove or move them, then run `haven down` \
                     again",
                ),
            };
            if !foreign.is_empty() {
                return Err(fail(&format!(
                    "it is used by what is not part of stack {}: {}",
                    self.stack,
                    foreign.join("; ")
                )));
            }
            let listed: Vec<&str> = blockers.iter().map(|b| b.what.as_str()).collect();
            if started.elapsed() + delay > self.options.max_wait {
                return Err(if listed.is_empty() {
                    error
                } else {
                    fail(&format!("it is still used by {}", listed.join("; ")))
                });
            }
            (cx.report)(super::StepStatus::Waiting(if listed.is_empty() {
                format!("{id}: {error}")
            } else {
                format!("AWS to release {} (using {id})", listed.join("; "))
            }));
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.options.max_poll);
        }
    }

    /// What keeps a subnet, security group or VPC from being deleted: network interfaces in it,
    /// and for a VPC its subnets, route tables (but the main one) and security groups (but the
    /// default one), for a group the other groups' rules that reference it.
    async fn blockers(&self, cx: &StepContext<'_>, id: &str) -> Result<Vec<Blocker>, AwsError> {
        use aws_sdk_ec2::types::Filter;
        let ec2 = self.ctx.ec2(&cx.region);
        let region = self.region(&cx.region);
        let stack_instances: Vec<&str> = region
            .map(|r| {
                r.instances
                    .iter()
                    .filter(|i| in_stack(&i.tags, self.stack))
                    .map(|i| i.id.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let filter = |name: &str, value: &str| Filter::builder().name(name).values(value).build();
        let kind = cx.step.resource.kind;
        let eni_filter = match kind {
            ResourceKind::Vpc => "vpc-id",
            ResourceKind::Subnet => "subnet-id",
            _ => "group-id",
        };
        let mut out = Vec::new();
        let interfaces = self
            .read(
                EC2,
                &cx.region,
                "DescribeNetworkInterfaces",
                ec2.describe_network_interfaces()
                    .filters(filter(eni_filter, id))
                    .send(),
            )
            .await?;
        // Instances discovery did not see (launched since, e.g. by the group before it went):
        // the stack's by tag, or already on their way out.
        let unknown: Vec<String> = interfaces
            .network_interfaces()
            .iter()
            .filter_map(|eni| eni.attachment()?.instance_id())
            .filter(|i| !stack_instances.contains(i))
            .map(str::to_string)
            .collect();
        let mut leaving: Vec<String> = Vec::new();
        if !unknown.is_empty() {
            let described = self
                .read(
                    EC2,
                    &cx.region,
                    "DescribeInstances",
                    ec2.describe_instances()
                        .set_instance_ids(Some(unknown))
                        .send(),
                )
                .await;
            if let Some(out) = tolerate_gone(described)? {
                leaving.extend(
                    out.reservations()
                        .iter()
                        .flat_map(|r| r.instances())
                        .filter(|i| {
                            sdk_tags_in_stack(i.tags(), self.stack)
                                || i.state().and_then(|s| s.name()).is_some_and(|n| {
                                    matches!(n.as_str(), "shutting-down" | "terminated")
                                })
                        })
                        .filter_map(|i| i.instance_id().map(str::to_string)),
                );
            }
        }
        for eni in interfaces.network_interfaces() {
            let instance = eni.attachment().and_then(|a| a.instance_id());
            // Interfaces AWS manages for a service (load balancer, NAT gateway, RDS) and those
            // of the stack's own instances go when AWS has finished deleting them.
            let ours = eni.requester_managed().unwrap_or(false)
                || instance.is_some_and(|i| {
                    stack_instances.contains(&i) || leaving.iter().any(|l| l == i)
                });
            out.push(Blocker {
                what: format!(
                    "network interface {} ({}{})",
                    eni.network_interface_id().unwrap_or("?"),
                    eni.description()
                        .filter(|d| !d.is_empty())
                        .unwrap_or("no description"),
                    instance
                        .map(|i| format!(", attached to {i}"))
                        .unwrap_or_default()
                ),
                ours,
            });
        }
        if kind == ResourceKind::Vpc {
            let subnets = self
                .read(
                    EC2,
                    &cx.region,
                    "DescribeSubnets",
                    ec2.describe_subnets().filters(filter("vpc-id", id)).send(),
                )
                .await?;
            for subnet in subnets.subnets() {
                out.push(Blocker {
                    what: format!("subnet {}", subnet.subnet_id().unwrap_or("?")),
                    ours: sdk_tags_in_stack(subnet.tags(), self.stack),
                });
            }
            let tables = self
                .read(
                    EC2,
                    &cx.region,
                    "DescribeRouteTables",
                    ec2.describe_route_tables()
                        .filters(filter("vpc-id", id))
                        .send(),
                )
                .await?;
            for table in tables
                .route_tables()
                .iter()
                .filter(|t| !t.associations().iter().any(|a| a.main() == Some(true)))
            {
                out.push(Blocker {
                    what: format!("route table {}", table.route_table_id().unwrap_or("?")),
                    ours: sdk_tags_in_stack(table.tags(), self.stack),
                });
            }
            let groups = self
                .read(
                    EC2,
                    &cx.region,
                    "DescribeSecurityGroups",
                    ec2.describe_security_groups()
                        .filters(filter("vpc-id", id))
                        .send(),
                )
                .await?;
            for group in groups
                .security_groups()
                .iter()
                .filter(|g| g.group_name() != Some("default"))
            {
                out.push(Blocker {
                    what: format!(
                        "security group {} ({})",
                        group.group_id().unwrap_or("?"),
                        group.group_name().unwrap_or("?")
                    ),
                    ours: sdk_tags_in_stack(group.tags(), self.stack),
                });
            }
        }
        if kind == ResourceKind::SecurityGroup {
            for filter_name in ["ip-permission.group-id", "egress.ip-permission.group-id"] {
                let groups = self
                    .read(
                        EC2,
                        &cx.region,
                        "DescribeSecurityGroups",
                        ec2.describe_security_groups()
                            .filters(filter(filter_name, id))
                            .send(),
                    )
                    .await?;
                for group in groups
                    .security_groups()
                    .iter()
                    .filter(|g| g.group_id() != Some(id))
                {
                    out.push(Blocker {
                        what: format!(
                            "a rule of security group {} ({}) that references {id}",
                            group.group_id().unwrap_or("?"),
                            group.group_name().unwrap_or("?")
                        ),
                        ours: sdk_tags_in_stack(group.tags(), self.stack),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Revokes the rules of group `id` that reference groups of the stack, so that every group
    /// can then be deleted.
    async fn revoke_references(&self, cx: &StepContext<'_>, id: &str) -> Result<(), AwsError> {
        let ec2 = self.ctx.ec2(&cx.region);
        let Some(region) = self.region(&cx.region) else {
            return Ok(());
        };
        let stack_groups: Vec<&str> = region
            .security_groups
            .iter()
            .filter(|g| {
                g.tags.get(haven_model::plan::STACK_TAG).map(String::as_str) == Some(self.stack)
            })
            .map(|g| g.id.as_str())
            .collect();
        let Some(group) = region.security_groups.iter().find(|g| g.id == id) else {
            return Ok(());
        };
        let references = |rules: &[SecurityGroupRule]| -> Vec<IpPermission> {
            rules
                .iter()
                .filter(|r| matches!(&r.peer, RulePeer::SecurityGroup(p) if stack_groups.contains(&p.as_str())))
                .map(permission)
                .collect()
        };
        let ingress = references(&group.ingress);
        let egress = references(&group.egress);
        if !ingress.is_empty() {
            let result = self
                .send(
                    EC2,
                    &cx.region,
                    "RevokeSecurityGroupIngress",
                    ec2.revoke_security_group_ingress()
                        .group_id(id)
                        .set_ip_permissions(Some(ingress))
                        .send(),
                )
                .await;
            tolerate_gone(result)?;
        }
        if !egress.is_empty() {
            let result = self
                .send(
                    EC2,
                    &cx.region,
                    "RevokeSecurityGroupEgress",
                    ec2.revoke_security_group_egress()
                        .group_id(id)
                        .set_ip_permissions(Some(egress))
                        .send(),
                )
                .await;
            tolerate_gone(result)?;
        }
        Ok(())
    }
}

/// Something that keeps a network resource from being deleted.
struct Blocker {
    /// What it is, for people.
    what: String,
    /// The stack's own (AWS releases it in time) rather than someone else's.
    ours: bool,
}

fn in_stack(tags: &haven_model::topology::Tags, stack: &str) -> bool {
    tags.get(STACK_TAG).map(String::as_str) == Some(stack)
}

fn sdk_tags_in_stack(tags: &[aws_sdk_ec2::types::Tag], stack: &str) -> bool {
    tags.iter()
        .any(|t| t.key() == Some(STACK_TAG) && t.value() == Some(stack))
}
