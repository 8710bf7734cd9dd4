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
"accessKey": "testing", "session": "", "at": 1796000000.123}, ...] for the recorded requests whose
body contains X, in the order they came, with the access key that signed each (empty for the
unsigned AssumeRoleWithWebIdentity), the name of the STS session that handed out that key
(RoleSessionName, which the chart sets to the pod's name; empty for keys STS did not hand out)
and when it arrived (seconds since the epoch), so a test can prove that a pass, or one of two
processes, sent no write touching its resources, or none after a given moment.

Quota mode enforces AWS's default request quotas per (account, region, service, operation),
answering calls beyond them as AWS does (KMS ThrottlingException, SQS RequestThrottled, both HTTP
400). The region is the one in the request's SigV4 credential scope, the account the one moto
gives the signing access key (an assumed role's session acts in the role's account); requests
without a credential scope are not counted.
Off by default. Switched on
- at start-up by SECUREQUEUE_EMULATOR_QUOTAS: `aws` is the documented defaults (AWS_QUOTAS) in
  every region, optionally followed by overrides, `aws,kms:CreateKey=20,sqs:CreateQueue=50`;
  overrides alone, `sqs:CreateQueue=2`, are the only quotas;
- at run time, per region, through `/_securequeue/quotas`, which takes precedence for that region:
  - POST {"region": "eu-west-3", "defaults": true, "quotas": {"kms:CreateKey": 5}} sets that
    region's quotas: the documented defaults if "defaults" is true (default false), then "quotas";
    the region's buckets start full, its windows empty and its counts at zero;
  - DELETE ?region=eu-west-3 drops that region's setting (and counts), so the start-up setting
    applies to it again; DELETE without a region drops every region's setting and all counts, and
    puts back the start-up counting;
  - GET (and every answer) is {"quotas": {region or "*" for the start-up setting: {"kms:CreateKey":
    5, ...}}, "counts": {region: {"kms:CreateKey": {"allowed": 12, "throttled": 3}}}, "counting":
    "bucket"}; a request is counted when its operation has a quota in its region.
A quota is a whole number of requests per second, >= 0 (0 throttles every call); a bad setting
is answered 400 {"error": ...}. Quotas are checked before faults: a throttled call takes no fault.

How "N requests per second" is counted: AWS does not say. KMS's documentation gives each quota in
"requests per second", sets quotas "for the number of API operations requested in each second"
(https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html) and says that
beyond it "AWS KMS throttles all subsequent ... requests in that second"
(https://docs.aws.amazon.com/kms/latest/developerguide/throttling.html), which fits more than one
algorithm (a token bucket, fixed one-second slots, a sliding second), so the emulator offers two,
per (region, service:Operation):
- "bucket" (the default): a token bucket holding one second's worth of requests, refilled
  continuously at the quota per second. A client pacing at the quota is never throttled, and
  after a pause a full second's worth may come at once: up to about 2N-1 calls can pass within
  one second (N from the full bucket, then N-1 refilled).
- "sliding": the strictest reading. A request passes only if fewer than N requests of its
  (region, service:Operation) passed in the one second before it, the window (now - 1 s, now];
  throttled requests do not count as passed. No one-second interval, wherever it starts, ever
  holds more than N passed calls, so a client must space its calls at least 1/N s apart on
  average, with no credit for pauses.
The counting is chosen at start-up by SECUREQUEUE_EMULATOR_QUOTA_COUNTING, `bucket` or `sliding`
(unset or empty: bucket; anything else stops the emulator at start-up), and at run time by POST
{"counting": "sliding"} to `/_securequeue/quotas` (alone or with a region's setting, as
{"counting": "sliding", "region": "eu-west-3", "quotas": {...}}). It applies to every region;
changing it starts every bucket full and every window empty, and keeps the counts. GET (and every
answer) shows it as "counting"; DELETE without a region also puts the start-up counting back.

State across a restart: with SECUREQUEUE_EMULATOR_STATE=FILE, the emulator loads FILE before
serving, if it exists, and on SIGTERM or SIGINT stops listening, lets the moto calls under way
finish (calls that reach moto later are never answered, as if the process had died before them),
and saves to FILE through a temporary file renamed over it (so that FILE holds the old state or
the new one, never half of one, even if the process is killed while saving) before exiting with
status 0 (1 if saving failed). The state is:
- moto's backends for kms, sqs, sts and iam, in every account and region: KMS keys with their
  policies, tags, aliases, rotation, state and scheduled deletions (and their key material, so
  data encrypted before the restart decrypts after it); SQS queues with their attributes,
  policies, tags and messages; STS's assumed roles and the IAM access keys behind them (so
  credentials from AssumeRole still act in the role's account);
- moto's random generator, so identifiers made after the restart continue its sequence and
  never repeat one made before it (even when a test seeded it through /moto-api/seed);
- the recorder's log of requests (`/_securequeue/requests`), so that counting a test's calls
  spans the restart.
Quota settings and counts, faults and chaos are the test harness's own controls, not AWS state:
they start again from the environment (SECUREQUEUE_EMULATOR_QUOTAS and _QUOTA_COUNTING), as in a
fresh emulator. FILE is a pickle for this moto version: a file from another moto version, or one
that cannot be read, stops the emulator at start-up rather than serving an empty account.
Without SECUREQUEUE_EMULATOR_STATE nothing is loaded or saved, and SIGTERM ends the process at once.

Usage: moto_server.py PORT [HOST]

HOST is the address it listens on, 127.0.0.1 by default; the node tier's pods reach it on the
machine's own address.
"""

import collections
import io
import json
import os
import pickle
import random
import re
import signal
import socket
import sys
import threading
import time
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from moto.backends import get_backend
from moto.kms import models as kms_models
from moto.kms import responses as kms_responses
from moto.moto_api._internal import mock_random
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

    # moto makes an RSA-2048 key pair for every key, the symmetric ones too, which only sign and
    # verify with an asymmetric key spec would use: about 43 ms of this process's one core per
    # CreateKey, which capped the emulator below KMS's CreateKey quota of a single account. A
    # symmetric key gets none.
    make_pair = kms_models.generate_private_key

    def generate_private_key(key_spec):
        return None if key_spec == "SYMMETRIC_DEFAULT" else make_pair(key_spec)

    kms_models.generate_private_key = generate_private_key


def patch_accounts() -> None:
    from moto.iam import models as iam_models

    iam_models.DEFAULT_ACCOUNT_ID = os.environ["SECUREQUEUE_EMULATOR_ACCOUNT_ID"]


SERVICES = {"TrentService": "kms", "AmazonSQS": "sqs"}


# STS calls that are not signed: the credentials are what they ask for.
UNSIGNED_STS = {"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"}


def target(request, body: str):
    """The (service, operation) a request calls: KMS and SQS name it in X-Amz-Target, STS (the
    query protocol) in the body's Action, signed for sts or one of UNSIGNED_STS; ("", "") for
    anything else."""
    prefix, _, operation = request.headers.get("X-Amz-Target", "").rpartition(".")
    if prefix in SERVICES:
        return SERVICES[prefix], operation
    action = re.search(r"(?:^|&)Action=([A-Za-z]+)", body)
    if action and ("/sts/" in request.headers.get("Authorization", "") or action[1] in UNSIGNED_STS):
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


COUNTINGS = ("bucket", "sliding")


def checked_counting(counting) -> str:
    """How quotas are counted, "bucket" or "sliding", or ValueError saying what is wrong."""
    if counting not in COUNTINGS:
        raise ValueError(f"counting {counting!r} is neither \"bucket\" (a token bucket, the default)"
                         " nor \"sliding\" (at most N passes in any one second)")
    return counting


class Quotas:
    """AWS's request quotas, enforced before Faults or moto see the request.

    AWS states KMS quotas as requests per second ("the number of API operations requested in each
    second", https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html)
    without saying how a second is counted, so there are two countings per (region, service,
    operation), as the module's documentation explains:
    - "bucket" (the default): a token bucket holding one second's worth of requests and refilled
      continuously at the quota per second: a client pacing at the quota is never throttled, while
      a burst above it is. A request takes one token; with less than one left it is throttled and
      takes none.
    - "sliding": a request passes only if fewer than the quota passed in the window
      (now - 1 s, now]; a throttled request does not count.
    """

    def __init__(self, app, startup: dict, counting: str = "bucket"):
        self.app = app
        self.lock = threading.Lock()
        self.quotas = {"*": startup} if startup else {}  # region, or "*" for the rest: quotas
        self.startup_counting = counting
        self.counting = counting  # "bucket" or "sliding"
        self.buckets = {}  # (region, "service:Operation", account): (tokens, time.monotonic() they were counted)
        self.windows = {}  # (region, "service:Operation", account): time.monotonic() of the passes in the last second
        self.counts = {}  # region: "service:Operation": {"allowed": n, "throttled": n}

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/_securequeue/quotas":
            return self.control(request)(environ, start_response)
        prefix, _, operation = request.headers.get("X-Amz-Target", "").rpartition(".")
        service = SERVICES.get(prefix)
        authorization = request.headers.get("Authorization", "")
        scope = CREDENTIAL.search(authorization)
        if service is None or scope is None:
            return self.app(environ, start_response)
        if self.take(scope[1], f"{service}:{operation}", account_of(authorization)):
            return self.app(environ, start_response)
        return throttled(service)(environ, start_response)

    def control(self, request):
        with self.lock:
            try:
                if request.method == "POST":
                    setting = json.loads(request.get_data(as_text=True) or "{}")
                    counting = None
                    if isinstance(setting, dict) and "counting" in setting:
                        counting = checked_counting(setting["counting"])
                    quotas = None
                    if counting is None or "region" in setting:
                        quotas = self.region_setting(setting)
                    if counting not in (None, self.counting):
                        self.counting = counting
                        self.buckets, self.windows = {}, {}
                    if quotas is not None:
                        self.reset(setting["region"])
                        self.quotas[setting["region"]] = quotas
                elif request.method == "DELETE":
                    region = request.args.get("region")
                    if region == "*":
                        raise ValueError("the start-up setting, SECUREQUEUE_EMULATOR_QUOTAS, stays")
                    for each in [region] if region else [r for r in self.quotas if r != "*"]:
                        self.quotas.pop(each, None)
                    if not region:
                        self.counting = self.startup_counting
                    self.reset(region)
            except ValueError as error:
                payload = json.dumps({"error": str(error)})
                return Response(payload, status=400, content_type="application/json")
            state = {"quotas": self.quotas, "counts": self.counts, "counting": self.counting}
            return Response(json.dumps(state), content_type="application/json")

    @staticmethod
    def region_setting(setting) -> dict:
        """The quotas a POST sets for its region, or ValueError saying what is wrong."""
        region = setting.get("region") if isinstance(setting, dict) else None
        if not isinstance(region, str) or not region or region == "*":
            raise ValueError('POST a JSON object with "region", such as "eu-west-3", or "counting"')
        if not isinstance(setting.get("defaults", False), bool):
            raise ValueError('"defaults" must be true or false')
        quotas = dict(AWS_QUOTAS) if setting.get("defaults") else {}
        quotas.update(checked(setting.get("quotas", {})))
        return quotas

    def reset(self, region=None):
        """Fills the region's buckets, empties its windows and zeroes its counts; every region's
        without one."""
        self.buckets = {key: b for key, b in self.buckets.items() if region not in (None, key[0])}
        self.windows = {key: w for key, w in self.windows.items() if region not in (None, key[0])}
        if region is None:
            self.counts = {}
        else:
            self.counts.pop(region, None)

    def take(self, region, name, account) -> bool:
        """Whether the request passes; counted if its operation has a quota in its region. As
        in AWS, each account has quotas of its own: the settings are per region, the buckets and
        windows per region and account."""
        now = time.monotonic()
        with self.lock:
            rate = self.quotas.get(region, self.quotas.get("*", {})).get(name)
            if rate is None:
                return True
            if self.counting == "sliding":
                allowed = self.slide((region, name, account), rate, now)
            else:
                tokens, counted = self.buckets.get((region, name, account), (rate, now))
                tokens = min(rate, tokens + (now - counted) * rate)
                allowed = tokens >= 1
                self.buckets[(region, name, account)] = (tokens - 1 if allowed else tokens, now)
            count = self.counts.setdefault(region, {}).setdefault(name, {"allowed": 0, "throttled": 0})
            count["allowed" if allowed else "throttled"] += 1
            return allowed

    def slide(self, key, rate, now) -> bool:
        """Whether a request at `now` passes the sliding window of `key`, (region,
        "service:Operation", account): fewer than `rate` passes in (now - 1 s, now]. Called under
        the lock."""
        window = self.windows.setdefault(key, collections.deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= rate:
            return False
        window.append(now)
        return True


# Credential=AKID/20261202/us-east-1/kms/aws4_request: the access key is the first part.
ACCESS_KEY = re.compile(r"Credential=([^/,\s]+)/")


def account_of(authorization: str) -> str:
    """The account a signed request acts in, as moto decides it: the static test credentials'
    is the emulator's own, an assumed role's session the role's account."""
    from moto.iam.models import get_account_id_from

    signed = ACCESS_KEY.search(authorization)
    return get_account_id_from(signed[1]) if signed else ""


def sessions_by_access_key() -> dict:
    """The session name of every access key STS handed out (AssumeRole, AssumeRoleWithWebIdentity),
    by the key."""
    from moto.sts.models import sts_backends

    return {
        role.access_key_id: role.session_name
        for partitions in list(sts_backends.values())
        for backend in list(partitions.values())
        for role in list(backend.assumed_roles)
    }


class Recorder:
    """Every KMS, SQS and STS request, as (service, operation, body, access key, arrival time),
    in the order they came."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.requests = []

    def recorded(self) -> list:
        """The requests recorded so far."""
        with self.lock:
            return list(self.requests)

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
            sessions = sessions_by_access_key()
            for each in seen:
                each["session"] = sessions.get(each["accessKey"], "")
            return Response(json.dumps(seen), content_type="application/json")(environ, start_response)
        body = read_again(request, environ)
        service, operation = target(request, body)
        if service:
            signed = ACCESS_KEY.search(request.headers.get("Authorization", ""))
            key = signed[1] if signed else ""
            with self.lock:
                self.requests.append((service, operation, body, key, time.time()))
        return self.app(environ, start_response)


class Freezer:
    """The last layer before moto: once frozen, for a snapshot of the state, no call reaches moto
    again. A call that comes later waits, unanswered, for the process to end."""

    def __init__(self, app):
        self.app = app
        self.changes = threading.Condition()
        self.active = 0  # calls inside moto
        self.frozen = False

    def __call__(self, environ, start_response):
        with self.changes:
            if self.frozen:
                self.changes.wait_for(lambda: False)
            self.active += 1
        try:
            return self.app(environ, start_response)
        finally:
            with self.changes:
                self.active -= 1
                self.changes.notify_all()

    def freeze(self, timeout: float) -> bool:
        """Stops calls reaching moto and waits, at most `timeout` seconds, for those inside it to
        finish; whether they did."""
        with self.changes:
            self.frozen = True
            return self.changes.wait_for(lambda: self.active == 0, timeout)


# The moto backends whose state survives a restart: iam holds the access keys of the credentials
# STS AssumeRole returned, which say whose account a request acts in.
STATE_SERVICES = ("kms", "sqs", "sts", "iam")
STATE_FORMAT = 1
MOTO_VERSION = "5.2.5"


def private_key(der: bytes):
    """A KMS key's private key again, from its DER, as the state file keeps it (the emulator made
    it: it needs no validation, which takes 40 ms a key)."""
    return serialization.load_der_private_key(der, None, unsafe_skip_rsa_key_validation=True)


RLOCK_TYPE = type(threading.RLock())
LOCK_TYPES = (type(threading.Lock()), RLOCK_TYPE)


class StatePickler(pickle.Pickler):
    """Pickles moto's backends: cryptography's keys as DER, and locks and conditions (SQS's queues
    hold one) as new ones, unheld."""

    def reducer_override(self, obj):
        if isinstance(obj, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            der = obj.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            return private_key, (der,)
        if isinstance(obj, threading.Condition):
            return threading.Condition, ()
        if isinstance(obj, LOCK_TYPES):
            return (threading.RLock if type(obj) is RLOCK_TYPE else threading.Lock), ()
        return NotImplemented


class StateUnpickler(pickle.Unpickler):
    """Finds this file's functions (private_key) whether it runs as a script or a module."""

    def find_class(self, module, name):
        if module == "__main__":
            return getattr(sys.modules[__name__], name)
        return super().find_class(module, name)


def save_state(path: str, recorder) -> str:
    """Writes the state to `path` through a temporary file renamed over it; what it saved."""
    backends = {
        service: {account: dict(regions) for account, regions in get_backend(service).items()}
        for service in STATE_SERVICES
    }
    state = {
        "format": STATE_FORMAT,
        "moto": MOTO_VERSION,
        "backends": backends,
        "random": mock_random.getstate(),
        "requests": recorder.recorded(),
    }
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        for attempt in range(3):
            try:
                with open(temporary, "wb") as file:
                    StatePickler(file, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
                    file.flush()
                    os.fsync(file.fileno())
                break
            except RuntimeError:  # a dict changed by a moto call that outlasted the freeze
                if attempt == 2:
                    raise
                time.sleep(1)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return summary(state)


def load_state(path: str, recorder) -> str:
    """Puts the state saved in `path` back into moto's backends and the recorder; what it loaded."""
    with open(path, "rb") as file:
        state = StateUnpickler(file).load()
    if not isinstance(state, dict) or (state.get("format"), state.get("moto")) != (STATE_FORMAT, MOTO_VERSION):
        raise ValueError(f"not an emulator state of format {STATE_FORMAT} for moto {MOTO_VERSION}")
    for service, accounts in state["backends"].items():
        backends = get_backend(service)
        for account, regions in accounts.items():
            for region, backend in regions.items():
                backends[account][region] = backend
    mock_random.setstate(state["random"])
    recorder.requests[:0] = state["requests"]
    return summary(state)


def summary(state: dict) -> str:
    """The state's KMS keys, SQS queues and recorded requests, counted."""
    backends = state["backends"]
    keys = sum(len(b.keys) for regions in backends["kms"].values() for b in regions.values())
    queues = sum(len(b.queues) for regions in backends["sqs"].values() for b in regions.values())
    return f"{keys} KMS keys, {queues} SQS queues, {len(state['requests'])} recorded requests"


def interrupt(signum, frame):
    """SIGTERM, as SIGINT: ends the server's loop, so that the state is saved."""
    raise KeyboardInterrupt


def main() -> None:
    port = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    setting = os.environ.get("SECUREQUEUE_EMULATOR_QUOTAS", "")
    try:
        startup = parse_quotas(setting)
    except ValueError as error:
        sys.exit(f"moto_server.py: SECUREQUEUE_EMULATOR_QUOTAS={setting!r}: {error}")
    counting = os.environ.get("SECUREQUEUE_EMULATOR_QUOTA_COUNTING", "")
    try:
        counting = checked_counting(counting or "bucket")
    except ValueError as error:
        sys.exit(f"moto_server.py: SECUREQUEUE_EMULATOR_QUOTA_COUNTING={counting!r}: {error}")
    state = os.environ.get("SECUREQUEUE_EMULATOR_STATE", "")
    patch_sqs()
    patch_kms()
    patch_accounts()
    moto = DomainDispatcherApplication(create_backend_app)
    freezer = Freezer(moto) if state else None
    recorder = Recorder(Quotas(Faults(freezer or moto), startup, counting))
    if state and os.path.exists(state):
        try:
            loaded = load_state(state, recorder)
        except Exception as error:
            sys.exit(f"moto_server.py: SECUREQUEUE_EMULATOR_STATE={state!r} cannot be loaded: {error!r}")
        print(f"moto_server.py: loaded {loaded} from {state}", file=sys.stderr, flush=True)
    if state:
        signal.signal(signal.SIGTERM, interrupt)
    try:
        run_simple(host, port, recorder, threaded=True)
    except KeyboardInterrupt:
        pass  # a signal before the server's loop began
    if state:
        for each in (signal.SIGTERM, signal.SIGINT):
            signal.signal(each, signal.SIG_IGN)
        if not freezer.freeze(timeout=30):
            print("moto_server.py: moto calls still under way after 30 s; saving anyway", file=sys.stderr)
        try:
            saved = save_state(state, recorder)
        except Exception as error:
            sys.exit(f"moto_server.py: could not save the state to {state!r}: {error!r}")
        print(f"moto_server.py: saved {saved} to {state}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
