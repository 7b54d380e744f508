"""The assertions of tests/live.sh, apart from AWS so that they can be tested.

live.sh calls AWS and the gateway, saves each answer as a JSON file, and asks this program
whether the answers show what they must:

    python checks.py COMMAND ARGUMENT...

Each command prints one line, `PASS: ...` or `FAIL: ...`, and exits 0 or 1 (2 for a misuse).
Nothing here may pass on an answer that does not prove its point: a gateway that answers
without reaching a tool, an alarm that fired without an alert delivered, a delete that deleted
nothing, a refusal nobody can attribute. test_checks.py feeds every command recorded answers,
failing ones first.

Standard library only (live.sh runs it with any Python 3), except `region`, which reads the
template's rule with cfn-lint's YAML reader (.venv).
"""

import inspect
import json
import re
import sys

# The tools' gateway names, and their log groups' name parts (template.yaml).
TOOLS = {
    "restart-service___restart_service": "restart-service",
    "terminate-instance___terminate_instance": "terminate-instance",
    "clean-logs___clean_logs": "clean-logs",
    "get-metrics___get_metrics": "get-metrics",
}
FUNCTION_PARTS = [*TOOLS.values(), "authorizer"]

# What deploying and running the live check needs, asked of IAM's policy simulator before
# anything is created (the SAM artifacts bucket, the stack and everything in it, the test's
# queue and log groups).
REQUIRED_ACTIONS = [
    "cloudformation:CreateChangeSet",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:DescribeStacks",
    "cloudformation:DeleteStack",
    "s3:CreateBucket",
    "s3:PutObject",
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:PassRole",
    "iam:DeleteRole",
    "lambda:CreateFunction",
    "lambda:GetAccountSettings",
    "lambda:PutFunctionConcurrency",
    "lambda:AddPermission",
    "logs:CreateLogGroup",
    "logs:PutMetricFilter",
    "logs:PutQueryDefinition",
    "logs:FilterLogEvents",
    "logs:DescribeLogStreams",
    "logs:DeleteLogGroup",
    "dynamodb:CreateTable",
    "dynamodb:Scan",
    "kms:CreateKey",
    "kms:ScheduleKeyDeletion",
    "sns:CreateTopic",
    "sns:Subscribe",
    "sqs:CreateQueue",
    "sqs:SetQueueAttributes",
    "sqs:ReceiveMessage",
    "sqs:DeleteQueue",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:PutDashboard",
    "cloudwatch:DescribeAlarms",
    "cognito-idp:CreateUserPool",
    "cognito-idp:CreateUserPoolClient",
    "cognito-idp:CreateUserPoolDomain",
    "cognito-idp:DescribeUserPoolClient",
    "bedrock-agentcore:CreateGateway",
    "bedrock-agentcore:CreateGatewayTarget",
    "bedrock-agentcore:CreatePolicyEngine",
    "bedrock-agentcore:CreatePolicy",
    "bedrock-agentcore:UpdateGateway",
    "bedrock-agentcore:DeleteGateway",
]

# Lambda keeps this much of the account's concurrency unreserved.
UNRESERVED_MINIMUM = 100
DESTRUCTIVE_TOOLS = 3


class Failed(Exception):
    """The answers do not show what they must."""


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# -- gateway replies and audit records --------------------------------------------------------


def tool_report(reply, tool):
    """The report `tool` (None: any tool) wrote into `reply`, or why `reply` is not one: a
    JSON-RPC result whose text is the tool's own JSON report, naming the tool it was checked
    as. A gateway that answers for a tool it never reached (`isError` with its own words) fails
    here."""
    if "result" not in reply:
        raise Failed(f"no tool result: {json.dumps(reply)[:300]}")
    content = reply["result"].get("content") or []
    texts = [c.get("text", "") for c in content if c.get("type") == "text"]
    if not texts:
        raise Failed(f"a result without text: {json.dumps(reply)[:300]}")
    try:
        report = json.loads(texts[0])
    except json.JSONDecodeError:
        raise Failed(f"not a tool's report (the gateway's own words?): {texts[0][:300]}") from None
    if not isinstance(report, dict) or report.get("status") not in ("ok", "denied", "error"):
        raise Failed(f"not a tool's report: {texts[0][:300]}")
    checked_as = (report.get("guard") or {}).get("tool")
    if tool is not None and checked_as != tool:
        raise Failed(f"a report of `{checked_as}`, not of `{tool}`")
    return report


