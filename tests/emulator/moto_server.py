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

It also serves a fault-injection endpoint for the tests, `/_securequeue/faults`. POST a JSON
object to add a fault; DELETE clears every fault, or with `?bodyContains=X` those scoped to X.
A fault matches requests by
- "operation": the X-Amz-Target suffix, such as `CreateKey`, or "*" for any;
- "service" (optional): "kms" or "sqs";
- "bodyContains" (optional): a string the request body must contain;
and does to each of the next "count" matching requests (default 1), in this order:
- "delayMs": waits that long first (a slow answer, to outlast the client's timeout);
- "drop": true closes the connection without an answer;
- "code", "status", "message": answers with that AWS error instead of moto.
With "ratePerSecond" instead of "count", the fault is a rate limit: requests within the rate
pass, and only those beyond it (in any one-second window) suffer the fault, until cleared.

Usage: moto_server.py PORT
"""

import io
import json
import socket
import sys
import threading
import time

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


SERVICES = {"TrentService": "kms", "AmazonSQS": "sqs"}


class Faults:
    """Scripted AWS trouble, served before moto sees the request."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.faults = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/_securequeue/faults":
            return self.control(request)(environ, start_response)
        prefix, _, operation = request.headers.get("X-Amz-Target", "").rpartition(".")
        raw = request.get_data()
        # moto reads the body again from the stream this just drained.
        environ["wsgi.input"] = io.BytesIO(raw)
        environ["CONTENT_LENGTH"] = str(len(raw))
        fault = self.take(SERVICES.get(prefix, ""), operation, raw.decode("utf-8", "replace"))
        if fault is None:
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
        payload = json.dumps({"__type": fault["code"], "message": fault["message"]})
        response = Response(payload, status=fault["status"], content_type="application/x-amz-json-1.0")
        response.headers["x-amzn-query-error"] = f"{fault['code']};Sender"
        return response(environ, start_response)

    def control(self, request):
        with self.lock:
            if request.method == "DELETE":
                scope = request.args.get("bodyContains")
                self.faults = [f for f in self.faults if scope is not None and f["bodyContains"] != scope]
            elif request.method == "POST":
                fault = json.loads(request.get_data(as_text=True))
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


def main() -> None:
    port = int(sys.argv[1])
    patch_sqs()
    patch_kms()
    app = Faults(DomainDispatcherApplication(create_backend_app))
    run_simple("127.0.0.1", port, app, threaded=True)


if __name__ == "__main__":
    main()
