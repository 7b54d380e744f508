"""tests/live.sh's assertions against recorded answers: each must fail on the answers that do
not prove its point, and pass on those that do. Run by tests/tests/e2e/live.rs:

    python -m unittest discover -s tests/live
"""

import contextlib
import io
import json
import os
import re
import unittest
from pathlib import Path

import checks
from checks import Failed

RECORDED = Path(__file__).parent / "recorded"
ROOT = Path(__file__).resolve().parents[2]

RESTART = "restart-service___restart_service"
CLEAN = "clean-logs___clean_logs"
STAGING = {"environment": "staging", "service": "api-gateway", "dry_run": True}
PRODUCTION = {"environment": "production", "service": "api-gateway", "dry_run": True}
CLEAN_PRODUCTION = {"log_group": "/agent-guard-live/fixture/production", "older_than_days": 1}


def recorded(name):
    return checks.load(RECORDED / f"{name}.json")


class AToolWasReached(unittest.TestCase):
    def test_passes_on_the_tools_report_and_its_call_record(self):
        verdict = checks.reached(
            RESTART, STAGING, recorded("reply_restart_staging_reached"), recorded("events_restart_staging_call")
        )
        self.assertIn("reached", verdict)

    def test_fails_on_a_gateway_that_answers_with_an_error_of_its_own(self):
        with self.assertRaisesRegex(Failed, "not a tool's report"):
            checks.reached(
                RESTART, STAGING, recorded("reply_gateway_error_not_reached"), recorded("events_restart_staging_call")
            )

    def test_fails_on_a_gateway_that_answers_with_json_that_is_no_report(self):
        with self.assertRaisesRegex(Failed, "not a tool's report"):
            checks.reached(
                RESTART, STAGING, recorded("reply_gateway_json_not_reached"), recorded("events_restart_staging_call")
            )

    def test_fails_on_another_tools_report(self):
        with self.assertRaisesRegex(Failed, "a report of `get-metrics___get_metrics`"):
            checks.reached(RESTART, STAGING, recorded("reply_other_tool"), recorded("events_restart_staging_call"))

    def test_fails_on_a_json_rpc_error(self):
        with self.assertRaisesRegex(Failed, "no tool result"):
            checks.reached(
                RESTART, STAGING, recorded("reply_denied_by_interceptor"), recorded("events_restart_staging_call")
            )

    def test_fails_without_the_tools_own_audit_record(self):
        for events in ["events_empty", "events_restart_other_arguments"]:
            with self.subTest(events), self.assertRaisesRegex(Failed, "no call-check record"):
                checks.reached(RESTART, STAGING, recorded("reply_restart_staging_reached"), recorded(events))


class TheAuthorizerRefused(unittest.TestCase):
    def test_passes_on_a_refusal_with_the_authorizers_deny_and_no_tool_record(self):
        verdict = checks.refused_by_authorizer(
            RESTART,
            PRODUCTION,
            recorded("reply_denied_by_interceptor"),
            recorded("events_authorizer_denied_production"),
            recorded("events_empty"),
        )
        self.assertIn("refused by the authorizer", verdict)

    def test_fails_when_the_call_reached_the_tool(self):
        with self.assertRaisesRegex(Failed, "reached a tool"):
            checks.refused_by_authorizer(
                RESTART,
                STAGING,
                recorded("reply_restart_staging_reached"),
                recorded("events_authorizer_denied_production"),
                recorded("events_empty"),
            )

    def test_fails_on_a_refusal_the_authorizer_did_not_record(self):
        with self.assertRaisesRegex(Failed, "no enforced deny"):
            checks.refused_by_authorizer(
                RESTART,
                PRODUCTION,
                recorded("reply_denied_by_engine"),
                recorded("events_authorizer_would_deny_production"),
                recorded("events_empty"),
            )

    def test_fails_when_the_function_recorded_the_call_anyway(self):
        with self.assertRaisesRegex(Failed, "its function recorded the call"):
            checks.refused_by_authorizer(
                RESTART,
                PRODUCTION,
                recorded("reply_denied_by_interceptor"),
                recorded("events_authorizer_denied_production"),
                recorded("events_restart_production_call"),
            )