def refusal(reply):
    """Why `reply` is a refusal at the gateway: a JSON-RPC error, or a result that is no
    tool's report (AgentCore's policy engine may answer either way)."""
    if "error" in reply:
        return reply["error"].get("message", json.dumps(reply["error"]))
    if "result" in reply:
        try:
            tool_report(reply, tool=None)
        except Failed:
            if reply["result"].get("isError"):
                return json.dumps(reply["result"])[:300]
            raise Failed(f"a successful result, not a refusal: {json.dumps(reply)[:300]}") from None
        # A tool's report: the call reached a function.
        raise Failed(f"the call reached a tool: {json.dumps(reply)[:300]}")
    raise Failed(f"neither a result nor an error: {json.dumps(reply)[:300]}")


def audit_records(events):
    """The audit records in a `logs filter-log-events` answer (lines without one skipped)."""
    records = []
    for event in events.get("events", []):
        try:
            line = json.loads(event["message"])
        except (json.JSONDecodeError, KeyError):
            continue
        if isinstance(line, dict) and isinstance(line.get("guard_audit"), dict):
            records.append(line["guard_audit"])
    return records


def records_of(records, tool, arguments, check=None):
    return [
        r
        for r in records
        if r.get("tool") == tool
        and r.get("arguments") == arguments
        and (check is None or r.get("check") == check)
    ]


def reached(tool, arguments, reply, tool_events):
    """The call reached its tool: the reply is the tool's report, and the tool's own log
    group holds its call-check record of these arguments."""
    report = tool_report(reply, tool)
    if not records_of(audit_records(tool_events), tool, arguments, check="call"):
        raise Failed(f"{tool} answered, but its log group has no call-check record of {json.dumps(arguments)}")
    return f"{tool} reached ({report['status']}: {report.get('message', '')[:120]})"


def refused_by_authorizer(tool, arguments, reply, authorizer_events, tool_events):
    """The authorizer refused the call at the gateway (ENFORCE): a refusal, the authorizer's
    deny record, and no record in the tool's own log group."""
    why = refusal(reply)
    denies = [
        r
        for r in records_of(audit_records(authorizer_events), tool, arguments, check="call")
        if r.get("outcome") == "deny" and r.get("enforced") is True
    ]
    if not denies:
        raise Failed(f"refused ({why[:120]}), but the authorizer recorded no enforced deny of it")
    if records_of(audit_records(tool_events), tool, arguments):
        raise Failed(f"the authorizer denied {tool}, yet its function recorded the call")
    return f"{tool} refused by the authorizer ({', '.join(denies[0].get('policies', [])) or 'no policy permits'})"


def refused_by_gateway_alone(tool, arguments, reply, authorizer_events, tool_events):
    """With the guard in LOG_ONLY, the gateway's policy engine refused the call by itself: a
    refusal, the authorizer let it through (its record a would-deny, not enforced), and the
    tool never saw it."""
    why = refusal(reply)
    passed = [
        r
        for r in records_of(audit_records(authorizer_events), tool, arguments, check="call")
        if r.get("outcome") == "would_deny" and r.get("enforced") is False
    ]
    if not passed:
        raise Failed(
            f"refused ({why[:120]}), but not shown to be the engine alone: the authorizer "
            "has no LOG_ONLY would-deny record of it"
        )
    if records_of(audit_records(tool_events), tool, arguments):
        raise Failed(f"{tool}'s function recorded the call: the gateway did not stop it")
    return f"{tool} refused by the gateway's policy engine alone ({why[:120]})"


# -- the third layer: a real clean_logs -----------------------------------------------------


def stream_names(described):
    return {s["logStreamName"] for s in described.get("logStreams", [])}


