"""Runs moto's server on loopback with the patches securequeue's tests need.

moto 5.2.5 differs from AWS in ways that would make a correct operator look wrong. Each patch
below makes the emulator behave as AWS documents; none makes the operator's job easier:

- SQS accepts RedriveAllowPolicy but never stores or returns it: store and return it.
- SQS SetQueueAttributes without `Policy` wipes the queue policy: keep it.
- SQS reports SqsManagedSseEnabled=true even for a queue encrypted with a KMS key: report false.
- SQS reports CreatedTimestamp and LastModifiedTimestamp with fractions of a second: AWS reports
  whole seconds since the epoch.
- KMS ignores EnableKeyRotation's RotationPeriodInDays: store it and return it from
  GetKeyRotationStatus, as AWS does.
- The account: moto's MOTO_ACCOUNT_ID puts every request in one account, even one signed with
  credentials from STS AssumeRole into another. The emulator instead plays
  SECUREQUEUE_EMULATOR_ACCOUNT_ID for the static test credentials, and the role's account for
  credentials AssumeRole returned, as AWS does.

It also serves a fault-injection endpoint for the tests, `/_securequeue/faults`. POST a JSON
object to add a fault; DELETE clears every fault, or with `?bodyContains=X` those scoped to X.
A fault matches requests by
- "operation": the X-Amz-Target suffix, such as `CreateKey`, or "*" for any;
- "service" (optional): "kms", "sqs" or "sts";
- "bodyContains" (optional): a string the request body must contain;
and does to each of the next "count" matching requests (default 1), in this order:
- "delayMs": waits that long first (a slow answer, to outlast the client's timeout);
- "drop": true closes the connection without an answer;
- "code", "status", "message": answers with that AWS error instead of moto.
With "ratePerSecond" instead of "count", the fault is a rate limit: requests within the rate
pass, and only those beyond it (in any one-second window) suffer the fault, until cleared.

A chaos fault, POST {"chaos": {"seed": 7, "probability": 0.3}, "bodyContains": X}, strikes
every write call (any KMS or SQS operation but Get*, List* and Describe*) whose body contains X
independently: with that probability a call meets one trouble, on every attempt the SDK makes
of it (the same amz-sdk-invocation-id):
- "throttle": the service's throttling error, for "throttledCalls" calls in a row of the same
  request (default 9: the operator sends a throttled call again at its budget's next turn);
- "5xx": InternalFailure, HTTP 500, before the request takes effect;
- "lost": the request takes effect, then the connection is dropped without an answer;
- "slow": the request takes effect, and its answer comes "slowMs" later (default 2500), after
  the client has given up on it.
"troubles" limits the choice (default all four). Whether and how a call is struck depends only
on the seed, the operation and how many calls of it the fault has seen, so a seed replays the
same troubles where a SecureQueue's calls come in the same order.

Faults match STS requests too ("service": "sts", "operation": "AssumeRole"), answered in STS's
XML. It records every KMS, SQS and STS request it is sent, outermost, before quotas and faults: GET
`/_securequeue/requests?bodyContains=X` answers [{"service": "sqs", "operation": "TagQueue",
"accessKey": "testing", "at": 1796000000.123}, ...] for the recorded requests whose body contains
X, in the order they came, with the access key that signed each and when it arrived (seconds
since the epoch), so a test can prove that a pass, or one of two processes, sent no write
touching its resources, or none after a given moment.

Quota mode enforces AWS's default request quotas per (region, service, operation), answering
calls beyond them as AWS does (KMS ThrottlingException, SQS RequestThrottled, both HTTP 400). The
region is the one in the request's SigV4 credential scope; requests without one are not counted.
Off by default. Switched on
- at start-up by SECUREQUEUE_EMULATOR_QUOTAS: `aws` is the documented defaults (AWS_QUOTAS) in
  every region, optionally followed by overrides, `aws,kms:CreateKey=20,sqs:CreateQueue=50`;
  overrides alone, `sqs:CreateQueue=2`, are the only quotas;
- at run time, per region, through `/_securequeue/quotas`, which takes precedence for that region:
  - POST {"region": "eu-west-3", "defaults": true, "quotas": {"kms:CreateKey": 5}} sets that
    region's quotas: the documented defaults if "defaults" is true (default false), then "quotas";
    the region's buckets start full and its counts at zero;
  - DELETE ?region=eu-west-3 drops that region's setting (and counts), so the start-up setting
    applies to it again; DELETE without a region drops every region's setting and all counts;
  - GET (and every answer) is {"quotas": {region or "*" for the start-up setting: {"kms:CreateKey":
    5, ...}}, "counts": {region: {"kms:CreateKey": {"allowed": 12, "throttled": 3}}}}; a request
    is counted when its operation has a quota in its region.
A quota is a whole number of requests per second, >= 0 (0 throttles every call); a bad setting
is answered 400 {"error": ...}. Quotas are checked before faults: a throttled call takes no fault.

Usage: moto_server.py PORT
"""

