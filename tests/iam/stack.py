"""The stack's IAM, as CloudFormation would create it, worked out offline.

template.yaml goes through SAM's own translator (as `sam deploy` sends it, after `sam package`
has replaced the code and nested-stack locations with uploads), its nested stacks are read from
agentcore/, and every intrinsic function is resolved for one example account, region, stack
name and set of parameters. What comes out is what IAM will hold: every role with its policy
documents, the ARNs and tags of the stack's own resources those policies name, and the
functions' resource policies; and the resources that exist for these parameters (path A's
stages create more of them, one deploy after another).

    python stack.py [NAME=VALUE ...]     # template parameters; prints JSON on stdout

Runs with the SAM CLI's Python (.venv/sam: aws-sam-translator and cfn-lint, pinned in
tests/requirements-sam.txt). tests/tests/e2e/iam.rs feeds its output to evaluate.mjs.
"""

import json
import re
import sys
from pathlib import Path

from cfnlint.decode import decode
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
STACK = "agent-guard"
# A stack id's last part is a UUID; the template takes names from its first group.
STACK_UUID = "5e1d2c3b-0a1b-4c2d-8e3f-000000000001"
ARTIFACTS = f"https://s3.{REGION}.amazonaws.com/agent-guard-artifacts/"

NO_VALUE = object()


class Unresolvable(Exception):
    """An intrinsic function this resolver does not know: the output would be a guess."""


def load(path):
    template, errors = decode(str(path))
    if errors:
        raise SystemExit(f"{path}: {errors}")
    # cfn-lint's decoder marks strings with their position; plain JSON values from here on.
    return json.loads(json.dumps(template, default=str))


def packaged(template):
    """What `sam package` uploads: code to S3, nested templates to S3 (kept findable)."""
    for name, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            properties["CodeUri"] = f"s3://agent-guard-artifacts/{name}.zip"
        if resource["Type"] == "AWS::Serverless::Application":
            properties["Location"] = ARTIFACTS + properties["Location"]
    return template


class _NoManagedPolicies:
    """The functions name their own roles: SAM needs no managed policy ARNs."""

    def load(self):
        return {}


def translated(template, parameters):
    import boto3

    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": PARTITION}
    return translator.translate(
        template,
        parameter_values={**parameters, **pseudo},
        get_managed_policy_map=_NoManagedPolicies().load,
    )


