"""moto's server with one request at a time (and, on request, a record of every call).

moto 5 answers requests on many threads without locking, and its DynamoDB
TransactWriteItems and conditional writes are not atomic under concurrency (a cancelled
transaction can even restore an older copy of the table). Real DynamoDB is atomic, and the
provider's race tests (one winner per code, per refresh token) rely on that. Holding one lock
around each request restores the atomicity the tests need; connections stay concurrent.

Counting (off unless MOTO_COUNT is set to something other than "" or "0"): every AWS request
is recorded with its service and operation (from `X-Amz-Target`: `DynamoDB_20120810.<Op>`,
`TrentService.<Op>` for KMS), its arrival time (taken *before* waiting for the lock, so two
calls a client made concurrently have overlapping lifetimes even though moto serves them one
after the other), the time moto started and finished it, the request and response body sizes,
the HTTP status and error type, and for DynamoDB every item it addresses (table, the key's
type prefix such as `code` from `code#...`, and the item's size in bytes before and after the
call, computed with DynamoDB's published sizing rules), for KMS the key id, signing algorithm
and message size. Times are seconds on a monotonic clock (`time.perf_counter`).

MOTO_COUNT=calls records the same without item sizes (no lookups in moto's tables): what
`infra/with-moto.sh` turns on for the test suites, which compare call sequences only.

MOTO_COUNT_LATENCY_MS (counting only, default 0) holds each counted request that long after
its arrival, before it queues for the lock: a stand-in for network latency that makes calls a
client issued concurrently overlap reliably (moto answers a GetItem in ~2 ms, often before
the client's second connection has even arrived), while calls made one after the other can
never overlap (the next one starts only after the previous answer). The record is served on
paths moto does not use:

    GET  /__calls         JSON list of the records since the last reset, oldest first;
                          `?table=T` keeps DynamoDB calls on table T only, `?after=N` the
                          records whose `seq` is above N
    POST /__calls/reset   empties the list (answers {"reset": <records dropped>})

MOTO_COUNT_KEEP (default: no limit) keeps only the most recent records, so an emulator that
records for a whole test suite stays small.

`infra/bench/awscalls.sh` uses it to count the AWS calls of each provider operation. With
counting off, the request path is exactly the lock-and-serve below and `/__calls` is moto's
(a 404).

Usage: [MOTO_COUNT=1 [MOTO_COUNT_LATENCY_MS=20]] python moto_serial.py HOST PORT
"""
import base64
import io
import json
import os
import sys
import threading
import time
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serial(environ, start_response):
        with lock:
            # Produce the whole body inside the lock: the work happens as it is iterated.
            return [b"".join(app(environ, start_response))]

    handler = serial
    if os.environ.get("MOTO_COUNT", "") not in ("", "0"):
        latency = float(os.environ.get("MOTO_COUNT_LATENCY_MS") or 0) / 1000
        keep = int(os.environ.get("MOTO_COUNT_KEEP") or 0)
        sizes = os.environ.get("MOTO_COUNT") != "calls"
        handler = Counter(app, lock, latency, keep, sizes).wsgi
    run_simple(host, port, handler, threaded=True, request_handler=MotoRequestHandler)


# --- counting -------------------------------------------------------------------------------

DYNAMODB_PREFIX = "DynamoDB_20120810."
KMS_PREFIX = "TrentService."


