"""HTTP to npsd from the harness itself (not the load): one request on a fresh connection, and a
JSON call to its API with the admin key."""
from __future__ import annotations

import http.client
import json

from .common import API_KEY


def http_request(port, method, path, body=None, headers=None, timeout=60.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def api(port, method, path, payload=None, timeout=60.0):
    headers = {"Authorization": f"Bearer {API_KEY}"}
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    status, data = http_request(port, method, path, body, headers, timeout)
    try:
        return status, json.loads(data) if data else None
    except ValueError:
        return status, data[:300]
