#!/usr/bin/env bash
# Path A: template.yaml with CreateGateway=true, deployed in its three stages so that every
# resource exists before anything names it, and nothing AgentCore checks is seconds old.
#
#   agentcore/deploy.sh STACK [NAME=VALUE ...]     # run `tests/sam.sh build` first
#
#   engine   - the functions (refusing every call: linked to no gateway yet), their roles, the
#              budget table, the alarms; the policy engine, the gateway's role, Cognito.
#   gateway  - the gateway: its interceptor, role and engine all made by `engine`; the four
#              targets.
#   policies - the AgentCore policies, validated against targets made by `gateway`; the
#              functions linked to the gateway (GatewayArn = the gateway stage's output).
#
# A stack that has reached a stage is not taken back through the earlier ones: run the script
# again with other NAME=VALUE pairs and only `policies` is deployed, with them.
#
# Each stage waits for the previous one's stack to complete, the only wait AgentCore gets. If
# AgentCore has still not caught up - the gateway's role not yet usable to attach the engine, a
# policy validated before the engine sees the targets - CloudFormation rolls the update back to
# the previous stage's complete stack (one whose functions refuse every call until linked), and
# the stage is tried again after RETRY_WAIT seconds (60), at most RETRY_ATTEMPTS times (3). A
# stage that fails every attempt stops the script: the stack stays at the last stage that
# succeeded. The first stage creates the stack and is not retried: a failed creation leaves a
# stack to delete, not one to update.
#
# Every `sam` command is the pinned SAM CLI (tests/sam.sh). Needs AWS credentials allowed to
# deploy the stack, in a region where the template's rule allows CreateGateway=true.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi
STACK="$1"
shift
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
RETRY_WAIT="${RETRY_WAIT:-60}"
RETRY_ATTEMPTS="${RETRY_ATTEMPTS:-3}"
say() { printf '\n==> %s\n' "$*"; }

stack_output() {
  aws cloudformation describe-stacks --stack-name "$STACK" ${REGION:+--region "$REGION"} \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text 2>/dev/null || true
}

deploy() {
  tests/sam.sh deploy --stack-name "$STACK" ${REGION:+--region "$REGION"} --resolve-s3 \
    --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
    --no-confirm-changeset --no-fail-on-empty-changeset \
    --parameter-overrides CreateGateway=true "$@"
}

# The stage a stack has reached, from its own output ("" for no stack).
reached="$(stack_output AgentCoreStage)"
[ "$reached" = None ] && reached=""

stage() {
  local name="$1" attempt=1
  shift
  while true; do
    say "stage $name of $STACK (attempt $attempt of $RETRY_ATTEMPTS)"
    if deploy AgentCoreStage="$name" "$@"; then
      return 0
    fi
    if [ -z "$reached" ] || [ "$attempt" -ge "$RETRY_ATTEMPTS" ]; then
      echo "stage $name failed; the stack stays at stage '${reached:-none}'" >&2
      return 1
    fi
    echo "stage $name failed and was rolled back to stage '$reached'; AgentCore may not have" \
      "caught up with the previous stage yet: trying again in ${RETRY_WAIT}s" >&2
    sleep "$RETRY_WAIT"
    attempt=$((attempt + 1))
  done
}

if [ -z "$reached" ]; then
  stage engine "$@"
  reached=engine
fi
if [ "$reached" = engine ]; then
  stage gateway "$@"
  reached=gateway
fi
GATEWAY_ARN="$(stack_output GatewayArn)"
if [ -z "$GATEWAY_ARN" ] || [ "$GATEWAY_ARN" = None ]; then
  echo "the stack has no GatewayArn output after the gateway stage" >&2
  exit 1
fi
stage policies GatewayArn="$GATEWAY_ARN" "$@"
say "$STACK is complete: gateway $GATEWAY_ARN"
