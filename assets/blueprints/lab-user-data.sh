#!/bin/bash
# User data for the lab's web tier (Amazon Linux 2023): a web server that answers
#   GET /health  -> 200 "ok"      (the target group's health check)
#   GET /        -> this instance's id and Availability Zone
# No secret belongs here: the database password lives in Secrets Manager and is read with the
# instance role.
set -euo pipefail

dnf install -y nginx

# IMDSv2: a session token first, then the metadata.
TOKEN=$(curl -sf -X PUT "http://169.254.169.254/latest/api/token" \
  -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
meta() {
  curl -sf -H "X-aws-ec2-metadata-token: $TOKEN" "http://169.254.169.254/latest/meta-data/$1"
}
INSTANCE_ID=$(meta instance-id)
AZ=$(meta placement/availability-zone)

cat > /usr/share/nginx/html/index.html <<HTML
<h1>haven lab</h1>
<p>instance ${INSTANCE_ID} in ${AZ}</p>
HTML

cat > /etc/nginx/default.d/health.conf <<'NGINX'
location = /health {
    default_type text/plain;
    return 200 "ok\n";
}
NGINX

systemctl enable --now nginx
