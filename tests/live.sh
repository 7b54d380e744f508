#!/usr/bin/env bash
# The live check: the whole stack in a real AWS account, through the real gateway, asserting
# what only a live run can show - and nothing that could pass without showing it.
#
# NOT part of the test command (tests/run.sh never calls it) and never run by this repository's
# CI: it creates billable resources. Run it yourself in a sandbox account:
#
#   AWS_PROFILE=sandbox AWS_REGION=us-east-1 tests/live.sh          # the check (~45 minutes)
#   AWS_PROFILE=sandbox AWS_REGION=us-east-1 tests/live.sh seed     # a day ahead: the fixture
#
# What it asserts (each verdict is tests/live/checks.py's, which tests/tests/e2e/live.rs tests
# against recorded answers, failing ones first):
#  - before anything is created: the region has every AgentCore type path A needs, the
#    account's Lambda concurrency quota leaves 100 unreserved after the reservations asked
#    (LIVE_RESERVED_CONCURRENCY, default 0), and IAM's policy simulator says the caller may do
#    every action the run needs; the SAM CLI is the pinned one (tests/sam.sh);
#  - with GuardMode=ENFORCE and the policy engine in LOG_ONLY, the article's seven cases through
#    the gateway: each allowed call reached its tool (the reply is the tool's own report AND the
#    tool's log group holds its call record: a gateway answering `isError` on its own fails),
#    each denied call was refused by the authorizer (its deny record, no record in the tool);
#  - a real clean_logs on a staging group deletes its old streams, taking a slot of its budget
#    in the budget table (a write IAM allows only under its dynamodb:LeadingKeys condition);
#  - the policy block alarm's alert is delivered through the encrypted topic (to an SQS queue
#    subscribed for the run);
#  - with GuardMode=LOG_ONLY and the policy engine in ENFORCE, the gateway alone refuses the
#    article's production calls (the authorizer lets them through as would-deny, no tool sees
#    them), and a real clean_logs on a production group - the guard told to allow - is refused
#    by IAM (AccessDenied, not one stream gone): the third layer, live.
# The gateway runs with ExceptionLevel DEBUG so that a failure reads as what happened.
#
# The fixture: clean_logs deletes streams with no event for a day or more, and a stream's age
# cannot be faked, so the staging and production log groups under /agent-guard-live/fixture/
# (tagged Environment=staging and Environment=production) outlive each run, which adds a stream
# to each. A run with no staging stream a day old reports the real delete as PENDING and ends
# with status 3 (incomplete, never a pass): run `tests/live.sh seed` a day ahead, or run again.
# LIVE_DELETE_FIXTURE=1 deletes the fixture at the end.
#
# It deletes the stack at the end, also on failure, then the audit log groups the stack retains
# (found by name, also when the stack never finished; LIVE_KEEP_LOGS=1 keeps them), and the
# run's queue.
#
# Needs: AWS credentials (an IAM user or an assumed role, not root); the AWS CLI; python3;
# `rustup target add aarch64-unknown-linux-gnu` (run here); everything else it installs into
# .venv (cargo-lambda, ziglang, the pinned SAM CLI). Without credentials it prints "skipped"
# and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! aws sts get-caller-identity >/dev/null 2>&1; then
  echo "skipped: no AWS credentials (tests/live.sh deploys into a real account)"
  exit 0
fi

REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION" SAM_CLI_TELEMETRY=0
RUN="$(date +%s)"
STACK="${LIVE_STACK_NAME:-agent-guard-live-$RUN}"
RESERVED="${LIVE_RESERVED_CONCURRENCY:-0}"
FIXTURE=/agent-guard-live/fixture
WORK="$(mktemp -d)"
FAILED=0
PENDING=0
step() { printf '\n==> %s\n' "$*"; }

# The checks, and the tools live.sh needs from .venv (cargo-lambda and zig for `sam build`).
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check ziglang==0.17.1
check() { .venv/bin/python tests/live/checks.py "$@"; }
# A verdict that must hold; a failure is counted, and the run goes on to say what else holds.
must() { check "$@" || FAILED=$((FAILED + 1)); }

seed_fixture() {
  for environment in staging production; do
    aws logs create-log-group --log-group-name "$FIXTURE/$environment" \
      --tags "Environment=$environment,Purpose=agent-guard-live-fixture" 2>/dev/null || true
    aws logs create-log-stream --log-group-name "$FIXTURE/$environment" --log-stream-name "run-$RUN"
  done
  echo "fixture: a stream run-$RUN in $FIXTURE/staging and $FIXTURE/production"
}