import io
import json
import os
import random
import re
import socket
import sys
import threading
import time
import uuid

from moto.kms import models as kms_models
from moto.kms import responses as kms_responses
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.sqs import models as sqs_models
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response


def patch_sqs() -> None:
    queue = sqs_models.Queue
    original_set = queue._set_attributes
    original_attributes = queue.attributes.fget

    def set_attributes(self, attributes, now=None):
        if "Policy" not in attributes:
            attributes = dict(attributes, Policy=getattr(self, "policy", None))
        original_set(self, attributes, now)

    def attributes(self):
        result = original_attributes(self)
        allow = getattr(self, "redrive_allow_policy", None)
        if allow:
            result["RedriveAllowPolicy"] = allow
        if self.kms_master_key_id:
            result["SqsManagedSseEnabled"] = "false"
        for stamp in ("CreatedTimestamp", "LastModifiedTimestamp"):
            if stamp in result:
                result[stamp] = str(int(float(result[stamp])))
        return result

    queue._set_attributes = set_attributes
    queue.attributes = property(attributes)


def patch_kms() -> None:
    backend = kms_models.KmsBackend
    handler = kms_responses.KmsResponse

    def enable_key_rotation(self, key_id, rotation_period_in_days=365):
        key = self.keys[self.get_key_id(key_id)]
        key.key_rotation_status = True
        key.rotation_period_in_days = rotation_period_in_days

    def enable_key_rotation_response(self):
        key_id = self._get_param("KeyId")
        self._validate_cmk_id(key_id)
        period = self._get_param("RotationPeriodInDays") or 365
        self.kms_backend.enable_key_rotation(key_id, int(period))
        return json.dumps(None)

    def get_key_rotation_status_response(self):
        key_id = self._get_param("KeyId")
        self._validate_cmk_id(key_id)
        key = self.kms_backend.keys[self.kms_backend.get_key_id(key_id)]
        status = {"KeyId": key.arn, "KeyRotationEnabled": key.key_rotation_status}
        if key.key_rotation_status:
            status["RotationPeriodInDays"] = getattr(key, "rotation_period_in_days", 365)
        return json.dumps(status)

    backend.enable_key_rotation = enable_key_rotation
    handler.enable_key_rotation = enable_key_rotation_response
    handler.get_key_rotation_status = get_key_rotation_status_response


def patch_accounts() -> None:
    from moto.iam import models as iam_models

    iam_models.DEFAULT_ACCOUNT_ID = os.environ["SECUREQUEUE_EMULATOR_ACCOUNT_ID"]


SERVICES = {"TrentService": "kms", "AmazonSQS": "sqs"}


def target(request, body: str):
    """The (service, operation) a request calls: KMS and SQS name it in X-Amz-Target, STS (the
    query protocol) in the body's Action; ("", "") for anything else."""
    prefix, _, operation = request.headers.get("X-Amz-Target", "").rpartition(".")
    if prefix in SERVICES:
        return SERVICES[prefix], operation
    action = re.search(r"(?:^|&)Action=([A-Za-z]+)", body)
    if action and "/sts/" in request.headers.get("Authorization", ""):
        return "sts", action[1]
    return "", ""


def sts_error(code: str, message: str, status: int):
    """An STS error as AWS's query protocol answers it."""
    payload = (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return Response(payload, status=status, content_type="text/xml")


def read_again(request, environ) -> str:
    """The request's body as text, put back in the stream for the next reader (moto reads
    it again from the stream this drains)."""
    raw = request.get_data()
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))
    return raw.decode("utf-8", "replace")


def is_write(service: str, operation: str) -> bool:
    """Whether a KMS or SQS operation may change something: all but the reads."""
    return service in ("kms", "sqs") and not operation.startswith(("Get", "List", "Describe"))


