"""OTLP/HTTP trace requests: bytes in, validated spans out.

Transport rules from the OTLP specification (https://opentelemetry.io/docs/specs/otlp/):
protobuf (`application/x-protobuf`) or JSON (`application/json`, hex ids, int64 as strings),
optionally gzip; the body is limited, also after decompression (413); an undecodable body is a
400; spans that cannot be used are counted as rejected in a partial success, the rest are kept.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from leadtime.server.errors import BadPayload, PayloadTooLarge, UnsupportedMediaType
from leadtime.server.ingest import span_rules

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MAX_SPANS = 10_000  # per request: more is a 413 (send smaller batches), nothing stored
MAX_ATTRIBUTES = 256
MAX_STRING_CHARS = 4096
MAX_ARRAY_ITEMS = 1000
_ID_KEYS = ("traceId", "spanId", "parentSpanId")


# Not frozen, though never changed once made (dataclasses.replace makes another): a frozen
# dataclass costs every span about 3 µs more to make, and each span is made twice.
@dataclass(slots=True)
class SpanRecord:
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: int
    started_at: datetime
    finished_at: datetime
    status_code: int
    attributes: dict
    resource: dict
    scope: str = ""  # the instrumentation scope's name: which emitter made it
    role: str | None = None  # step, root, queue or group (ingest/emitters); None: not yet said


@dataclass
class DecodedTraces:
    spans: list[SpanRecord] = field(default_factory=list)
    rejected: int = 0
    problems: list[str] = field(default_factory=list)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def decompress(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise UnsupportedMediaType(f"Content-Encoding {encoding!r}: send gzip or nothing")
    # Decompress in bounded steps: a small bomb must not be inflated to gigabytes first.
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        output = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise BadPayload(f"body is not valid gzip: {error}") from error
    if len(output) > limit:
        raise PayloadTooLarge(f"body is over {limit} bytes once decompressed; send smaller batches")
    if not inflater.eof:
        raise BadPayload("body is not valid gzip: the stream is truncated")
    return output


def _hex_ids_to_base64(node):
    # OTLP/JSON writes ids as hex; protobuf's JSON mapping expects base64 for bytes fields.
    if isinstance(node, dict):
        converted = {}
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                try:
                    value = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError as error:
                    raise BadPayload(f"{key} {value[:40]!r} is not hex") from error
            converted[key] = _hex_ids_to_base64(value)
        return converted
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    return node


def decode_request(body: bytes, content_type: str | None) -> ExportTraceServiceRequest:
    kind = media_type(content_type)
    request = ExportTraceServiceRequest()
    if kind == PROTOBUF:
        try:
            request.ParseFromString(body)
        except DecodeError as error:
            raise BadPayload(f"body is not an OTLP ExportTraceServiceRequest: {error}") from error
    elif kind == JSON:
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise BadPayload(f"body is not JSON: {error}") from error
        except RecursionError as error:  # nesting deeper than any OTLP document has
            raise BadPayload("body is JSON nested too deeply") from error
        if not isinstance(document, dict):
            raise BadPayload("body must be a JSON object with resourceSpans")
        try:
            json_format.ParseDict(_hex_ids_to_base64(document), request, ignore_unknown_fields=True)
        except (json_format.ParseError, ValueError, TypeError) as error:
            raise BadPayload(f"body is not OTLP/JSON: {error}") from error
        except RecursionError as error:
            raise BadPayload("body is OTLP/JSON nested too deeply") from error
    else:
        raise UnsupportedMediaType(
            f"Content-Type {content_type!r}: send {PROTOBUF} or {JSON} (OTLP/HTTP)"
        )
    return request


def _value(any_value, kind: str | None = None):
    kind = kind or any_value.WhichOneof("value")
    if kind == "string_value":
        return any_value.string_value[:MAX_STRING_CHARS]
    if kind == "array_value":
        return [_value(item) for item in any_value.array_value.values[:MAX_ARRAY_ITEMS]]
    if kind == "kvlist_value":
        return _attributes(any_value.kvlist_value.values)
    if kind == "bytes_value":
        return any_value.bytes_value.hex()[:MAX_STRING_CHARS]
    return getattr(any_value, kind) if kind else None


def _attributes(key_values) -> dict:
    if len(key_values) > MAX_ATTRIBUTES:
        key_values = list(key_values)[:MAX_ATTRIBUTES]
    attributes = {}
    for key_value in key_values:
        value = key_value.value
        kind = value.WhichOneof("value")
        # nearly every attribute is a string: read here, without a call (every span pays this)
        attributes[key_value.key[:256]] = (
            value.string_value[:MAX_STRING_CHARS] if kind == "string_value" else _value(value, kind)
        )
    return attributes


def _time(nanos: int) -> datetime:
    return datetime.fromtimestamp(nanos / 1e9, UTC)


def _problem(span) -> str | None:
    if len(span.trace_id) != 16 or not any(span.trace_id):
        return "trace_id must be 16 bytes, not all zero"
    if len(span.span_id) != 8 or not any(span.span_id):
        return "span_id must be 8 bytes, not all zero"
    if span.parent_span_id and len(span.parent_span_id) != 8:
        return "parent_span_id must be 8 bytes or empty"
    if not span.name:
        return "span has no name"
    if not span.start_time_unix_nano or not span.end_time_unix_nano:
        return "span needs start and end times"
    if span.end_time_unix_nano < span.start_time_unix_nano:
        return "span ends before it starts"
    return None


def _record(span, resource: dict, scope: str) -> SpanRecord:
    """The span as stored, or SpanProblem (span_rules) naming why it cannot be."""
    span_rules.storable("name", span.name)
    record = SpanRecord(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex() or None,
        name=span.name[:500],
        kind=span.kind,
        started_at=_time(span.start_time_unix_nano),
        finished_at=_time(span.end_time_unix_nano),
        status_code=span.status.code,
        attributes=span_rules.checked_attributes(_attributes(span.attributes)),
        resource=resource,
        scope=scope[:200],
    )
    span_rules.in_range("start time", record.started_at)
    span_rules.in_range("end time", record.finished_at)
    return record


def _resource(resource_spans) -> tuple[dict, str | None]:
    try:
        return span_rules.checked_attributes(_attributes(resource_spans.resource.attributes)), None
    except span_rules.SpanProblem as problem:
        return {}, f"resource {problem}"


def spans_from(request: ExportTraceServiceRequest) -> DecodedTraces:
    count = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    if count > MAX_SPANS:
        raise PayloadTooLarge(
            f"{count} spans in one request, over {MAX_SPANS}; send smaller batches"
        )
    decoded = DecodedTraces()
    for r, resource_spans in enumerate(request.resource_spans):
        resource, resource_problem = _resource(resource_spans)
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            for n, span in enumerate(scope_spans.spans):
                problem = resource_problem or _problem(span)
                if not problem:
                    try:
                        decoded.spans.append(_record(span, resource, scope_spans.scope.name))
                        continue
                    except span_rules.SpanProblem as error:
                        problem = str(error)
                decoded.rejected += 1
                where = f"resource_spans[{r}].scope_spans[{s}].spans[{n}]"
                decoded.problems.append(f"{where}: {problem}")
    return decoded


def encode_response(decoded: DecodedTraces, content_type: str | None) -> tuple[bytes, str]:
    """The ExportTraceServiceResponse in the request's own encoding, as OTLP asks."""
    response = ExportTraceServiceResponse()
    if decoded.rejected:
        response.partial_success.CopyFrom(
            ExportTracePartialSuccess(
                rejected_spans=decoded.rejected,
                error_message="; ".join(decoded.problems[:5])[:1000],
            )
        )
    if media_type(content_type) == JSON:
        return json_format.MessageToJson(response, indent=None).encode(), JSON
    return response.SerializeToString(), PROTOBUF
