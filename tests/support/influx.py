"""InfluxDB 1.x for tests: a database of one's own, and InfluxQL answers as plain rows."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid
from typing import Any


class InfluxDb:
    """One throwaway database on the stack's InfluxDB (queried through `base_url`)."""

    def __init__(self, base_url: str, name: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name or f"t{uuid.uuid4().hex[:10]}"
        self.query(f'CREATE DATABASE "{self.name}"', database=None, method="POST")

    @property
    def bucket(self) -> str:
        return f"{self.name}/autogen"

    def query(
        self, q: str, *, database: str | None = "", method: str = "GET"
    ) -> list[dict[str, Any]]:
        """The series of the first statement's result; raises on an InfluxQL error."""
        params = {"q": q, "epoch": "ns"}
        db = self.name if database == "" else database
        if db is not None:
            params["db"] = db
        url = f"{self.base_url}/query?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        result = answer["results"][0]
        if "error" in result:
            raise AssertionError(f"InfluxQL error for {q!r}: {result['error']}")
        series: list[dict[str, Any]] = result.get("series", [])
        return series

    def rows(self, q: str) -> list[dict[str, Any]]:
        """Every row of every series, as dicts with the series' tags folded in."""
        rows = []
        for series in self.query(q):
            tags = series.get("tags", {})
            for values in series["values"]:
                rows.append({**tags, **dict(zip(series["columns"], values, strict=True))})
        return rows

    def count(self, measurement: str, field: str) -> int:
        rows = self.rows(f'SELECT COUNT("{field}") FROM "{measurement}"')
        return int(rows[0]["count"]) if rows else 0

    def drop(self) -> None:
        self.query(f'DROP DATABASE "{self.name}"', database=None, method="POST")
