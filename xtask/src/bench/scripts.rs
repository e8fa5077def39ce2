//! The AWS CLI baselines: shell scripts that do by hand, one `aws` process per call, what haven
//! does in one command. Each prints `calls N` at the end.

/// The inventory `haven snapshot` takes, the way the lab notes take it: every list of every
/// Region, then the per-resource calls (listeners, target health, template versions, IAM
/// details) in loops fed by `--query`. Arguments: the Regions, separated by spaces.
pub const INVENTORY: &str = r#"set -euo pipefail
export AWS_PAGER=""  # AWS CLI v2 pages by default; v1 never does
count=$(mktemp)
call() { echo >> "$count"; aws --endpoint-url "$AWS_ENDPOINT_URL" --output json "$@" > /dev/null; }
ask() { echo >> "$count"; aws --endpoint-url "$AWS_ENDPOINT_URL" --output text "$@"; }

for r in "$@"; do
  for what in describe-availability-zones describe-vpcs describe-subnets describe-route-tables \
      describe-internet-gateways describe-nat-gateways describe-addresses describe-security-groups \
      describe-instances describe-volumes; do
    call ec2 "$what" --region "$r"
  done
  call ec2 describe-images --owners self --region "$r"
  call ec2 describe-snapshots --owner-ids self --region "$r"
  for lt in $(ask ec2 describe-launch-templates --region "$r" --query 'LaunchTemplates[].LaunchTemplateId'); do
    call ec2 describe-launch-template-versions --launch-template-id "$lt" --region "$r"
  done
  call autoscaling describe-auto-scaling-groups --region "$r"
  call autoscaling describe-policies --region "$r"
  for lb in $(ask elbv2 describe-load-balancers --region "$r" --query 'LoadBalancers[].LoadBalancerArn'); do
    call elbv2 describe-listeners --load-balancer-arn "$lb" --region "$r"
    call elbv2 describe-load-balancer-attributes --load-balancer-arn "$lb" --region "$r"
  done
  for tg in $(ask elbv2 describe-target-groups --region "$r" --query 'TargetGroups[].TargetGroupArn'); do
    call elbv2 describe-target-health --target-group-arn "$tg" --region "$r"
    call elbv2 describe-target-group-attributes --target-group-arn "$tg" --region "$r"
  done
  for what in describe-db-instances describe-db-clusters describe-db-snapshots \
      describe-db-cluster-snapshots describe-db-subnet-groups; do
    call rds "$what" --region "$r"
  done
done

call sts get-caller-identity
for u in $(ask iam list-users --query 'Users[].UserName'); do
  call iam list-groups-for-user --user-name "$u"
  call iam list-attached-user-policies --user-name "$u"
  call iam list-access-keys --user-name "$u"
  call iam list-mfa-devices --user-name "$u"
  call iam get-login-profile --user-name "$u" 2> /dev/null || true
done
for g in $(ask iam list-groups --query 'Groups[].GroupName'); do
  call iam list-attached-group-policies --group-name "$g"
done
for role in $(ask iam list-roles --query 'Roles[].RoleName'); do
  call iam list-attached-role-policies --role-name "$role"
done
call iam list-instance-profiles
call iam get-account-password-policy 2> /dev/null || true
call iam get-account-summary
echo "calls $(wc -l < "$count")"
rm -f "$count"
"#;

/// Section 2 of the lab notes ("Network (VPC), as built with the CLI") in the shape of
/// `assets/blueprints/lab.toml`: VPC, a public and a private subnet in each of two AZs, an
/// internet gateway, the public route table, and the ALB → app → DB security-group chain.
pub const NETWORK: &str = r#"set -euo pipefail
export AWS_PAGER=""  # AWS CLI v2 pages by default; v1 never does
export AWS_DEFAULT_REGION=ap-northeast-2
count=$(mktemp)
ask() { echo >> "$count"; aws --endpoint-url "$AWS_ENDPOINT_URL" --output text "$@"; }
call() { echo >> "$count"; aws --endpoint-url "$AWS_ENDPOINT_URL" --output json "$@" > /dev/null; }
tags() { echo "ResourceType=$1,Tags=[{Key=Name,Value=$2},{Key=haven:stack,Value=cli}]"; }

vpc=$(ask ec2 create-vpc --cidr-block 10.0.0.0/16 --tag-specifications "$(tags vpc lab-vpc)" --query Vpc.VpcId)
call ec2 modify-vpc-attribute --vpc-id "$vpc" --enable-dns-hostnames
pub_a=$(ask ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.0.0.0/20 --availability-zone ap-northeast-2a --tag-specifications "$(tags subnet public-a)" --query Subnet.SubnetId)
pub_b=$(ask ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.0.16.0/20 --availability-zone ap-northeast-2b --tag-specifications "$(tags subnet public-b)" --query Subnet.SubnetId)
call ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.0.128.0/20 --availability-zone ap-northeast-2a --tag-specifications "$(tags subnet private-a)"
call ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.0.144.0/20 --availability-zone ap-northeast-2b --tag-specifications "$(tags subnet private-b)"
igw=$(ask ec2 create-internet-gateway --tag-specifications "$(tags internet-gateway lab-igw)" --query InternetGateway.InternetGatewayId)
call ec2 attach-internet-gateway --vpc-id "$vpc" --internet-gateway-id "$igw"
rtb=$(ask ec2 create-route-table --vpc-id "$vpc" --tag-specifications "$(tags route-table public)" --query RouteTable.RouteTableId)
call ec2 create-route --route-table-id "$rtb" --destination-cidr-block 0.0.0.0/0 --gateway-id "$igw"
for subnet in "$pub_a" "$pub_b"; do
  call ec2 associate-route-table --subnet-id "$subnet" --route-table-id "$rtb"
  call ec2 modify-subnet-attribute --subnet-id "$subnet" --map-public-ip-on-launch
done
alb=$(ask ec2 create-security-group --group-name lab-alb --vpc-id "$vpc" --description "ALB" --query GroupId)
app=$(ask ec2 create-security-group --group-name lab-app --vpc-id "$vpc" --description "app" --query GroupId)
db=$(ask ec2 create-security-group --group-name lab-db --vpc-id "$vpc" --description "DB" --query GroupId)
call ec2 authorize-security-group-ingress --group-id "$alb" --protocol tcp --port 80 --cidr 0.0.0.0/0
call ec2 authorize-security-group-ingress --group-id "$app" --protocol tcp --port 80 --source-group "$alb"
call ec2 authorize-security-group-ingress --group-id "$db" --protocol tcp --port 3306 --source-group "$app"
echo "calls $(wc -l < "$count")"
rm -f "$count"
"#;

/// The API actions of [`NETWORK`]: haven's calls of these are "the part they share".
pub const NETWORK_ACTIONS: [&str; 11] = [
    "CreateVpc",
    "ModifyVpcAttribute",
    "CreateSubnet",
    "ModifySubnetAttribute",
    "CreateInternetGateway",
    "AttachInternetGateway",
    "CreateRouteTable",
    "CreateRoute",
    "AssociateRouteTable",
    "CreateSecurityGroup",
    "AuthorizeSecurityGroupIngress",
];
