"""Local AWS emulator for the test suite: moto plus a CloudWatch RPC v2 CBOR adapter.

TEST INFRASTRUCTURE ONLY. Never expose it beyond the loopback interface.

Why this exists
---------------
The tests run the project's Lambda tools against moto (``moto[server]``). The
current Rust ``aws-sdk-cloudwatch`` speaks the Smithy RPC v2 CBOR protocol
(``smithy.protocols#rpcv2Cbor``), which moto does not implement (moto issue
9195). moto's CloudWatch backend does speak AWS JSON 1.0, and both protocols
carry the same operation shapes, so a thin WSGI middleware in front of moto
translates one into the other. We do not pin an old SDK to dodge the problem.

What the adapter does (https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html)
-------------------------------------------------------------------------------------------
Request: ``POST {prefix}/service/GraniteServiceVersion20100801/operation/<Op>``
with ``smithy-protocol: rpc-v2-cbor`` and a CBOR body (gzip-compressed when the
SDK's request compression kicks in, e.g. large PutMetricData). The body is
decoded (tag-1 timestamps -> epoch seconds, byte strings -> base64) and passed
to moto as ``POST /`` with ``Content-Type: application/x-amz-json-1.0`` and
``X-Amz-Target: GraniteServiceVersion20100801.<Op>``. The SigV4
``Authorization`` header is kept, so moto still picks service, region and
account from its credential scope (moto does not verify signatures).

Response: moto's JSON is re-encoded as CBOR, driven by botocore's CloudWatch
service model so every member gets its modelled CBOR type: timestamps become
tag 1 (epoch seconds), doubles are always CBOR floats (aws-sdk-rust refuses an
integer where a double is modelled), blobs become byte strings. Operations with
no output (``Unit``, e.g. PutMetricData) get an empty body and no Content-Type,
as the spec requires; other outputs always get a CBOR map, ``{}`` when empty
(aws-sdk-rust fails on an empty body there). Errors keep moto's status and
become a CBOR map ``{"__type": ..., "message": ...}``; moto's
``x-amzn-query-error`` header (CloudWatch is awsQueryCompatible) is passed on,
since the SDK takes the error code from it. Every translated response carries
``smithy-protocol: rpc-v2-cbor``. Anything else reaches moto untouched.

Usage: ``python tests/emulator/server.py --port PORT [--host 127.0.0.1]``.
``--port 0`` picks a free port. Once listening, exactly one line
``ready http://HOST:PORT`` is printed to stdout; the server then runs until
SIGTERM/SIGINT and exits 0. Logs go to stderr.
"""

import argparse
import base64
import datetime
import gzip
import io
import ipaddress
import json
import os
import re
import signal
import sys
import threading
import traceback
from http import HTTPStatus

import botocore.session
import cbor2
from botocore.utils import parse_timestamp
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

SERVICE = "GraniteServiceVersion20100801"  # CloudWatch's Smithy service shape name
SERVICE_NAMES = {SERVICE, "com.amazonaws.cloudwatch." + SERVICE}
RPC_PATH = re.compile(r"^(?:/.*)?/service/([^/]+)/operation/([^/]+)$")
CBOR = "application/cbor"


def cbor_to_json(value):
    """CBOR-decoded value -> JSON-ready value (awsJson wire forms)."""
    if isinstance(value, dict):
        return {k: cbor_to_json(v) for k, v in value.items() if v is not None and v is not cbor2.undefined}
    if isinstance(value, list):
        return [cbor_to_json(v) for v in value]
    if isinstance(value, datetime.datetime):  # cbor2 decodes tag 1 to datetime
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return None if value is cbor2.undefined else value


