// Decides IAM requests offline with a real policy evaluation engine, @cloud-copilot/iam-simulate
// (identity and resource policies, every condition operator, tag and context keys).
//
//   node evaluate.mjs < requests.json > decisions.json
//
// Input: {"requests": [{"principal", "policies": [{"name", "policy"}], "resource_policy"?,
//          "action", "resource", "account", "context": {key: value or [values]}}]}
// Output: one {"decision": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied"} per request, or
// {"error": "..."} when the engine refused the request as malformed (an unknown action, a
// resource of the wrong type, a context key the action does not take): the caller treats that
// as a failure, never as a decision. tests/tests/e2e/iam.rs builds the requests.
import { runSimulation } from '@cloud-copilot/iam-simulate'

async function decide(request) {
  const simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.account },
      contextVariables: request.context ?? {},
    },
    identityPolicies: request.policies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resource_policy,
  }
  const result = await runSimulation(simulation, {})
  if (result.resultType === 'error') {
    return { error: JSON.stringify(result.errors) }
  }
  if (result.resultType !== 'single') {
    return { error: `a ${result.resultType} result for one resource: ${request.resource}` }
  }
  return { decision: result.overallResult }
}

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const { requests } = JSON.parse(Buffer.concat(chunks).toString('utf8'))
const decisions = []
for (const request of requests) decisions.push(await decide(request))
process.stdout.write(JSON.stringify(decisions))
