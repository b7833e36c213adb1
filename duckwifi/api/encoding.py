"""Answers as bytes on the wire: JSON or Arrow IPC, gzip, and the ETag / If-None-Match exchange.

An ETag is derived from the store's version and the canonical request (the checked parameters, not the raw
query string, so parameter order and unknown parameters do not matter) and the representation. A client
that sends it back in ``If-None-Match`` gets a 304 before any query runs. Each answer is encoded, and
compressed, once per version: the cache holds both forms.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from isal import igzip
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from duckwifi.api.data import AnswerCache, Encoded
from duckwifi.api.params import HOUR_FORMAT

JSON = "application/json"
ARROW_STREAM = "application/vnd.apache.arrow.stream"
VARY = "Accept, Accept-Encoding"
# Below this a gzip frame saves too little to pay for itself.
GZIP_MIN_BYTES = 1024
# Uncached answers are compressed as they are asked for, so speed wins. On a 7,413-cell map (804 KB of JSON),
# ISA-L's level 1 takes 2.4 ms for 303 KB, the standard library's level 1 6.0 ms for 316 KB (its level 6 is
# four times slower again). Any gzip reader reads either.
GZIP_LEVEL = 1


def wants_arrow(request: Request) -> bool:
    """Whether ``Accept`` names the Arrow stream with a q above JSON's (JSON is the default, and wildcards,
    such as a browser's ``*/*``, choose it). Media types are compared without case."""
    qualities = _named_qualities(request.headers.get("accept", ""))
    return qualities.get(ARROW_STREAM, 0.0) > qualities.get(JSON, 0.0)


def _named_qualities(accept: str) -> dict[str, float]:
    """Each media type the header names, with its q (1 when not given, 0 when unreadable)."""
    named: dict[str, float] = {}
    for part in accept.split(","):
        media_type, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        named[media_type.lower()] = quality
    return named


def accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in {"gzip", "*"}:
            q = params.strip().removeprefix("q=").strip() if params.strip().startswith("q=") else "1"
            try:
                return float(q) > 0
            except ValueError:
                return True
    return False


def etag_for(version: str, request_key: str) -> str:
    digest = hashlib.sha256(f"{version}\n{request_key}".encode()).hexdigest()[:32]
    # Weak: the same answer goes out gzipped or not, which a strong tag would have to tell apart.
    return f'W/"{digest}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in {t.removeprefix("W/") for t in tags}


def compressed(body: bytes, media_type: str) -> Encoded:
    gzipped = igzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
    return Encoded(body=body, gzipped=gzipped, media_type=media_type)


def json_answer(model: BaseModel, *, exclude_unset: bool = False) -> Encoded:
    return compressed(model.model_dump_json(exclude_unset=exclude_unset).encode(), JSON)


def json_rows_answer(name: str, rows: list[dict[str, Any]]) -> Encoded:
    """``{name: rows}`` as JSON, for rows made without a model each (a map); NaN and infinities become null,
    as pydantic writes them."""
    return compressed(orjson.dumps({name: rows}), JSON)


def arrow_answer(table: pa.Table) -> Encoded:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return compressed(sink.getvalue().to_pybytes(), ARROW_STREAM)


def arrow_rows(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """A table of ``schema``'s columns from plain rows."""
    return pa.Table.from_pylist(rows, schema=schema)


def arrow_table(rows: Sequence[BaseModel], schema: pa.Schema) -> pa.Table:
    """A table of ``schema``'s columns from the rows' fields; a ``time`` column is parsed into a timestamp."""
    columns: dict[str, Any] = {}
    for f in schema:
        values = [getattr(r, f.name, None) for r in rows]
        if pa.types.is_timestamp(f.type):
            columns[f.name] = pc.strptime(pa.array(values, pa.string()), format=HOUR_FORMAT, unit="s")
        else:
            columns[f.name] = pa.array(values, f.type)
    return pa.table(columns, schema=schema)


def headers(etag: str | None, *, cache_control: str = "no-cache") -> dict[str, str]:
    out = {"Vary": VARY, "Cache-Control": cache_control}
    if etag is not None:
        out["ETag"] = etag
    return out


def respond(
    request: Request,
    cache: AnswerCache,
    version: str,
    request_key: dict[str, Any],
    produce: Callable[[], Encoded],
) -> Response:
    """The answer to ``request``: a 304 if the client holds it, else the cached or freshly produced bytes."""
    key = json.dumps(request_key, sort_keys=True, default=str)
    etag = etag_for(version, key)
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers(etag))
    entry = cache.get(version, key)
    if entry is None:
        entry = produce()
        cache.put(version, key, entry)
    return send(request, entry, headers(etag))


def send(request: Request, entry: Encoded, response_headers: dict[str, str]) -> Response:
    if entry.gzipped is not None and accepts_gzip(request):
        return Response(
            entry.gzipped, media_type=entry.media_type, headers={**response_headers, "Content-Encoding": "gzip"}
        )
    return Response(entry.body, media_type=entry.media_type, headers=response_headers)