class Chaos:
    """Independent trouble for every write call in one scope (see the module's documentation)."""

    TROUBLES = ("throttle", "5xx", "lost", "slow")

    def __init__(self, setting: dict, scope: str):
        self.scope = scope
        self.seed = setting["seed"]
        self.probability = float(setting["probability"])
        self.troubles = setting.get("troubles", list(self.TROUBLES))
        if not self.troubles or any(t not in self.TROUBLES for t in self.troubles):
            raise ValueError(f"troubles must be some of {self.TROUBLES}")
        self.slow_ms = setting.get("slowMs", 2500)
        self.throttled_calls = setting.get("throttledCalls", 9)
        self.struck = {}  # invocation id: the trouble every attempt of that call meets
        self.throttling = {}  # (service, operation, body): throttled calls of it still to come
        self.seen = {}  # (service, operation): calls drawn for

    def trouble(self, request, service: str, operation: str, body: str):
        """The trouble this request meets, or None; called under the Faults' lock."""
        if not is_write(service, operation) or self.scope not in body:
            return None
        invocation = request.headers.get("amz-sdk-invocation-id") or str(uuid.uuid4())
        if invocation in self.struck:
            return self.struck[invocation]
        call = (service, operation, body)
        if self.throttling.get(call, 0) > 0:
            self.throttling[call] -= 1
            self.struck[invocation] = "throttle"
            return "throttle"
        drawn = self.seen.get((service, operation), 0)
        self.seen[(service, operation)] = drawn + 1
        draw = random.Random(f"{self.seed}/{service}/{operation}/{drawn}")
        if draw.random() >= self.probability:
            return None
        trouble = draw.choice(self.troubles)
        if trouble == "throttle":
            self.throttling[call] = self.throttled_calls - 1
        self.struck[invocation] = trouble
        return trouble


