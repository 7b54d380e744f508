#!/usr/bin/env bash
# The live check: the whole stack in a real AWS account, through the real gateway.
#
# NOT part of the test command (tests/run.sh never calls it) and never run by this repository's
# CI: it creates billable resources. Run it yourself in a sandbox account:
#
#   AWS_PROFILE=sandbox AWS_REGION=us-east-1 tests/live.sh
#
# It builds the functions (`sam build`, release arm64), deploys template.yaml with
# CreateGateway=true (gateway, Cognito, targets, the authorizer as interceptor in ENFORCE, a
# policy engine with the gateway policies in LOG_ONLY as the article starts, so that every deny
# below is the authorizer's, audited and counted; LIVE_POLICY_ENGINE_MODE=ENFORCE tries the
# engine too), takes a Cognito client_credentials token, replays the article's seven cases as
# MCP tools/call requests through the gateway (the mutating ones with dry_run: true, so nothing
# in the account changes), then checks that the production restart never reached its function
# (its audit log has no record of it, the authorizer's has the deny) and that the policy block
# alarm fired. It deletes the stack at the end, also on failure, and
# then the retained audit log groups (LIVE_KEEP_LOGS=1 keeps them).
#
# Needs: AWS credentials allowed to deploy the stack (CloudFormation, IAM, Lambda, Logs, KMS,
# SNS, CloudWatch, Cognito, AgentCore, S3 for the SAM artifacts bucket); a region with AgentCore
# Policy; the AWS CLI; python3 and curl; SAM CLI (tests/requirements-sam.txt); cargo-lambda and
# ziglang (tests/requirements.txt plus `pip install ziglang`); `rustup target add
# aarch64-unknown-linux-gnu`. Without credentials it prints "skipped" and exits 0.
# Takes about 30 minutes, most of it the release build and the alarm's evaluation.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! aws sts get-caller-identity >/dev/null 2>&1; then
  echo "skipped: no AWS credentials (tests/live.sh deploys into a real account)"
  exit 0
fi

REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION" SAM_CLI_TELEMETRY=0
STACK="${LIVE_STACK_NAME:-agent-guard-live-$(date +%s)}"
# Policy engine names are unique per account and region, and take no hyphen.
ENGINE="AgentGuardLive$(date +%s)"
ENGINE_MODE="${LIVE_POLICY_ENGINE_MODE:-LOG_ONLY}"
step() { printf '\n==> %s\n' "$*"; }
output() {
  aws cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

cleanup() {
  local status=$?
  step "deleting stack $STACK"
  local groups
  groups="$(output AuditLogGroups 2>/dev/null || true)"
  sam delete --stack-name "$STACK" --region "$REGION" --no-prompts || status=1
  if [ -n "$groups" ] && [ "${LIVE_KEEP_LOGS:-0}" != 1 ]; then
    for group in ${groups//,/ }; do
      aws logs delete-log-group --log-group-name "$group" || true
    done
  elif [ -n "$groups" ]; then
    echo "kept (retained by the stack): $groups"
  fi
  exit "$status"
}

step "building (sam build, release arm64)"
sam build

step "deploying $STACK in $REGION with CreateGateway=true"
trap cleanup EXIT
sam deploy --stack-name "$STACK" --region "$REGION" --resolve-s3 \
  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
  --no-confirm-changeset --no-fail-on-empty-changeset \
  --parameter-overrides CreateGateway=true PolicyEngineMode="$ENGINE_MODE" PolicyEngineName="$ENGINE"

GATEWAY_URL="$(output GatewayUrl)"
TOKEN_URL="$(output TokenUrl)"
POOL_ID="$(output CognitoUserPoolId)"
CLIENT_ID="$(output CognitoClientId)"
CLIENT_SECRET="$(aws cognito-idp describe-user-pool-client --user-pool-id "$POOL_ID" \
  --client-id "$CLIENT_ID" --query UserPoolClient.ClientSecret --output text)"
export GATEWAY_URL TOKEN_URL CLIENT_ID CLIENT_SECRET

step "the article's seven cases through the gateway"
python3 - <<'PY'
import base64, json, os, sys, urllib.parse, urllib.request

def post(url, data, headers):
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read().decode(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.read().decode(), e.headers.get("Content-Type", "")

basic = base64.b64encode(f"{os.environ['CLIENT_ID']}:{os.environ['CLIENT_SECRET']}".encode()).decode()
body, _ = post(os.environ["TOKEN_URL"],
               urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "agent-guard/tools"}).encode(),
               {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
token = json.loads(body)["access_token"]

def call(name, arguments, id_):
    body, kind = post(os.environ["GATEWAY_URL"],
                      json.dumps({"jsonrpc": "2.0", "id": id_, "method": "tools/call",
                                  "params": {"name": name, "arguments": arguments}}).encode(),
                      {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                       "Accept": "application/json, text/event-stream"})
    if "text/event-stream" in kind:
        body = next(l[5:].strip() for l in body.splitlines() if l.startswith("data:"))
    return json.loads(body)

# The article's test suite (dry_run added to the mutating tools: the decision is the same).
cases = [
    ("restart-service___restart_service", {"environment": "staging", "service": "api-gateway", "dry_run": True}, "ALLOW"),
    ("restart-service___restart_service", {"environment": "production", "service": "api-gateway", "dry_run": True}, "DENY"),
    ("terminate-instance___terminate_instance", {"environment": "dev", "instance_id": "i-test123", "dry_run": True}, "ALLOW"),
    ("terminate-instance___terminate_instance", {"environment": "production", "instance_id": "i-prod456", "dry_run": True}, "DENY"),
    ("clean-logs___clean_logs", {"log_group": "/aws/lambda/my-function", "dry_run": True}, "ALLOW"),
    ("clean-logs___clean_logs", {}, "DENY"),
    ("get-metrics___get_metrics", {"service_name": "api-gateway"}, "ALLOW"),
]
failed = 0
for n, (tool, arguments, expected) in enumerate(cases, 1):
    answer = call(tool, arguments, n)
    # A gateway-level deny (interceptor, policy engine or schema) is a JSON-RPC error; an allowed
    # call reaches its function, which may still refuse the (non-existent) resource: a result.
    decision = "DENY" if "error" in answer else "ALLOW"
    ok = decision == expected
    failed += not ok
    print(f"{'PASS' if ok else 'FAIL'} {n}/7 {tool} {json.dumps(arguments)}: {decision} "
          f"(expected {expected}) {json.dumps(answer)[:300]}")
print(f"{7 - failed}/7 passed")
sys.exit(1 if failed else 0)
PY

step "audit: the production restart never reached its function"
IFS=, read -r RESTART_LOGS _ _ _ AUTHORIZER_LOGS <<<"$(output AuditLogGroups)"
PRODUCTION='{ $.guard_audit.arguments.environment = "production" }'
count() {
  aws logs filter-log-events --log-group-name "$1" --filter-pattern "$2" \
    --query 'length(events)' --output text
}
for _ in $(seq 1 20); do
  [ "$(count "$AUTHORIZER_LOGS" "$PRODUCTION")" -gt 0 ] && break
  sleep 15
done
[ "$(count "$AUTHORIZER_LOGS" "$PRODUCTION")" -gt 0 ] || { echo "FAIL: no deny record in $AUTHORIZER_LOGS"; exit 1; }
[ "$(count "$RESTART_LOGS" "$PRODUCTION")" -eq 0 ] || { echo "FAIL: the production restart reached $RESTART_LOGS"; exit 1; }
echo "PASS: denied in the authorizer ($AUTHORIZER_LOGS), no record in $RESTART_LOGS"

step "alert: the policy block alarm fires"
for _ in $(seq 1 40); do
  STATE="$(aws cloudwatch describe-alarms --alarm-names "$STACK-policy-block-alert" \
    --query 'MetricAlarms[0].StateValue' --output text)"
  [ "$STATE" = ALARM ] && break
  sleep 15
done
[ "$STATE" = ALARM ] || { echo "FAIL: $STACK-policy-block-alert is $STATE"; exit 1; }
echo "PASS: $STACK-policy-block-alert is in ALARM"