class TheGatewayAloneRefused(unittest.TestCase):
    def test_passes_on_the_engines_refusal_with_the_authorizer_letting_it_through(self):
        verdict = checks.refused_by_gateway_alone(
            RESTART,
            PRODUCTION,
            recorded("reply_denied_by_engine"),
            recorded("events_authorizer_would_deny_production"),
            recorded("events_empty"),
        )
        self.assertIn("policy engine alone", verdict)

    def test_fails_when_the_authorizer_enforced_the_deny(self):
        with self.assertRaisesRegex(Failed, "not shown to be the engine alone"):
            checks.refused_by_gateway_alone(
                RESTART,
                PRODUCTION,
                recorded("reply_denied_by_interceptor"),
                recorded("events_authorizer_denied_production"),
                recorded("events_empty"),
            )

    def test_fails_when_the_tool_saw_the_call(self):
        with self.assertRaisesRegex(Failed, "the gateway did not stop it"):
            checks.refused_by_gateway_alone(
                RESTART,
                PRODUCTION,
                recorded("reply_denied_by_engine"),
                recorded("events_authorizer_would_deny_production"),
                recorded("events_restart_production_call"),
            )

    def test_fails_on_a_tools_report(self):
        with self.assertRaisesRegex(Failed, "reached a tool"):
            checks.refused_by_gateway_alone(
                RESTART,
                PRODUCTION,
                recorded("reply_restart_staging_reached"),
                recorded("events_authorizer_would_deny_production"),
                recorded("events_empty"),
            )


class ARealCleanDeleted(unittest.TestCase):
    def test_passes_when_the_reported_streams_are_gone(self):
        verdict = checks.deleted(
            recorded("reply_clean_staging_deleted"), recorded("streams_staging_before"), recorded("streams_staging_after")
        )
        self.assertIn("deleted 2 stream(s)", verdict)

    def test_fails_when_nothing_was_deleted_or_it_was_a_dry_run(self):
        for reply in ["reply_clean_staging_nothing", "reply_clean_staging_dry_run"]:
            with self.subTest(reply), self.assertRaises(Failed):
                checks.deleted(recorded(reply), recorded("streams_staging_before"), recorded("streams_staging_after"))

    def test_fails_when_a_reported_stream_is_still_there(self):
        with self.assertRaisesRegex(Failed, "still there"):
            checks.deleted(
                recorded("reply_clean_staging_deleted"),
                recorded("streams_staging_before"),
                recorded("streams_staging_before"),
            )

    def test_fails_on_a_gateway_that_never_reached_clean_logs(self):
        with self.assertRaisesRegex(Failed, "not a tool's report"):
            checks.deleted(
                recorded("reply_gateway_error_not_reached"),
                recorded("streams_staging_before"),
                recorded("streams_staging_after"),
            )


class IamRefusedWithTheGuardAllowing(unittest.TestCase):
    def test_passes_on_access_denied_with_the_guard_letting_it_through_and_nothing_gone(self):
        verdict = checks.refused_by_iam(
            recorded("reply_clean_production_access_denied"),
            recorded("streams_production"),
            recorded("streams_production"),
            recorded("events_clean_production"),
            CLEAN_PRODUCTION,
        )
        self.assertIn("IAM refused", verdict)

    def test_fails_when_the_guard_refused_instead(self):
        with self.assertRaisesRegex(Failed, "not refused by IAM"):
            checks.refused_by_iam(
                recorded("reply_clean_production_denied_by_guard"),
                recorded("streams_production"),
                recorded("streams_production"),
                recorded("events_clean_production"),
                CLEAN_PRODUCTION,
            )

    def test_fails_when_the_guard_did_not_let_it_through(self):
        with self.assertRaisesRegex(Failed, "did not let the call through"):
            checks.refused_by_iam(
                recorded("reply_clean_production_access_denied"),
                recorded("streams_production"),
                recorded("streams_production"),
                recorded("events_empty"),
                CLEAN_PRODUCTION,
            )

    def test_fails_when_a_stream_is_gone(self):
        with self.assertRaisesRegex(Failed, "streams are gone"):
            checks.refused_by_iam(
                recorded("reply_clean_production_access_denied"),
                recorded("streams_production"),
                recorded("streams_production_one_gone"),
                recorded("events_clean_production"),
                CLEAN_PRODUCTION,
            )

    def test_fails_on_a_gateway_that_never_reached_clean_logs(self):
        with self.assertRaisesRegex(Failed, "not a tool's report"):
            checks.refused_by_iam(
                recorded("reply_gateway_error_not_reached"),
                recorded("streams_production"),
                recorded("streams_production"),
                recorded("events_clean_production"),
                CLEAN_PRODUCTION,
            )


class ABudgetSlotWasTaken(unittest.TestCase):
    def test_passes_on_a_slot_of_the_tool_taken_since_the_run_began(self):
        self.assertIn("clean_logs#clean-log-groups#all#0", checks.budget_slot(recorded("scan_budget_slot"), "clean_logs", 1796291000))

    def test_fails_on_an_empty_table_an_older_slot_or_another_tools(self):
        for scan, tool, since in [
            ("scan_empty", "clean_logs", 0),
            ("scan_budget_slot", "clean_logs", 1796293000),
            ("scan_budget_slot", "terminate_instance", 0),
        ]:
            with self.subTest(scan=scan, tool=tool), self.assertRaisesRegex(Failed, "no slot"):
                checks.budget_slot(recorded(scan), tool, since)


