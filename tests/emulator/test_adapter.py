"""Self-check for tests/emulator/server.py (no pytest needed).

Run: ``python tests/emulator/test_adapter.py``. Starts the emulator on a free
loopback port, sends CloudWatch requests encoded exactly as aws-sdk-rust's
rpcv2Cbor client does (CBOR body built by hand, SigV4-signed with fake
credentials for us-east-1), checks the CBOR answers, checks that a plain EC2
Query request still reaches moto untouched, prints a summary and exits non-zero
on any failure.
"""

import datetime
import gzip
import http.client
import os
import select
import subprocess
import sys
import tempfile
import time
import traceback

import cbor2
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CREDS = Credentials("AKIAIOSFODNN7EXAMPLE", "fake-secret-key")
REGION = "us-east-1"
NOW = int(time.time()) // 60 * 60
DIMS = [{"Name": "ClusterName", "Value": "c1"}, {"Name": "ServiceName", "Value": "web"}]
VALUES = [10.0, 20.0, 30.0]


def ts(seconds):
    return cbor2.CBORTag(1, float(seconds))  # how the SDK encodes a timestamp


def sdk_cbor(value):
    """Encode like aws-sdk-rust: structures as indefinite-length maps, lists definite."""
    if isinstance(value, dict):
        return b"\xbf" + b"".join(cbor2.dumps(k) + sdk_cbor(v) for k, v in value.items()) + b"\xff"
    if isinstance(value, list):
        head = cbor2.dumps(len(value))  # unsigned-int head, turned into an array head
        return bytes([0x80 | head[0] & 0x1F]) + head[1:] + b"".join(sdk_cbor(v) for v in value)
    return cbor2.dumps(value)


def signed(base, service, path, body, headers):
    request = AWSRequest(method="POST", url=base + path, data=body, headers=headers)
    SigV4Auth(CREDS, service, REGION).add_auth(request)
    return dict(request.headers.items())


def call(base, operation, payload, compress=False):
    body = sdk_cbor(payload)
    headers = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor",
               "Accept": "application/cbor", "x-amzn-query-mode": "true"}
    if compress:
        body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
    path = f"/service/GraniteServiceVersion20100801/operation/{operation}"
    return post(base, path, body, signed(base, "monitoring", path, body, headers))


def post(base, path, body, headers):
    conn = http.client.HTTPConnection(base.split("//")[1], timeout=30)
    conn.request("POST", path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data


def cbor_ok(status, headers, data):
    assert status == 200, (status, data)
    assert headers.get("smithy-protocol") == "rpc-v2-cbor", headers
    assert headers.get("content-type") == "application/cbor", headers
    return cbor2.loads(data)


def check_put(base):
    data = [{"MetricName": "CPUUtilization", "Dimensions": DIMS, "Timestamp": ts(NOW - 120 + i * 30),
             "Value": v, "Unit": "Percent"} for i, v in enumerate(VALUES)]
    status, headers, body = call(base, "PutMetricData", {"Namespace": "AWS/ECS", "MetricData": data})
    assert status == 200 and body == b"", (status, body)  # Unit output: empty body
    assert headers.get("smithy-protocol") == "rpc-v2-cbor" and "content-type" not in headers, headers
    # the SDK gzips PutMetricData bodies >= 10 KiB; the adapter must inflate them
    big = [dict(d, MetricName="MemoryUtilization", Value=1.0) for d in data for _ in range(60)]
    status, _, body = call(base, "PutMetricData", {"Namespace": "AWS/ECS", "MetricData": big}, compress=True)
    assert status == 200 and body == b"", (status, body)


def check_get_metric_data(base):
    query = {"Id": "cpu", "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": "AWS/ECS", "MetricName": "CPUUtilization", "Dimensions": DIMS},
        "Period": 60, "Stat": "Average"}}
    out = cbor_ok(*call(base, "GetMetricData", {
        "MetricDataQueries": [query], "StartTime": ts(NOW - 600), "EndTime": ts(NOW + 60)}))
    result = out["MetricDataResults"][0]
    assert result["Id"] == "cpu" and result["StatusCode"] == "Complete", result
    assert sorted(result["Values"]) == [15.0, 30.0], result  # 10,20 share a minute
    assert all(type(v) is float for v in result["Values"]), result
    stamps = result["Timestamps"]
    assert stamps and all(isinstance(t, datetime.datetime) for t in stamps), stamps  # tag 1


def check_get_metric_statistics(base):
    out = cbor_ok(*call(base, "GetMetricStatistics", {
        "Namespace": "AWS/ECS", "MetricName": "CPUUtilization", "Dimensions": DIMS,
        "StartTime": ts(NOW - 600), "EndTime": ts(NOW + 60), "Period": 600,
        "Statistics": ["Average", "Maximum", "SampleCount"]}))
    assert out["Label"] == "CPUUtilization", out
    (point,) = out["Datapoints"]
    assert point["Average"] == 20.0 and point["Maximum"] == 30.0, point
    assert type(point["SampleCount"]) is float, point  # double, even when integral
    assert isinstance(point["Timestamp"], datetime.datetime), point