if [ "${1:-}" = seed ]; then
  seed_fixture
  exit 0
fi

# ---------------------------------------------------------------------------------------------
step "pre-flight in $REGION: nothing is created until these pass"
tests/sam.sh --version
check region "$REGION"
aws lambda get-account-settings --output json >"$WORK/settings.json"
check quota "$WORK/settings.json" "$RESERVED"
aws sts get-caller-identity --output json >"$WORK/caller.json"
caller="$(check caller "$WORK/caller.json")" || { echo "$caller"; exit 1; }
read -r kind who <<<"$caller"
if [ "$kind" = role ]; then
  who="$(aws iam get-role --role-name "$who" --query Role.Arn --output text)"
fi
# shellcheck disable=SC2046 # one action per word
if ! aws iam simulate-principal-policy --policy-source-arn "$who" \
  --action-names $(check required-actions) --output json >"$WORK/simulation.json"; then
  echo "FAIL: IAM's policy simulator cannot be asked about $who (iam:SimulatePrincipalPolicy): the permissions are unchecked"
  exit 1
fi
check permissions "$WORK/simulation.json"
if aws cloudformation describe-stacks --stack-name "$STACK" >/dev/null 2>&1; then
  echo "FAIL: a stack $STACK exists already"
  exit 1
fi

step "fixture log groups"
seed_fixture

step "building (tests/sam.sh build: release arm64, cargo-lambda with zig)"
rustup target add aarch64-unknown-linux-gnu
PATH="$PWD/.venv/bin:$PATH" tests/sam.sh build

QUEUE_URL=""
cleanup() {
  local status=$?
  step "cleanup of $STACK"
  tests/sam.sh delete --stack-name "$STACK" --region "$REGION" --no-prompts || status=1
  aws logs describe-log-groups --log-group-name-prefix "/aws/lambda/$STACK-" --output json \
    >"$WORK/groups.json" || true
  local groups
  groups="$(check retained-groups "$WORK/groups.json" "$STACK" 2>/dev/null || true)"
  for group in $groups; do
    if [ "${LIVE_KEEP_LOGS:-0}" = 1 ]; then
      echo "kept (retained by the stack): $group"
    else
      aws logs delete-log-group --log-group-name "$group" && echo "deleted $group"
    fi
  done
  if [ -n "$QUEUE_URL" ]; then aws sqs delete-queue --queue-url "$QUEUE_URL" || true; fi
  if [ "${LIVE_DELETE_FIXTURE:-0}" = 1 ]; then
    aws logs delete-log-group --log-group-name "$FIXTURE/staging" || true
    aws logs delete-log-group --log-group-name "$FIXTURE/production" || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT

COMMON=(GatewayExceptionLevel=DEBUG "DestructiveToolConcurrency=$RESERVED")
step "deploying $STACK: path A in its three stages, GuardMode=ENFORCE, policy engine LOG_ONLY"
agentcore/deploy.sh "$STACK" GuardMode=ENFORCE PolicyEngineMode=LOG_ONLY "${COMMON[@]}"

output() {
  aws cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
GATEWAY_URL="$(output GatewayUrl)"
TOKEN_URL="$(output TokenUrl)"
CLIENT_ID="$(output CognitoClientId)"
CLIENT_SECRET="$(aws cognito-idp describe-user-pool-client --user-pool-id "$(output CognitoUserPoolId)" \
  --client-id "$CLIENT_ID" --query UserPoolClient.ClientSecret --output text)"
TABLE="$(output BudgetTableName)"
TOPIC="$(output PolicyBlockAlertTopicArn)"
IFS=, read -r RESTART_LOGS TERMINATE_LOGS CLEAN_LOGS METRICS_LOGS AUTHORIZER_LOGS <<<"$(output AuditLogGroups)"
declare -A GROUP=(
  [restart-service___restart_service]="$RESTART_LOGS"
  [terminate-instance___terminate_instance]="$TERMINATE_LOGS"
  [clean-logs___clean_logs]="$CLEAN_LOGS"
  [get-metrics___get_metrics]="$METRICS_LOGS"
)
export GATEWAY_URL TOKEN_URL CLIENT_ID CLIENT_SECRET
TOKEN="$(.venv/bin/python tests/live/mcp.py token)"
export TOKEN

step "an SQS queue subscribed to the alert topic, for this run"
QUEUE_URL="$(aws sqs create-queue --queue-name "$STACK-alerts" --query QueueUrl --output text)"
QUEUE_ARN="$(aws sqs get-queue-attributes --queue-url "$QUEUE_URL" --attribute-names QueueArn \
  --query Attributes.QueueArn --output text)"
.venv/bin/python - "$QUEUE_ARN" "$TOPIC" >"$WORK/queue.json" <<'PY'
import json, sys
queue, topic = sys.argv[1:]
policy = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
    "Resource": queue, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]}
