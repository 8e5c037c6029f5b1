"""`POST /v1/traces`: the OTLP/HTTP receiver. Any OTel SDK or collector can point at it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from leadtime.server.api.deps import require_span_writer
from leadtime.server.errors import PayloadTooLarge
from leadtime.server.ingest import otlp
from leadtime.server.ingest.traces import facts_from_spans
from leadtime.server.settings import Settings

router = APIRouter(tags=["ingest"])
# What a dependency would have documented: the route checks the token itself (deps.py).
AUTHORIZATION = {
    "name": "authorization",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "title": "Authorization"},
    "description": "`Bearer <token>` with the ingest scope, where writes need one.",
}
INLINE_DECODE_BYTES = 16 * 1024  # uncompressed: a gzip body may expand to the body limit


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body is {declared} bytes, over the limit of {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(raw: bytes, encoding: str | None, content_type: str | None, settings: Settings):
    body = otlp.decompress(raw, encoding, settings.max_body_bytes)
    decoded = otlp.spans_from(otlp.decode_request(body, content_type))
    return decoded, facts_from_spans(decoded.spans, settings.main_branch_names)


@router.post(
    "/v1/traces",
    openapi_extra={"parameters": [AUTHORIZATION]},
    responses={
        200: {"description": "ExportTraceServiceResponse, with partial_success for rejects"},
        400: {"description": "undecodable body"},
        413: {"description": "body over the size limit"},
        415: {"description": "not protobuf or JSON"},
    },
)
async def export_traces(request: Request) -> Response:
    """Accept an OTLP ExportTraceServiceRequest (protobuf or JSON, optionally gzip)."""
    await require_span_writer(request)
    settings: Settings = request.app.state.settings
    content_type = request.headers.get("content-type")
    raw = await read_limited(request, settings.max_body_bytes)
    # Decoding a big body (a 10,000-span JSON request takes seconds) runs in the thread pool,
    # so it never stalls the event loop and every other request; a small one (a step's span,
    # about 0.1 ms) costs less than the hop to a thread and back.
    encoding = request.headers.get("content-encoding")
    if len(raw) <= INLINE_DECODE_BYTES and not encoding:
        decoded, facts = _decode(raw, encoding, content_type, settings)
    else:
        decoded, facts = await run_in_threadpool(_decode, raw, encoding, content_type, settings)
    # Stored in one transaction with the other deliveries of runs and steps waiting at the
    # time (group_writer.py); answered once committed.
    await request.app.state.group_writer.record(facts)
    payload, media_type = otlp.encode_response(decoded, content_type)
    return Response(payload, media_type=media_type)
