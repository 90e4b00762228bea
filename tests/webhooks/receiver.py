#!/usr/bin/env python3
"""A webhook receiver for npsd's tests: a real HTTP server on a random port that verifies every
delivery with the Standard Webhooks reference library (PyPI `standardwebhooks`), unmodified.

Prints its port on the first line of stdout, then serves until killed.

  POST /_control   {"secret": "whsec_...", "offset_seconds": N, "fail_first": K, "status": S,
                    "delay_seconds": D}
                   set the endpoint's secret; the clock offset of the app under test (its clock
                   may run ahead of this machine's: the library's timestamp check then uses this
                   machine's clock moved by N seconds); answer the next K deliveries with status
                   S (default 500); wait D seconds before answering.
  GET  /_received  every delivery so far, in arrival order: path, the webhook-* headers, the
                   body, whether the library verified it and why not.
  POST anything    a delivery.
"""
import datetime as real_datetime
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import standardwebhooks.webhooks as sw

STATE = {"secret": None, "offset": 0.0, "fail_first": 0, "status": 500, "delay": 0.0}
RECEIVED = []
LOCK = threading.Lock()


class ShiftedDatetime(real_datetime.datetime):
    """The library reads `datetime.now` for its five-minute tolerance; the app's clock is the
    test's, which may run ahead of this machine's."""

    @classmethod
    def now(cls, tz=None):
        return real_datetime.datetime.now(tz) + real_datetime.timedelta(seconds=STATE["offset"])


sw.datetime = ShiftedDatetime


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _reply(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_received":
            with LOCK:
                body = json.dumps(RECEIVED).encode()
            self._reply(200, body)
        else:
            self._reply(404, b"{}")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path == "/_control":
            cfg = json.loads(raw or b"{}")
            with LOCK:
                if "secret" in cfg:
                    STATE["secret"] = cfg["secret"]
                if "offset_seconds" in cfg:
                    STATE["offset"] = float(cfg["offset_seconds"])
                if "fail_first" in cfg:
                    STATE["fail_first"] = int(cfg["fail_first"])
                if "status" in cfg:
                    STATE["status"] = int(cfg["status"])
                if "delay_seconds" in cfg:
                    STATE["delay"] = float(cfg["delay_seconds"])
            self._reply(200, b"{}")
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified, error, payload = False, None, None
        with LOCK:
            secret = STATE["secret"]
        try:
            if secret is None:
                raise ValueError("no secret configured")
            payload = sw.Webhook(secret).verify(raw, headers)
            verified = True
        except Exception as e:  # the library's verdict, kept for the test to read
            error = f"{type(e).__name__}: {e}"
        with LOCK:
            failing = STATE["fail_first"] > 0
            if failing:
                STATE["fail_first"] -= 1
            status = STATE["status"] if failing else 200
            delay = STATE["delay"]
            RECEIVED.append(
                {
                    "path": self.path,
                    "webhook_id": headers.get("webhook-id"),
                    "webhook_timestamp": headers.get("webhook-timestamp"),
                    "webhook_signature": headers.get("webhook-signature"),
                    "delighted_signature": headers.get("x-delighted-webhook-signature"),
                    "content_type": headers.get("content-type"),
                    "body": raw.decode("utf-8", "replace"),
                    "payload": payload,
                    "verified": verified,
                    "error": error,
                    "answered": status,
                    "at": time.time(),
                }
            )
        if delay:
            time.sleep(delay)
        self._reply(status, b'{"ok": true}' if status == 200 else b'{"error": "try again"}')


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A sender that went away mid-answer (npsd killed during a delivery, a timeout) is what
        # the tests do on purpose: nothing to report.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def main():
    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