def deleted(reply, before, after):
    """clean_logs deleted old streams of a staging group, for real: its report says which,
    each existed before and none exists after."""
    report = tool_report(reply, "clean-logs___clean_logs")
    result = report.get("result") or {}
    if report["status"] != "ok" or result.get("dry_run") is not False:
        raise Failed(f"not a real clean: {report['status']}: {report.get('message', '')[:200]}")
    gone = set(result.get("deleted", []))
    if not gone:
        raise Failed(f"nothing was deleted: {report.get('message', '')[:200]}")
    missing = gone - stream_names(before)
    if missing:
        raise Failed(f"reported deleting streams that were not there: {sorted(missing)}")
    left = gone & stream_names(after)
    if left:
        raise Failed(f"reported deleted but still there: {sorted(left)}")
    return f"clean_logs deleted {len(gone)} stream(s): {', '.join(sorted(gone))}"


def refused_by_iam(reply, before, after, tool_events, arguments):
    """On a production group, with the guard told to allow (LOG_ONLY), IAM refused: the tool
    ran, its resource check would have denied and let the call through, AWS answered
    AccessDenied, and not one stream is gone."""
    report = tool_report(reply, "clean-logs___clean_logs")
    if report["status"] != "error" or "AccessDenied" not in report.get("message", ""):
        raise Failed(f"not refused by IAM: {report['status']}: {report.get('message', '')[:200]}")
    let_through = [
        r
        for r in records_of(audit_records(tool_events), "clean-logs___clean_logs", arguments, check="resource")
        if r.get("outcome") == "would_deny" and r.get("enforced") is False
    ]
    if not let_through:
        raise Failed("the guard did not let the call through (no LOG_ONLY would-deny record of the resource check)")
    if stream_names(before) - stream_names(after):
        raise Failed(f"streams are gone: {sorted(stream_names(before) - stream_names(after))}")
    return "IAM refused clean_logs on the production group with the guard allowing it"


def budget_slot(scan, tool, since):
    """A slot of `tool`'s budgets was written in the budget table since `since` (epoch
    seconds): the write under the `dynamodb:LeadingKeys` condition went through."""
    slots = [
        item
        for item in scan.get("Items", [])
        if item.get("budget", {}).get("S", "").startswith(f"{tool}#")
        and int(item.get("taken_at", {}).get("N", "0")) >= int(since)
        and item.get("holder", {}).get("S")
    ]
    if not slots:
        keys = sorted(item.get("budget", {}).get("S", "?") for item in scan.get("Items", []))
        raise Failed(f"no slot of {tool} taken since {since}; the table holds {keys}")
    return f"{tool} took budget slot {slots[0]['budget']['S']}#{slots[0]['slot']['N']}"


# -- the alert ----------------------------------------------------------------------------------


def alert(messages, alarm):
    """`alarm`'s ALARM notification was delivered through the topic to the test's queue."""
    seen = []
    for message in messages.get("Messages", []):
        try:
            envelope = json.loads(message["Body"])
            notification = json.loads(envelope["Message"])
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
        seen.append(f"{notification.get('AlarmName')}={notification.get('NewStateValue')}")
        if notification.get("AlarmName") == alarm and notification.get("NewStateValue") == "ALARM":
            return f"{alarm} delivered through the encrypted topic"
    raise Failed(f"no ALARM of {alarm} delivered; delivered: {seen or 'nothing'}")


# -- before anything is created --------------------------------------------------------------


def quota(settings, reserved_per_tool):
    """The account can deploy the reservations asked for: Lambda keeps 100 unreserved."""
    limit = settings["AccountLimit"]
    unreserved = limit["UnreservedConcurrentExecutions"]
    asked = DESTRUCTIVE_TOOLS * int(reserved_per_tool)
    if asked == 0:
        return f"no concurrency reserved (quota {limit['ConcurrentExecutions']}, {unreserved} unreserved)"
    if unreserved - asked < UNRESERVED_MINIMUM:
        raise Failed(
            f"reserving {asked} would leave {unreserved - asked} unreserved, under Lambda's "
            f"{UNRESERVED_MINIMUM} (quota {limit['ConcurrentExecutions']}): deploy with "
            "DestructiveToolConcurrency=0 or raise the quota"
        )
    return f"{asked} reservable ({unreserved} unreserved of {limit['ConcurrentExecutions']})"