class Stack:
    """One stack's resolved values."""

    def __init__(self, template, parameters, name, uuid):
        self.template = template
        self.name = name
        self.stack_id = f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/{uuid}"
        self.parameters = {}
        for key, spec in template.get("Parameters", {}).items():
            if key in parameters:
                value = parameters[key]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise SystemExit(f"{name}: parameter {key} has no value")
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = value.split(",")
            self.parameters[key] = value
        unknown = set(parameters) - set(self.parameters)
        if unknown:
            raise SystemExit(f"{name}: unknown parameters {sorted(unknown)}")
        self.resources = template.get("Resources", {})
        self.conditions = {}
        for condition in template.get("Conditions", {}):
            self.condition(condition)
        self.nested = {}

    # -- conditions ---------------------------------------------------------------------------
    def condition(self, name):
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self.conditions[name]

    def exists(self, logical):
        condition = self.resources[logical].get("Condition")
        return condition is None or self.condition(condition)

    # -- physical names and attributes ---------------------------------------------------------
    def physical(self, logical):
        resource = self.resources[logical]
        kind = resource["Type"]
        properties = resource.get("Properties", {})
        generated = f"{self.name}-{logical}-EXAMPLE0001"
        named = {
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::IAM::Role": "RoleName",
            "AWS::DynamoDB::Table": "TableName",
            "AWS::CloudWatch::Dashboard": "DashboardName",
        }
        if kind in named:
            given = properties.get(named[kind])
            if kind == "AWS::Lambda::Function" and given is None:
                # CloudFormation shortens generated function names to Lambda's 64 characters.
                return generated[:64]
            return self.resolve(given) if given is not None else generated
        if kind == "AWS::SNS::Topic":
            return f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{generated}"
        if kind == "AWS::KMS::Key":
            return "0a1b2c3d-0000-4000-8000-000000000000"
        if kind == "AWS::CloudFormation::Stack":
            return self.child(logical).stack_id
        return generated

    def attribute(self, logical, attribute):
        kind = self.resources[logical]["Type"]
        name = self.physical(logical)
        region = f"{PARTITION}:{{}}:{REGION}:{ACCOUNT}"
        arns = {
            ("AWS::Logs::LogGroup", "Arn"): lambda: f"arn:{region.format('logs')}:log-group:{name}:*",
            ("AWS::Lambda::Function", "Arn"): lambda: f"arn:{region.format('lambda')}:function:{name}",
            ("AWS::IAM::Role", "Arn"): lambda: f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}",
            ("AWS::DynamoDB::Table", "Arn"): lambda: f"arn:{region.format('dynamodb')}:table/{name}",
            ("AWS::KMS::Key", "Arn"): lambda: f"arn:{region.format('kms')}:key/{name}",
            ("AWS::SNS::Topic", "TopicArn"): lambda: name,
            ("AWS::BedrockAgentCore::PolicyEngine", "PolicyEngineArn"): lambda: (
                f"arn:{region.format('bedrock-agentcore')}:policy-engine/{self.engine_id(logical)}"
            ),
            ("AWS::BedrockAgentCore::PolicyEngine", "PolicyEngineId"): lambda: self.engine_id(logical),
            ("AWS::BedrockAgentCore::Gateway", "GatewayArn"): lambda: (
                f"arn:{region.format('bedrock-agentcore')}:gateway/example-gateway-a1b2c3d4e5"
            ),
            ("AWS::BedrockAgentCore::Gateway", "GatewayUrl"): lambda: (
                f"https://example-gateway-a1b2c3d4e5.gateway.bedrock-agentcore.{REGION}.amazonaws.com/mcp"
            ),
        }
        if (kind, attribute) in arns:
            return arns[(kind, attribute)]()
        if kind == "AWS::CloudFormation::Stack" and attribute.startswith("Outputs."):
            child = self.child(logical)
            output = child.template["Outputs"][attribute.removeprefix("Outputs.")]
            return child.resolve(output["Value"])
        raise Unresolvable(f"{self.name}: Fn::GetAtt {logical}.{attribute} ({kind})")

    def engine_id(self, logical):
        """AgentCore ids are the name and ten characters of its own."""
        return self.resolve(self.resources[logical]["Properties"]["Name"]) + "-a1b2c3d4e5"

    def child(self, logical):
        if logical not in self.nested:
            properties = self.resources[logical]["Properties"]
            url = properties["TemplateURL"]
            if not url.startswith(ARTIFACTS):
                raise Unresolvable(f"{self.name}: nested stack {logical} at {url}")
            parameters = {k: self.resolve(v) for k, v in properties.get("Parameters", {}).items()}
            parameters = {k: ",".join(v) if isinstance(v, list) else v for k, v in parameters.items()}
            template = load(ROOT / url.removeprefix(ARTIFACTS))
            self.nested[logical] = Stack(
                template, parameters, f"{self.name}-{logical}-EXAMPLE0002", STACK_UUID.replace("1", "2")
            )
        return self.nested[logical]

    # -- intrinsic functions -------------------------------------------------------------------
    def ref(self, name):
        pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::StackName": self.name,
            "AWS::StackId": self.stack_id,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.physical(name)
        raise Unresolvable(f"{self.name}: Ref {name}")

    def sub(self, text, variables):
        def replace(match):
            inner = match.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            if inner in variables:
                return str(variables[inner])
            if "." in inner and not inner.startswith("AWS::"):
                logical, attribute = inner.split(".", 1)
                return str(self.attribute(logical, attribute))
            return str(self.ref(inner))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def resolve(self, value):
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Condition":
                return self.condition(argument)
            if key == "Fn::GetAtt":
                logical, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.attribute(logical, attribute)
            if key == "Fn::Sub":
                if isinstance(argument, str):
                    return self.sub(argument, {})
                text, variables = argument
                return self.sub(text, {k: self.resolve(v) for k, v in variables.items()})
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(str(v) for v in self.resolve(items))
            if key == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = argument
                return self.resolve(text).split(separator)
            if key == "Fn::If":
                name, yes, no = argument
                return self.resolve(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                left, right = (self.resolve(v) for v in argument)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(argument[0])
            if key == "Fn::And":
                return all(self.resolve(v) for v in argument)
            if key == "Fn::Or":
                return any(self.resolve(v) for v in argument)
            if key.startswith("Fn::"):
                raise Unresolvable(f"{self.name}: {key}")
        out = {}
        for k, v in value.items():
            resolved = self.resolve(v)
            if resolved is not NO_VALUE:
                out[k] = resolved
        return out

    # -- what IAM holds ------------------------------------------------------------------------
    def iam(self, prefix=""):
        roles, functions, log_groups, tables, permissions = [], {}, {}, {}, []
        existing = []
        for logical, resource in self.resources.items():
            if not self.exists(logical):
                continue
            existing.append(prefix + logical)
            kind = resource["Type"]
            properties = resource.get("Properties", {})
            if kind == "AWS::IAM::Role":
                roles.append({
                    "name": prefix + logical,
                    "arn": self.attribute(logical, "Arn"),
                    "trust": self.resolve(properties["AssumeRolePolicyDocument"]),
                    "managed_policies": self.resolve(properties.get("ManagedPolicyArns", [])),
                    "policies": [
                        {"name": self.resolve(p["PolicyName"]), "document": self.resolve(p["PolicyDocument"])}
                        for p in properties.get("Policies", [])
                    ],
                })
            elif kind == "AWS::Lambda::Function":
                functions[prefix + logical] = {
                    "arn": self.attribute(logical, "Arn"),
                    "role": self.resolve(properties["Role"]),
                }
            elif kind == "AWS::Logs::LogGroup":
                log_groups[prefix + logical] = {
                    "name": self.physical(logical),
                    "arn": self.attribute(logical, "Arn"),
                    "tags": {t["Key"]: self.resolve(t["Value"]) for t in properties.get("Tags", [])},
                }
            elif kind == "AWS::DynamoDB::Table":
                tables[prefix + logical] = self.attribute(logical, "Arn")
            elif kind == "AWS::Lambda::Permission":
                permissions.append({
                    "name": prefix + logical,
                    "function": self.resolve(properties["FunctionName"]),
                    "action": properties["Action"],
                    "principal": self.resolve(properties["Principal"]),
                    "source_arn": self.resolve(properties.get("SourceArn")),
                })
            elif kind == "AWS::CloudFormation::Stack":
                nested = self.child(logical).iam(prefix=f"{prefix}{logical}/")
                roles += nested["roles"]
                functions.update(nested["functions"])
                log_groups.update(nested["log_groups"])
                tables.update(nested["tables"])
                permissions += nested["invoke_permissions"]
                existing += nested["resources"]
        return {
            "resources": existing,
            "roles": roles,
            "functions": functions,
            "log_groups": log_groups,
            "tables": tables,
            "invoke_permissions": permissions,
        }


def main(arguments):
    parameters = dict(a.split("=", 1) for a in arguments)
    template = translated(packaged(load(ROOT / "template.yaml")), parameters)
    stack = Stack(template, parameters, STACK, STACK_UUID)
    out = {"account": ACCOUNT, "region": REGION, "partition": PARTITION, "stack_name": STACK}
    out.update(stack.iam())
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
