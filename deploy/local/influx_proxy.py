"""An InfluxDB v2 write endpoint in front of InfluxDB 1.6, which predates `/api/v2/write`.

Run: `python -m deploy.local.influx_proxy --listen 127.0.0.1:18087 --upstream http://127.0.0.1:18086`.

`POST /api/v2/write?org=O&bucket=DB/RP&precision=P` becomes `POST /write?db=DB&rp=RP&precision=P`
(what InfluxDB 1.8+ does natively; a bucket without `/` omits `rp`, precision defaults to `ns`).
The body is forwarded byte for byte with its Content-Encoding and Content-Type (gzip works: 1.6
decodes it), the `Authorization: Token …` header is dropped, and upstream's status and body come
back unchanged (204 on success). Every other method and path (`/ping`, `/query`, `/health`, …)
is passed through with its query string, headers and body.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import AsyncIterator, Mapping

from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector, web
from multidict import CIMultiDict
from yarl import URL

from ingest.logs import kv

log = logging.getLogger("deploy.local.influx_proxy")  # not __main__ under -m

# InfluxDB's own default http max-body-size (25 MB); aiohttp's default of 1 MiB would reject
# ordinary 5,000-line batches.
MAX_BODY = 25_000_000
# Hop-by-hop headers (RFC 9110 §7.6.1), plus those aiohttp recomputes for the new message.
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
_WRITE_HEADERS = ("Content-Encoding", "Content-Type")
_UPSTREAM = web.AppKey("upstream", URL)
_SESSION = web.AppKey("session", ClientSession)


def v1_write_query(query: Mapping[str, str]) -> dict[str, str] | None:
    """The `/write` query for a v2 write's query (`bucket` → `db`/`rp`), None without a bucket."""
    database, _, retention = query.get("bucket", "").partition("/")
    if not database:
        return None
    params = {"db": database, "precision": query.get("precision") or "ns"}
    if retention:
        params["rp"] = retention
    return params


def _forwardable(headers: Mapping[str, str]) -> CIMultiDict[str]:
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in _NOT_FORWARDED)


async def _proxy(request: web.Request) -> web.Response:
    upstream = request.app[_UPSTREAM]
    headers: Mapping[str, str]
    if request.method == "POST" and request.path == "/api/v2/write":
        params = v1_write_query(request.query)
        if params is None:
            return web.json_response(
                {"code": "invalid", "message": "the bucket query parameter is required"},
                status=400,
            )
        url = upstream.with_path("/write").with_query(params)
        headers = {k: v for k in _WRITE_HEADERS if (v := request.headers.get(k)) is not None}
    else:
        url = URL(str(upstream).rstrip("/") + request.rel_url.raw_path_qs, encoded=True)
        headers = _forwardable(request.headers)
    body = await request.read()
    try:
        async with request.app[_SESSION].request(
            request.method, url, headers=headers, data=body or None
        ) as response:
            payload = await response.read()
            return web.Response(
                status=response.status, body=payload, headers=_forwardable(response.headers)
            )
    except ClientError as exc:
        log.warning(
            kv("influx_upstream_failed", method=request.method, path=url.path, error=repr(exc))
        )
        return web.Response(status=502, text=f"InfluxDB at {upstream} did not answer: {exc}\n")


def make_app(upstream: URL) -> web.Application:
    """The proxy application forwarding to `upstream` (e.g. `http://127.0.0.1:18086`)."""
    app = web.Application(client_max_size=MAX_BODY)
    app[_UPSTREAM] = upstream

    async def session_context(app: web.Application) -> AsyncIterator[None]:
        # auto_decompress=False and no automatic headers: bodies and encodings pass unchanged.
        async with ClientSession(
            connector=TCPConnector(limit=64),
            timeout=ClientTimeout(total=60),
            auto_decompress=False,
            skip_auto_headers=("Accept-Encoding", "User-Agent", "Content-Type"),
        ) as session:
            app[_SESSION] = session
            yield

    app.cleanup_ctx.append(session_context)
    app.router.add_route("*", "/{tail:.*}", _proxy)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="InfluxDB v2 write proxy for InfluxDB 1.x")
    parser.add_argument("--listen", required=True, help="HOST:PORT to listen on")
    parser.add_argument("--upstream", required=True, help="InfluxDB 1.x base URL")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    logging.basicConfig(
        level=logging.INFO, format="ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"
    )
    log.info(kv("influx_proxy_starting", listen=args.listen, upstream=args.upstream))
    # auto_decompress=False: a gzip body must reach InfluxDB still gzipped, as its header says.
    web.run_app(
        make_app(URL(args.upstream)),
        host=host,
        port=int(port),
        print=None,
        access_log=None,
        auto_decompress=False,
    )


if __name__ == "__main__":
    main()