def permissions(simulation):
    """The caller may do everything the live check does (IAM's policy simulator's answer)."""
    results = simulation.get("EvaluationResults", [])
    decided = {r["EvalActionName"]: r["EvalDecision"] for r in results}
    missing = [a for a in REQUIRED_ACTIONS if a not in decided]
    if missing:
        raise Failed(f"not simulated: {missing}")
    denied = sorted(a for a, d in decided.items() if d != "allowed")
    if denied:
        raise Failed(f"the caller may not: {', '.join(denied)}")
    return f"the caller may do all {len(decided)} actions the live check needs"


def region(name, template="template.yaml"):
    """Path A may be deployed in `name`: the template's own rule lists it."""
    from cfnlint.decode import decode

    parsed, errors = decode(template)
    if errors:
        raise Failed(f"{template}: {errors}")
    allowed = parsed["Rules"]["CreatedGatewayRegionHasAgentCore"]["Assertions"][0]["Assert"]["Fn::Contains"][0]
    if name not in allowed:
        raise Failed(f"{name} has no AgentCore policy engine for CreateGateway=true; use one of {', '.join(allowed)}")
    return f"{name} has every AgentCore type path A creates"


def caller(identity):
    """What to ask the policy simulator about: `role NAME` for an assumed role (live.sh looks
    up its ARN with its path), `arn ARN` for a user."""
    arn = identity["Arn"]
    assumed = re.match(r"^arn:[^:]+:sts::\d{12}:assumed-role/([^/]+)/", arn)
    if assumed:
        return f"role {assumed.group(1)}"
    if re.match(r"^arn:[^:]+:iam::\d{12}:user/", arn):
        return f"arn {arn}"
    raise Failed(f"{arn}: the policy simulator cannot be asked about this caller")


def retained_groups(described, stack):
    """The audit log groups a deleted `stack` left behind (they outlive it by design)."""
    pattern = re.compile(
        rf"^/aws/lambda/{re.escape(stack)}-({'|'.join(FUNCTION_PARTS)})-audit-[0-9a-f-]{{36}}$"
    )
    return [g["logGroupName"] for g in described.get("logGroups", []) if pattern.match(g["logGroupName"])]


# -- the command line --------------------------------------------------------------------------

COMMANDS = {
    "reached": (lambda tool, args, reply, events: reached(tool, json.loads(args), load(reply), load(events))),
    "refused-by-authorizer": (
        lambda tool, args, reply, authorizer, events: refused_by_authorizer(
            tool, json.loads(args), load(reply), load(authorizer), load(events)
        )
    ),
    "refused-by-gateway-alone": (
        lambda tool, args, reply, authorizer, events: refused_by_gateway_alone(
            tool, json.loads(args), load(reply), load(authorizer), load(events)
        )
    ),
    "deleted": (lambda reply, before, after: deleted(load(reply), load(before), load(after))),
    "refused-by-iam": (
        lambda reply, before, after, events, args: refused_by_iam(
            load(reply), load(before), load(after), load(events), json.loads(args)
        )
    ),
    "budget-slot": (lambda scan, tool, since: budget_slot(load(scan), tool, since)),
    "alert": (lambda alarm, *polls: alert({"Messages": [m for p in polls for m in load(p).get("Messages", [])]}, alarm)),
    "quota": (lambda settings, reserved: quota(load(settings), reserved)),
    "permissions": (lambda simulation: permissions(load(simulation))),
    "region": region,
}

# Commands that print a value for live.sh rather than a verdict.
VALUES = {
    "caller": (lambda identity: caller(load(identity))),
    "retained-groups": (lambda described, stack: "\n".join(retained_groups(load(described), stack))),
    "required-actions": (lambda: " ".join(REQUIRED_ACTIONS)),
}


def main(argv):
    known = {**COMMANDS, **VALUES}
    if not argv or argv[0] not in known:
        print(f"usage: checks.py {{{','.join(known)}}} ARGUMENT...", file=sys.stderr)
        return 2
    command, arguments = argv[0], argv[1:]
    try:
        inspect.signature(known[command]).bind(*arguments)
    except TypeError as misuse:
        print(f"usage: checks.py {command}: {misuse}", file=sys.stderr)
        return 2
    try:
        if command in VALUES:
            print(VALUES[command](*arguments))
            return 0
        print(f"PASS: {COMMANDS[command](*arguments)}")
        return 0
    except Failed as failure:
        print(f"FAIL: {failure}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