def json_to_cbor(value, shape):
    """JSON value -> CBOR-ready value, typed by the botocore shape (None: untyped)."""
    kind = shape.type_name if shape is not None else None
    if isinstance(value, dict) and kind == "structure":
        return {k: json_to_cbor(v, shape.members.get(k)) for k, v in value.items() if v is not None}
    if isinstance(value, dict):
        sub = shape.value if kind == "map" else None
        return {k: json_to_cbor(v, sub) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        sub = shape.member if kind == "list" else None
        return [json_to_cbor(v, sub) for v in value]
    if kind == "timestamp":
        if isinstance(value, str):  # a member with a non-default timestampFormat
            value = parse_timestamp(value).timestamp()
        return cbor2.CBORTag(1, float(value))
    if kind == "blob" and isinstance(value, str):
        return base64.b64decode(value)
    if kind in ("double", "float") and isinstance(value, (int, float, str)):
        return float(value)  # also "NaN"/"Infinity", which awsJson sends as strings
    if kind in ("integer", "long", "short", "byte") and isinstance(value, (int, float)):
        return int(value)
    return value


class CborAdapter:
    """WSGI middleware: rpcv2Cbor CloudWatch requests -> awsJson1.0 moto requests."""

    def __init__(self, app):
        self.app = app
        self.model = botocore.session.get_session().get_service_model("cloudwatch")

    def __call__(self, environ, start_response):
        match = RPC_PATH.match(environ.get("PATH_INFO", ""))
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or environ.get("HTTP_SMITHY_PROTOCOL", "").lower() != "rpc-v2-cbor"
            or not match
            or match.group(1) not in SERVICE_NAMES
        ):
            return self.app(environ, start_response)
        operation = match.group(2)
        if operation not in self.model.operation_names:
            return self.reply(start_response, 400, [], "UnknownOperationException",
                              f"Unknown operation {operation}")
        try:
            stream, length = environ["wsgi.input"], environ.get("CONTENT_LENGTH")
            chunked = not length and environ.get("wsgi.input_terminated")
            body = stream.read() if chunked else stream.read(int(length or 0))
            if environ.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
                body = gzip.decompress(body)
            payload = json.dumps(cbor_to_json(cbor2.loads(body)) if body else {}).encode()
        except Exception as exc:  # malformed CBOR, bad gzip, ...
            return self.reply(start_response, 400, [], "SerializationException", str(exc))

        inner = dict(environ)
        for key in ("HTTP_SMITHY_PROTOCOL", "HTTP_CONTENT_ENCODING", "HTTP_ACCEPT"):
            inner.pop(key, None)
        inner.update({
            "PATH_INFO": "/", "RAW_URI": "/", "REQUEST_URI": "/", "QUERY_STRING": "",
            "CONTENT_TYPE": "application/x-amz-json-1.0",
            "CONTENT_LENGTH": str(len(payload)),
            "HTTP_X_AMZ_TARGET": f"{SERVICE}.{operation}",
            "wsgi.input": io.BytesIO(payload),
        })
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = int(status.split()[0]), headers
            return lambda data: None

        try:
            result = self.app(inner, capture)
            try:
                raw = b"".join(result)
            finally:
                getattr(result, "close", lambda: None)()
        except Exception as exc:  # e.g. NotImplementedError for an op moto lacks
            traceback.print_exc()
            return self.reply(start_response, 500, [], "InternalFailure", f"moto: {exc!r}")
        status = captured["status"]
        drop = {"content-type", "content-length", "x-amzn-errortype"}
        headers = [(k, v) for k, v in captured["headers"] if k.lower() not in drop]
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError:
            data = None
        if status >= 300 or not isinstance(data, dict):
            data = data if isinstance(data, dict) else {}
            code = data.pop("__type", None) or ("InternalFailure" if status >= 500 else "UnknownError")
            lower, upper = data.pop("message", None), data.pop("Message", None)  # moto: Message
            message = lower or upper or raw.decode("utf-8", "replace")[:1000]
            return self.reply(start_response, status if status >= 300 else 500, headers,
                              code, message, data)
        shape = self.model.operation_model(operation).output_shape
        body = b"" if shape is None else cbor2.dumps(json_to_cbor(data, shape))
        return self.send(start_response, 200, headers, body)

    def reply(self, start_response, status, headers, code, message, extra=None):
        """Send an rpcv2Cbor error: a CBOR map with __type and message."""
        error = dict(extra or {}, __type=code, message=message)
        return self.send(start_response, status, headers, cbor2.dumps(json_to_cbor(error, None)))

    @staticmethod
    def send(start_response, status, headers, body):
        headers = headers + [("smithy-protocol", "rpc-v2-cbor"), ("Content-Length", str(len(body)))]
        if body:  # no Content-Type on the empty body of a Unit output (spec)
            headers.append(("Content-Type", CBOR))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [body]


class SeedControl:
    """WSGI middleware: ``POST /_seed/log-stream-age`` ages a log stream in moto's backend.

    Seeding only. CloudWatch Logs stamps a stream's creation and last ingestion with the time
    the events arrived, whatever the events' own timestamps say, and moto does the same: a test
    world cannot otherwise hold a stream that is really old. Body (JSON): ``account``,
    ``region``, ``group``, ``stream``, ``age_ms``. Sets the stream's creation and last
    ingestion time to ``age_ms`` ago. Answers 204, or 404 when the stream does not exist.
    """

    PATH = "/_seed/log-stream-age"

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != self.PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        from moto.logs.models import logs_backends

        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            body = json.loads(environ["wsgi.input"].read(length))
            backend = logs_backends[body["account"]][body["region"]]
            stream = backend.groups[body["group"]].streams[body["stream"]]
        except (KeyError, ValueError, TypeError) as exc:
            start_response("404 Not Found", [("Content-Length", "0")])
            print(f"seed: no such stream: {exc!r}", file=sys.stderr)
            return [b""]
        at = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(
            milliseconds=int(body["age_ms"]))
        stream.creation_time = at
        stream.last_ingestion_time = at
        start_response("204 No Content", [("Content-Length", "0")])
        return [b""]


class DynamoDbAtomic:
    """WSGI middleware: one DynamoDB request at a time.

    DynamoDB applies a conditional write atomically; moto checks the condition and writes in
    Python without a lock, so two threads of this server could both pass one condition. The
    budget tests prove that concurrent invocations never share a slot: they need the emulator
    to keep DynamoDB's guarantee, not to race where DynamoDB cannot.
    """

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="TCP port, 0 = any free port")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    args = parser.parse_args(argv)
    host = "127.0.0.1" if args.host == "localhost" else args.host
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        parser.error(f"refusing to bind non-loopback host {args.host!r}")

    app = SeedControl(DynamoDbAtomic(CborAdapter(DomainDispatcherApplication(create_backend_app))))
    server = make_server(host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    port = server.server_address[1]
    os.environ["MOTO_PORT"] = str(port)  # moto uses it when it calls itself

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    shown = f"[{host}]" if ":" in host else host
    print(f"ready http://{shown}:{port}", flush=True)
    sys.stdout = sys.stderr  # keep stdout to the single ready line
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