json.dump({"Policy": json.dumps(policy)}, sys.stdout)
PY
aws sqs set-queue-attributes --queue-url "$QUEUE_URL" --attributes "file://$WORK/queue.json"
aws sns subscribe --topic-arn "$TOPIC" --protocol sqs --notification-endpoint "$QUEUE_ARN" >/dev/null

# The records of `group` since `start` (epoch ms), as `logs filter-log-events` answers.
fetch() {
  aws logs filter-log-events --log-group-name "$1" --start-time "$2" --output json >"$3"
}

# The article's seven cases (dry_run on the mutating ones: the decision is the same).
NAMES=(
  restart-service___restart_service restart-service___restart_service
  terminate-instance___terminate_instance terminate-instance___terminate_instance
  clean-logs___clean_logs clean-logs___clean_logs get-metrics___get_metrics
)
ARGUMENTS=(
  '{"environment":"staging","service":"api-gateway","dry_run":true}'
  '{"environment":"production","service":"api-gateway","dry_run":true}'
  '{"environment":"dev","instance_id":"i-test123","dry_run":true}'
  '{"environment":"production","instance_id":"i-prod456","dry_run":true}'
  '{"log_group":"/aws/lambda/my-function","dry_run":true}'
  '{}'
  '{"service_name":"api-gateway"}'
)

# Calls the seven cases, then asserts `expect[i]` of each. Audit records reach CloudWatch Logs
# within seconds to a minute or two: each verdict is retried every 15 s for up to 3 minutes,
# and once all hold, every one is taken again after 60 s more - a record arriving late can only
# turn a pass into a fail (a call that did reach a tool after all), never the other way.
cases() {
  local round="$1" start="$2"
  shift 2
  local expect=("$@") n verdict
  for n in "${!NAMES[@]}"; do
    .venv/bin/python tests/live/mcp.py call "${NAMES[$n]}" "${ARGUMENTS[$n]}" "$((n + 1))" \
      >"$WORK/$round-reply-$n.json"
  done
  verdict() {
    local n="$1" tool="${NAMES[$1]}"
    fetch "${GROUP[$tool]}" "$start" "$WORK/$round-tool-$n.json"
    fetch "$AUTHORIZER_LOGS" "$start" "$WORK/$round-authorizer-$n.json"
    case "${expect[$n]}" in
      reached)
        check reached "$tool" "${ARGUMENTS[$n]}" "$WORK/$round-reply-$n.json" "$WORK/$round-tool-$n.json" ;;
      refused-by-authorizer)
        check refused-by-authorizer "$tool" "${ARGUMENTS[$n]}" "$WORK/$round-reply-$n.json" \
          "$WORK/$round-authorizer-$n.json" "$WORK/$round-tool-$n.json" ;;
      refused-by-gateway-alone)
        check refused-by-gateway-alone "$tool" "${ARGUMENTS[$n]}" "$WORK/$round-reply-$n.json" \
          "$WORK/$round-authorizer-$n.json" "$WORK/$round-tool-$n.json" ;;
    esac
  }
  for n in "${!NAMES[@]}"; do
    for _ in $(seq 1 12); do
      verdict "$n" >/dev/null && break
      sleep 15
    done
  done
  sleep 60
  for n in "${!NAMES[@]}"; do
    printf '%s %s: ' "${NAMES[$n]}" "${ARGUMENTS[$n]}"
    verdict "$n" || FAILED=$((FAILED + 1))
  done
}

streams() {
  aws logs describe-log-streams --log-group-name "$1" --output json >"$2"
}