class AnAlertWasDelivered(unittest.TestCase):
    ALARM = "agent-guard-live-1796292000-policy-block-alert"

    def test_passes_on_the_alarms_notification_in_the_queue(self):
        self.assertIn("delivered", checks.alert(recorded("sqs_policy_block_alarm"), self.ALARM))

    def test_fails_on_no_message_another_alarm_or_another_state(self):
        for messages in ["sqs_empty", "sqs_other_alarm"]:
            with self.subTest(messages), self.assertRaisesRegex(Failed, "no ALARM"):
                checks.alert(recorded(messages), self.ALARM)


class BeforeAnythingIsCreated(unittest.TestCase):
    def test_a_new_accounts_quota_refuses_any_reservation_and_allows_none(self):
        with self.assertRaisesRegex(Failed, "under Lambda's 100"):
            checks.quota(recorded("account_settings_new_account"), "2")
        self.assertIn("no concurrency reserved", checks.quota(recorded("account_settings_new_account"), "0"))
        self.assertIn("6 reservable", checks.quota(recorded("account_settings_default"), "2"))

    def test_permissions_fail_on_any_denied_action(self):
        self.assertIn("may do all", checks.permissions(recorded("simulation_allowed")))
        with self.assertRaisesRegex(Failed, "bedrock-agentcore:CreateGateway"):
            checks.permissions(recorded("simulation_no_agentcore"))
        with self.assertRaisesRegex(Failed, "not simulated"):
            checks.permissions({"EvaluationResults": []})

    def test_the_region_must_have_every_agentcore_type_path_a_creates(self):
        template = str(ROOT / "template.yaml")
        self.assertIn("every AgentCore type", checks.region("us-east-1", template))
        for region in ["cn-north-1", "us-gov-west-1", "af-south-1"]:
            with self.subTest(region), self.assertRaisesRegex(Failed, "no AgentCore policy engine"):
                checks.region(region, template)

    def test_an_assumed_role_is_simulated_as_its_role(self):
        self.assertEqual(checks.caller(recorded("caller_assumed_role")), "role Admin")
        with self.assertRaises(Failed):
            checks.caller({"Arn": "arn:aws:iam::123456789012:root"})


class Cleanup(unittest.TestCase):
    def test_finds_exactly_the_stacks_retained_audit_log_groups(self):
        found = checks.retained_groups(recorded("log_groups_after_delete"), "agent-guard-live-1796292000")
        self.assertEqual(
            found,
            [
                "/aws/lambda/agent-guard-live-1796292000-restart-service-audit-5e1d2c3b-0a1b-4c2d-8e3f-000000000001",
                "/aws/lambda/agent-guard-live-1796292000-authorizer-audit-5e1d2c3b-0a1b-4c2d-8e3f-000000000001",
            ],
        )


class TheCommandLine(unittest.TestCase):
    def run_main(self, *argv):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            status = checks.main(list(argv))
        return status, out.getvalue()

    def test_prints_pass_or_fail_and_exits_accordingly(self):
        events = str(RECORDED / "events_restart_staging_call.json")
        status, out = self.run_main(
            "reached", RESTART, json.dumps(STAGING), str(RECORDED / "reply_restart_staging_reached.json"), events
        )
        self.assertEqual((status, out[:5]), (0, "PASS:"))
        status, out = self.run_main(
            "reached", RESTART, json.dumps(STAGING), str(RECORDED / "reply_gateway_error_not_reached.json"), events
        )
        self.assertEqual((status, out[:5]), (1, "FAIL:"))

    def test_a_misuse_is_neither_pass_nor_fail(self):
        self.assertEqual(self.run_main("reached", RESTART)[0], 2)
        self.assertEqual(self.run_main("no-such-check")[0], 2)

    def test_live_sh_names_only_commands_that_exist(self):
        script = (ROOT / "tests" / "live.sh").read_text(encoding="utf-8")
        # `check X` or `must X` where a command starts: a line's start, `$(`, `&&`, `||`, `;`.
        at_command = re.compile(r"(?:^\s*|\$\(|&&\s*|\|\|\s*|;\s*)(?:check|must) ([a-z][a-z-]*)")
        used = {
            match.group(1)
            for line in script.splitlines()
            if not line.lstrip().startswith("#")
            for match in at_command.finditer(line)
        }
        self.assertGreaterEqual(len(used), 10, used)
        self.assertLessEqual(used, {*checks.COMMANDS, *checks.VALUES})


if __name__ == "__main__":
    os.chdir(Path(__file__).parent)
    unittest.main()
