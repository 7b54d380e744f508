"""The agent's side of tests/live.sh: a Cognito client_credentials token, and MCP `tools/call`
requests to the gateway, each answer saved as the JSON-RPC message it is.

    python mcp.py token                      # TOKEN_URL, CLIENT_ID, CLIENT_SECRET
    python mcp.py call NAME ARGUMENTS ID     # GATEWAY_URL, TOKEN; prints the reply

Standard library only.
"""

import base64
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request


def post(url, data, headers):
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read().decode(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.read().decode(), e.headers.get("Content-Type", "")


def token():
    basic = base64.b64encode(f"{os.environ['CLIENT_ID']}:{os.environ['CLIENT_SECRET']}".encode()).decode()
    body, _ = post(
        os.environ["TOKEN_URL"],
        urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "agent-guard/tools"}).encode(),
        {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    return json.loads(body)["access_token"]


def call(name, arguments, id_):
    body, kind = post(
        os.environ["GATEWAY_URL"],
        json.dumps(
            {"jsonrpc": "2.0", "id": id_, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
        ).encode(),
        {
            "Authorization": f"Bearer {os.environ['TOKEN']}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
    )
    if "text/event-stream" in kind:
        body = next(line[5:].strip() for line in body.splitlines() if line.startswith("data:"))
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        # Kept as an answer the checks will refuse (it is neither a result nor an error).
        return {"unparsed": body[:2000]}


if __name__ == "__main__":
    if sys.argv[1:2] == ["token"]:
        print(token())
    elif sys.argv[1:2] == ["call"] and len(sys.argv) == 5:
        json.dump(call(sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])), sys.stdout)
    else:
        sys.exit(__doc__)