# ---------------------------------------------------------------------------------------------
step "round 1 - GuardMode=ENFORCE, policy engine LOG_ONLY: the authorizer decides"
START=$(($(date +%s) * 1000))
# The production restart (case 2) reaches its tool: the gateway lets production restart claims
# through to be approved by a person, and the tool denies it on the service's real tag.
cases one "$START" reached reached reached refused-by-authorizer \
  reached refused-by-authorizer reached

step "a real clean_logs on the staging fixture: deletes, and takes a budget slot"
STAGING_ARGUMENTS="{\"log_group\":\"$FIXTURE/staging\",\"older_than_days\":1}"
streams "$FIXTURE/staging" "$WORK/staging-before.json"
OLD_ENOUGH="$(.venv/bin/python -c '
import json, sys, time
streams = json.load(open(sys.argv[1])).get("logStreams", [])
print(sum(1 for s in streams if s["creationTime"] < (time.time() - 25 * 3600) * 1000))' \
  "$WORK/staging-before.json")"
.venv/bin/python tests/live/mcp.py call clean-logs___clean_logs "$STAGING_ARGUMENTS" 100 \
  >"$WORK/clean-staging.json"
streams "$FIXTURE/staging" "$WORK/staging-after.json"
if [ "$OLD_ENOUGH" -gt 0 ]; then
  must deleted "$WORK/clean-staging.json" "$WORK/staging-before.json" "$WORK/staging-after.json"
else
  echo "PENDING: no stream of $FIXTURE/staging is a day old yet (the fixture is new): the real delete is unchecked; run again tomorrow"
  PENDING=$((PENDING + 1))
fi
aws dynamodb scan --table-name "$TABLE" --output json >"$WORK/scan.json"
must budget-slot "$WORK/scan.json" clean_logs "$RUN"

step "the policy block alert, delivered through the encrypted topic to the run's queue"
# The alarm evaluates 5-minute periods: up to 10 minutes of polls (20 s long polls).
for i in $(seq 1 30); do
  aws sqs receive-message --queue-url "$QUEUE_URL" --max-number-of-messages 10 \
    --wait-time-seconds 20 --visibility-timeout 0 --output json >"$WORK/sqs-$i.json"
  check alert "$STACK-policy-block-alert" "$WORK"/sqs-*.json >/dev/null && break
done
must alert "$STACK-policy-block-alert" "$WORK"/sqs-*.json

# ---------------------------------------------------------------------------------------------
step "redeploying: GuardMode=LOG_ONLY, policy engine ENFORCE"
agentcore/deploy.sh "$STACK" GuardMode=LOG_ONLY PolicyEngineMode=ENFORCE "${COMMON[@]}"

step "round 2 - the guard only records: the gateway's policy engine alone refuses"
START=$(($(date +%s) * 1000))
cases two "$START" reached reached reached refused-by-gateway-alone \
  reached refused-by-gateway-alone reached

step "a real clean_logs on the production fixture, the guard allowing it: IAM refuses"
PRODUCTION_ARGUMENTS="{\"log_group\":\"$FIXTURE/production\",\"older_than_days\":1}"
streams "$FIXTURE/production" "$WORK/production-before.json"
.venv/bin/python tests/live/mcp.py call clean-logs___clean_logs "$PRODUCTION_ARGUMENTS" 101 \
  >"$WORK/clean-production.json"
streams "$FIXTURE/production" "$WORK/production-after.json"
for _ in $(seq 1 12); do
  fetch "$CLEAN_LOGS" "$START" "$WORK/clean-production-records.json"
  check refused-by-iam "$WORK/clean-production.json" "$WORK/production-before.json" \
    "$WORK/production-after.json" "$WORK/clean-production-records.json" "$PRODUCTION_ARGUMENTS" \
    >/dev/null && break
  sleep 15
done
must refused-by-iam "$WORK/clean-production.json" "$WORK/production-before.json" \
  "$WORK/production-after.json" "$WORK/clean-production-records.json" "$PRODUCTION_ARGUMENTS"

# ---------------------------------------------------------------------------------------------
step "verdict"
if [ "$FAILED" -gt 0 ]; then
  echo "FAILED: $FAILED check(s) did not hold"
  exit 1
fi
if [ "$PENDING" -gt 0 ]; then
  echo "INCOMPLETE: everything checked held; $PENDING check(s) could not run yet (see PENDING above)"
  exit 3
fi
echo "PASSED: every check held"