class Counter:
    """The same lock-and-serve as `serial`, with a record of each call around it."""

    def __init__(self, app, lock, latency=0.0, keep=0, sizes=True):
        self.app = app
        self.sizes = sizes
        self.lock = lock
        self.latency = latency
        self.keep = keep
        self.records = []
        self.records_lock = threading.Lock()
        self.seq = 0

    def wsgi(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/__calls" or path.startswith("/__calls/"):
            return self.endpoint(environ, start_response)
        arrival = time.perf_counter()
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        body = b""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > 0:
            # Read it here to size and parse it; moto reads the same bytes from the copy.
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
        seen = {}

        def recording_start_response(status, headers, *exc_info):
            seen["status"] = status
            return start_response(status, headers, *exc_info)

        service, op = classify(target, environ)
        request = parse_json(body) if service in ("dynamodb", "kms") else None
        region = region_of(environ)
        if self.latency > 0 and service in ("dynamodb", "kms"):
            time.sleep(self.latency)
        with self.lock:
            started = time.perf_counter()
            before = item_sizes(region, service, op, request) if self.sizes else None
            out = b"".join(self.app(environ, recording_start_response))
            after = item_sizes(region, service, op, request) if self.sizes else None
            done = time.perf_counter()
        status = int(str(seen.get("status", "0")).split(" ")[0] or 0)
        record = {
            "service": service,
            "op": op,
            "arrival": arrival,
            "start": started,
            "end": done,
            "request_bytes": len(body),
            "response_bytes": len(out),
            "status": status,
        }
        if status >= 400:
            answer = parse_json(out)
            if isinstance(answer, dict):
                kind = answer.get("__type", "")
                record["error"] = kind.rsplit("#", 1)[-1] if kind else None
        try:
            if service == "dynamodb":
                record["dynamodb"] = dynamodb_details(op, request, before, after, out)
            elif service == "kms":
                record["kms"] = kms_details(request)
        except Exception as e:  # a record is never worth failing a request
            record["detail_error"] = repr(e)
        with self.records_lock:
            self.seq += 1
            record["seq"] = self.seq
            self.records.append(record)
            if self.keep and len(self.records) > self.keep:
                del self.records[: len(self.records) - self.keep]
        return [out]

    def endpoint(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        if path == "/__calls" and method == "GET":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            table = (query.get("table") or [None])[0]
            after = int((query.get("after") or ["0"])[0] or 0)
            with self.records_lock:
                records = [
                    r for r in self.records if r["seq"] > after and on_table(r, table)
                ]
                payload = json.dumps(records).encode()
        elif path == "/__calls/reset" and method == "POST":
            with self.records_lock:
                payload = json.dumps({"reset": len(self.records)}).encode()
                self.records = []
        else:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error":"GET /__calls or POST /__calls/reset"}']
        start_response(
            "200 OK",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]


def on_table(record, table):
    """Whether a record is a DynamoDB call on `table` (any table when None); batch and
    transaction calls name their tables per item."""
    if table is None:
        return True
    d = record.get("dynamodb") or {}
    return d.get("table") == table or any(i.get("table") == table for i in d.get("items", []))


def classify(target, environ):
    if target.startswith(DYNAMODB_PREFIX):
        return "dynamodb", target[len(DYNAMODB_PREFIX):]
    if target.startswith(KMS_PREFIX):
        return "kms", target[len(KMS_PREFIX):]
    if target:
        service, _, op = target.partition(".")
        return service, op
    return "other", environ.get("REQUEST_METHOD", "") + " " + environ.get("PATH_INFO", "")


def parse_json(data):
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None


def region_of(environ):
    """The region of the SigV4 credential scope: `Credential=AKID/date/REGION/service/...`."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    marker = "Credential="
    if marker in auth:
        parts = auth.split(marker, 1)[1].split(",", 1)[0].split("/")
        if len(parts) >= 3:
            return parts[2]
    return os.environ.get("AWS_DEFAULT_REGION", "us-east-1")


def addressed_items(op, request):
    """(action, table, key-or-item attribute map) for every item a DynamoDB request names."""
    if not isinstance(request, dict):
        return []
    if op == "GetItem":
        return [("get", request.get("TableName"), request.get("Key"))]
    if op == "PutItem":
        return [("put", request.get("TableName"), request.get("Item"))]
    if op == "UpdateItem":
        return [("update", request.get("TableName"), request.get("Key"))]
    if op == "DeleteItem":
        return [("delete", request.get("TableName"), request.get("Key"))]
    if op in ("TransactWriteItems", "TransactGetItems"):
        found = []
        for entry in request.get("TransactItems") or []:
            for action, body in entry.items():
                attrs = body.get("Item") if action == "Put" else body.get("Key")
                found.append((action.lower(), body.get("TableName"), attrs))
        return found
    if op == "BatchGetItem":
        return [
            ("get", table, key)
            for table, spec in (request.get("RequestItems") or {}).items()
            for key in spec.get("Keys") or []
        ]
    if op == "BatchWriteItem":
        found = []
        for table, entries in (request.get("RequestItems") or {}).items():
            for entry in entries:
                if "PutRequest" in entry:
                    found.append(("put", table, entry["PutRequest"].get("Item")))
                if "DeleteRequest" in entry:
                    found.append(("delete", table, entry["DeleteRequest"].get("Key")))
        return found
    return []


def item_sizes(region, service, op, request):
    """Current DynamoDB size in bytes (None: absent or unknown) of each addressed item, read
    straight from moto's in-memory tables (this runs inside the lock)."""
    if service != "dynamodb":
        return None
    sizes = []
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends
        from moto.dynamodb.models.dynamo_type import DynamoType

        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][region]
        for _, table_name, attrs in addressed_items(op, request):
            size = None
            table = backend.tables.get(table_name) if table_name else None
            if table is not None and isinstance(attrs, dict) and table.hash_key_attr in attrs:
                hash_key = DynamoType(attrs[table.hash_key_attr])
                range_key = None
                if table.range_key_attr and table.range_key_attr in attrs:
                    range_key = DynamoType(attrs[table.range_key_attr])
                try:
                    item = table.get_item(hash_key, range_key)
                except Exception:
                    item = None
                if item is not None:
                    size = item_size(item.attrs)
            sizes.append(size)
    except Exception:
        return None
    return sizes


def dynamodb_details(op, request, before, after, response):
    request = request if isinstance(request, dict) else {}
    items = []
    for i, (action, table, attrs) in enumerate(addressed_items(op, request)):
        pk = None
        if isinstance(attrs, dict) and attrs:
            first = attrs.get("pk") or next(iter(attrs.values()))
            if isinstance(first, dict) and "S" in first:
                pk = first["S"]
        items.append(
            {
                "action": action,
                "table": table,
                "kind": pk.split("#", 1)[0] if pk else None,
                "size_before": before[i] if before and i < len(before) else None,
                "size_after": after[i] if after and i < len(after) else None,
                "request_item_size": item_size(attrs) if action == "put" else None,
            }
        )
    details = {"table": request.get("TableName"), "items": items}
    if op == "GetItem":
        details["consistent"] = bool(request.get("ConsistentRead", False))
    if op == "BatchGetItem":
        details["consistent"] = all(
            bool(spec.get("ConsistentRead", False))
            for spec in (request.get("RequestItems") or {}).values()
        )
    if op in ("Query", "Scan"):
        answer = parse_json(response)
        if isinstance(answer, dict):
            returned = answer.get("Items") or []
            details["returned_items"] = len(returned)
            details["returned_bytes"] = sum(item_size(i) or 0 for i in returned)
            details["scanned_count"] = answer.get("ScannedCount")
        details["consistent"] = bool(request.get("ConsistentRead", False))
    for flag in ("ConditionExpression", "ReturnValues", "ReturnValuesOnConditionCheckFailure"):
        if request.get(flag):
            details[flag] = request[flag] if flag != "ConditionExpression" else True
    return details


def kms_details(request):
    request = request if isinstance(request, dict) else {}
    details = {}
    if request.get("KeyId"):
        details["key_id"] = request["KeyId"]
    if request.get("SigningAlgorithm"):
        details["signing_algorithm"] = request["SigningAlgorithm"]
    for field in ("Message", "CiphertextBlob", "Plaintext"):
        if isinstance(request.get(field), str):
            try:
                details[field.lower() + "_bytes"] = len(base64.b64decode(request[field]))
            except ValueError:
                pass
    return details


# DynamoDB item sizes, as documented in "Item sizes and formats" of the DynamoDB developer
# guide: attribute name bytes + value bytes; strings and binaries by length, numbers
# 1 byte per 2 significant digits + 1, BOOL/NULL 1 byte, lists and maps 3 bytes + 1 byte per
# element (+ the element's name in a map).


def item_size(attrs):
    if not isinstance(attrs, dict):
        return None
    try:
        return sum(len(name.encode()) + value_size(value) for name, value in attrs.items())
    except Exception:
        return None


def value_size(value):
    # moto's DynamoType, or the wire form {"S": "..."}.
    if hasattr(value, "type") and hasattr(value, "value"):
        kind, data = value.type, value.value
    else:
        ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return number_size(str(data))
    if kind == "B":
        return len(data) if isinstance(data, bytes) else len(base64.b64decode(data))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "NS":
        return sum(number_size(str(s)) for s in data)
    if kind == "BS":
        return sum(len(b) if isinstance(b, bytes) else len(base64.b64decode(b)) for b in data)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in data.items())
    return len(str(data).encode())


def number_size(text):
    mantissa = text.lstrip("+-").lower().split("e", 1)[0]
    digits = mantissa.replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


if __name__ == "__main__":
    main()