class Faults:
    """Scripted AWS trouble, served before moto sees the request."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.faults = []
        self.chaos = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/_securequeue/faults":
            return self.control(request)(environ, start_response)
        body = read_again(request, environ)
        service, operation = target(request, body)
        fault = self.take(service, operation, body)
        if fault is None:
            with self.lock:
                struck = next(((c, t) for c in self.chaos if (t := c.trouble(request, service, operation, body))), None)
            if struck is not None:
                return self.strike(*struck, service, environ, start_response)
            return self.app(environ, start_response)
        if fault.get("delayMs"):
            time.sleep(fault["delayMs"] / 1000)
        if fault.get("drop"):
            connection = environ["werkzeug.socket"]
            connection.shutdown(socket.SHUT_RDWR)
            connection.close()
            return []
        if not fault.get("code"):
            return self.app(environ, start_response)
        if service == "sts":
            return sts_error(fault["code"], fault["message"], fault["status"])(environ, start_response)
        payload = json.dumps({"__type": fault["code"], "message": fault["message"]})
        response = Response(payload, status=fault["status"], content_type="application/x-amz-json-1.0")
        response.headers["x-amzn-query-error"] = f"{fault['code']};Sender"
        return response(environ, start_response)

    def strike(self, chaos: Chaos, trouble: str, service: str, environ, start_response):
        """Answers a request with the trouble `chaos` struck it with."""
        if trouble == "throttle":
            return throttled(service)(environ, start_response)
        if trouble == "5xx":
            payload = json.dumps({"__type": "InternalFailure", "message": "injected by the chaos fault"})
            response = Response(payload, status=500, content_type="application/x-amz-json-1.0")
            return response(environ, start_response)
        answer = {}

        def keep(status, headers, exc_info=None):
            answer.update(status=status, headers=headers)
            return lambda data: None

        carried_out = b"".join(self.app(environ, keep))
        if trouble == "lost":
            connection = environ["werkzeug.socket"]
            connection.shutdown(socket.SHUT_RDWR)
            connection.close()
            return []
        time.sleep(chaos.slow_ms / 1000)
        start_response(answer["status"], answer["headers"])
        return [carried_out]

    def control(self, request):
        with self.lock:
            if request.method == "DELETE":
                scope = request.args.get("bodyContains")
                self.faults = [f for f in self.faults if scope is not None and f["bodyContains"] != scope]
                self.chaos = [c for c in self.chaos if scope is not None and c.scope != scope]
            elif request.method == "POST" and "chaos" in (setting := json.loads(request.get_data(as_text=True))):
                try:
                    self.chaos.append(Chaos(setting["chaos"], setting.get("bodyContains", "")))
                except (KeyError, TypeError, ValueError) as error:
                    payload = json.dumps({"error": f"chaos: {error!r}"})
                    return Response(payload, status=400, content_type="application/json")
            elif request.method == "POST":
                fault = setting
                fault.setdefault("status", 400)
                fault.setdefault("count", 1)
                fault.setdefault("bodyContains", "")
                fault.setdefault("message", "injected by the test harness")
                fault["window"] = []
                self.faults.append(fault)
            shown = [{k: v for k, v in f.items() if k != "window"} for f in self.faults]
            return Response(json.dumps(shown), content_type="application/json")

    def take(self, service, operation, body):
        now = time.monotonic()
        with self.lock:
            for fault in self.faults:
                if fault["operation"] not in ("*", operation):
                    continue
                if fault.get("service", service) != service or fault["bodyContains"] not in body:
                    continue
                rate = fault.get("ratePerSecond")
                if rate is not None:
                    window = [t for t in fault["window"] if now - t < 1.0]
                    fault["window"] = window
                    if len(window) < rate:
                        window.append(now)
                        continue
                    return fault
                if fault["count"] > 0:
                    fault["count"] -= 1
                    return fault
        return None


# AWS KMS's default request quotas, in requests per second per account and region:
# https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html
# SQS publishes no per-operation quotas for its queue-management API, so SQS has no defaults.
AWS_QUOTAS = {
    f"kms:{operation}": rate
    for operation, rate in {
        "CancelKeyDeletion": 5,
        "CreateAlias": 5,
        "CreateKey": 5,
        "DeleteAlias": 15,
        "DescribeKey": 2000,
        "DisableKey": 5,
        "EnableKey": 5,
        "EnableKeyRotation": 15,
        "GetKeyPolicy": 1000,
        "GetKeyRotationStatus": 1000,
        "ListAliases": 500,
        "ListKeys": 500,
        "ListResourceTags": 2000,
        "PutKeyPolicy": 15,
        "ScheduleKeyDeletion": 15,
        "TagResource": 10,
        "UntagResource": 5,
        "UpdateAlias": 5,
        "UpdateKeyDescription": 5,
    }.items()
}

QUOTA_NAME = re.compile(r"(kms|sqs):[A-Z][A-Za-z0-9]*")
# Credential=AKID/20261202/us-east-1/kms/aws4_request: the region is the third part.
CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/")
# What AWS answers a throttled call: content type, error type, x-amzn-query-error.
THROTTLED = {
    "kms": ("application/x-amz-json-1.1", "ThrottlingException", None),
    "sqs": ("application/x-amz-json-1.0", "com.amazonaws.sqs#RequestThrottled", "RequestThrottled;Sender"),
}


def throttled(service: str) -> Response:
    """The answer AWS gives a throttled call of `service`."""
    content_type, code, query_error = THROTTLED[service]
    payload = json.dumps({"__type": code, "message": "Rate exceeded"})
    response = Response(payload, status=400, content_type=content_type)
    response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
    if query_error:
        response.headers["x-amzn-query-error"] = query_error
    return response


def checked(quotas) -> dict:
    """The quotas, {"service:Operation": requests per second}, or ValueError saying what is wrong."""
    if not isinstance(quotas, dict):
        raise ValueError('quotas must be an object of "service:Operation": requests per second')
    for name, rate in quotas.items():
        if not QUOTA_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not kms:Operation or sqs:Operation, such as kms:CreateKey")
        if not isinstance(rate, int) or isinstance(rate, bool) or rate < 0:
            raise ValueError(f"{name}: {rate!r} is not a whole number of requests per second >= 0")
    return dict(quotas)


def parse_quotas(setting: str) -> dict:
    """SECUREQUEUE_EMULATOR_QUOTAS: empty for none, `aws` and/or overrides such as `kms:CreateKey=20`."""
    items = [item.strip() for item in setting.split(",") if item.strip()]
    quotas = {}
    if items and items[0] == "aws":
        quotas, items = dict(AWS_QUOTAS), items[1:]
    for item in items:
        override = re.fullmatch(r"([^=\s]+)\s*=\s*([0-9]+)", item)
        if override is None:
            raise ValueError(f"{item!r} is not service:Operation=rate, such as kms:CreateKey=20"
                             " ('aws' may only come first)")
        quotas.update(checked({override[1]: int(override[2])}))
    return quotas


class Quotas:
    """AWS's request quotas, enforced before Faults or moto see the request.

    AWS states KMS quotas as requests per second ("each one-second interval",
    https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html). The emulator
    models each quota as a token bucket per (region, service, operation) holding one second's
    worth of requests and refilled continuously at the quota per second: a client pacing at the
    quota is never throttled, while a burst above it is. A request takes one token; with less than
    one left it is throttled and takes none.
    """

    def __init__(self, app, startup: dict):
        self.app = app
        self.lock = threading.Lock()
        self.quotas = {"*": startup} if startup else {}  # region, or "*" for the rest: quotas
        self.buckets = {}  # (region, "service:Operation"): (tokens, time.monotonic() they were counted)
        self.counts = {}  # region: "service:Operation": {"allowed": n, "throttled": n}

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/_securequeue/quotas":
            return self.control(request)(environ, start_response)
        prefix, _, operation = request.headers.get("X-Amz-Target", "").rpartition(".")
        service = SERVICES.get(prefix)
        scope = CREDENTIAL.search(request.headers.get("Authorization", ""))
        if service is None or scope is None or self.take(scope[1], f"{service}:{operation}"):
            return self.app(environ, start_response)
        return throttled(service)(environ, start_response)

    def control(self, request):
        with self.lock:
            try:
                if request.method == "POST":
                    setting = json.loads(request.get_data(as_text=True) or "{}")
                    region = setting.get("region") if isinstance(setting, dict) else None
                    if not isinstance(region, str) or not region or region == "*":
                        raise ValueError('POST a JSON object with "region", such as "eu-west-3"')
                    if not isinstance(setting.get("defaults", False), bool):
                        raise ValueError('"defaults" must be true or false')
                    quotas = dict(AWS_QUOTAS) if setting.get("defaults") else {}
                    quotas.update(checked(setting.get("quotas", {})))
                    self.reset(region)
                    self.quotas[region] = quotas
                elif request.method == "DELETE":
                    region = request.args.get("region")
                    if region == "*":
                        raise ValueError("the start-up setting, SECUREQUEUE_EMULATOR_QUOTAS, stays")
                    for each in [region] if region else [r for r in self.quotas if r != "*"]:
                        self.quotas.pop(each, None)
                    self.reset(region)
            except ValueError as error:
                payload = json.dumps({"error": str(error)})
                return Response(payload, status=400, content_type="application/json")
            state = {"quotas": self.quotas, "counts": self.counts}
            return Response(json.dumps(state), content_type="application/json")

    def reset(self, region=None):
        """Fills the region's buckets and zeroes its counts; every region's without one."""
        self.buckets = {key: b for key, b in self.buckets.items() if region not in (None, key[0])}
        if region is None:
            self.counts = {}
        else:
            self.counts.pop(region, None)

    def take(self, region, name) -> bool:
        """Whether the request passes; counted if its operation has a quota in its region."""
        now = time.monotonic()
        with self.lock:
            rate = self.quotas.get(region, self.quotas.get("*", {})).get(name)
            if rate is None:
                return True
            tokens, counted = self.buckets.get((region, name), (rate, now))
            tokens = min(rate, tokens + (now - counted) * rate)
            allowed = tokens >= 1
            self.buckets[(region, name)] = (tokens - 1 if allowed else tokens, now)
            count = self.counts.setdefault(region, {}).setdefault(name, {"allowed": 0, "throttled": 0})
            count["allowed" if allowed else "throttled"] += 1
            return allowed


# Credential=AKID/20261202/us-east-1/kms/aws4_request: the access key is the first part.
ACCESS_KEY = re.compile(r"Credential=([^/,\s]+)/")


class Recorder:
    """Every KMS, SQS and STS request, as (service, operation, body, access key, arrival time),
    in the order they came."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.requests = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/_securequeue/requests":
            scope = request.args.get("bodyContains", "")
            with self.lock:
                seen = [
                    {"service": s, "operation": o, "accessKey": key, "at": at}
                    for s, o, body, key, at in self.requests
                    if scope in body
                ]
            return Response(json.dumps(seen), content_type="application/json")(environ, start_response)
        body = read_again(request, environ)
        service, operation = target(request, body)
        if service:
            signed = ACCESS_KEY.search(request.headers.get("Authorization", ""))
            key = signed[1] if signed else ""
            with self.lock:
                self.requests.append((service, operation, body, key, time.time()))
        return self.app(environ, start_response)


def main() -> None:
    port = int(sys.argv[1])
    setting = os.environ.get("SECUREQUEUE_EMULATOR_QUOTAS", "")
    try:
        startup = parse_quotas(setting)
    except ValueError as error:
        sys.exit(f"moto_server.py: SECUREQUEUE_EMULATOR_QUOTAS={setting!r}: {error}")
    patch_sqs()
    patch_kms()
    patch_accounts()
    app = Recorder(Quotas(Faults(DomainDispatcherApplication(create_backend_app)), startup))
    run_simple("127.0.0.1", port, app, threaded=True)


if __name__ == "__main__":
    main()