def check_list_metrics(base):
    out = cbor_ok(*call(base, "ListMetrics", {"Namespace": "AWS/ECS"}))
    names = {m["MetricName"] for m in out["Metrics"]}  # moto lists one entry per datapoint
    assert names == {"CPUUtilization", "MemoryUtilization"}, names
    assert out["Metrics"][0]["Dimensions"] == DIMS, out
    empty = cbor_ok(*call(base, "ListMetrics", {"Namespace": "Nothing/Here"}))
    assert empty.get("Metrics", []) == [], empty  # still a CBOR map


def check_errors(base):
    bad = {"MetricDataQueries": [{"Id": "x", "MetricStat": {"Metric": {"MetricName": "m"},
           "Period": 60, "Stat": "Average"}}], "StartTime": ts(NOW + 60), "EndTime": ts(NOW)}
    # moto 5.2.5 has no DescribeAnomalyDetectors: its crash must still come back as CBOR
    for payload, op, code in ((bad, "GetMetricData", 400), ({}, "NoSuchOperation", 400),
                              ({}, "DescribeAnomalyDetectors", 500)):
        status, headers, body = call(base, op, payload)
        assert status == code and headers.get("smithy-protocol") == "rpc-v2-cbor", (status, headers)
        assert headers.get("content-type") == "application/cbor", headers
        error = cbor2.loads(body)
        assert isinstance(error.get("__type"), str) and isinstance(error.get("message"), str), error
        print(f"     {op}: {status} {error} query-error={headers.get('x-amzn-query-error')}")
    path = "/service/GraniteServiceVersion20100801/operation/ListMetrics"
    headers = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"}
    status, headers, body = post(base, path, b"\xff", signed(base, "monitoring", path, b"\xff", headers))
    assert status == 400 and cbor2.loads(body)["__type"] == "SerializationException", body


def check_ec2_passthrough(base):
    body = b"Action=DescribeInstances&Version=2016-11-15"
    headers = signed(base, "ec2", "/", body, {"Content-Type": "application/x-www-form-urlencoded"})
    status, headers, data = post(base, "/", body, headers)
    assert status == 200 and b"<DescribeInstancesResponse" in data, (status, data[:300])
    assert "smithy-protocol" not in headers, headers


def check_model_typing(_base):
    """Typing comes from botocore's model, not from what moto happened to emit."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    import server
    shape = server.CborAdapter(None).model.operation_model("GetMetricStatistics").output_shape
    out = server.json_to_cbor({"Datapoints": [{"SampleCount": 3, "Maximum": "NaN",
                                                "Timestamp": "2024-01-01T00:00:00Z"}]}, shape)
    point = cbor2.loads(cbor2.dumps(out))["Datapoints"][0]
    assert type(point["SampleCount"]) is float and point["SampleCount"] == 3.0, point
    assert point["Maximum"] != point["Maximum"], point  # NaN
    assert point["Timestamp"] == datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc), point


def main():
    server = os.path.join(os.path.dirname(os.path.abspath(__file__)), "server.py")
    log = tempfile.TemporaryFile(mode="w+")  # server's stderr, shown on failure
    proc = subprocess.Popen([sys.executable, server, "--port", "0"], stdout=subprocess.PIPE,
                            stderr=log, text=True)
    results = []
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        line = proc.stdout.readline().strip() if ready else "(no ready line within 120 s)"
        assert line.startswith("ready http://127.0.0.1:"), f"unexpected first line {line!r}"
        base = line.split()[1]
        for check in (check_put, check_get_metric_data, check_get_metric_statistics,
                      check_list_metrics, check_errors, check_ec2_passthrough, check_model_typing):
            try:
                check(base)
                results.append((check.__name__, True))
                print(f"OK   {check.__name__}")
            except Exception:
                results.append((check.__name__, False))
                print(f"FAIL {check.__name__}\n{traceback.format_exc(limit=3)[-3000:]}")
    finally:
        proc.terminate()
        code = proc.wait(timeout=15)
    refused = subprocess.run([sys.executable, server, "--port", "0", "--host", "0.0.0.0"],
                             capture_output=True, text=True, timeout=60)
    results.append(("clean_exit_on_sigterm", code == 0))
    results.append(("refuses_non_loopback", refused.returncode != 0 and not refused.stdout))
    for name, ok in results[-2:]:
        print(f"{'OK  ' if ok else 'FAIL'} {name}")
    failed = sum(not ok for _, ok in results)
    if failed:
        log.seek(0)
        print("--- server stderr (tail) ---\n" + log.read()[-4000:])
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
