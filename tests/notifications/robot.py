"""A local HTTP server that plays WeCom group robots (企业微信群机器人), started by the test on 127.0.0.1.

Each webhook `key` is a robot of its own, with a behaviour the test picks:

- `ok`: answers {"errcode": 0, "errmsg": "ok"};
- `errcode`: answers errcode 93000 (invalid webhook) with HTTP 200, as WeCom does; `http500`: an HTTP 500;
- `limited`: the real robot's rule — more than 20 messages in the last 60 s (on the test's clock) and it answers
  45009 without taking the message;
- `throttle:N`: 45009 to the first N requests, then ok;
- `hang`: holds the request past the dispatcher's timeout, then answers ok (too late).

Every request is recorded with the moment it arrived on the test's clock (`received`); `delivered` are the ones it
took (answered errcode 0).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from linli.clock import Clock

OK = {"errcode": 0, "errmsg": "ok"}
RATE_LIMITED = {"errcode": 45009, "errmsg": "api freq out of limit"}
INVALID = {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1700000000_1]"}


@dataclass(frozen=True)
class Received:
    key: str
    payload: dict
    at: datetime
    answered: int  # the errcode, or the HTTP status when it was not 200


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a dispatcher sends a robot's 20 at once (the default backlog is 5)


class RobotStandIn:
    def __init__(self, clock: Clock, *, hang_seconds: float = 1.5) -> None:
        self.clock = clock
        self.hang_seconds = hang_seconds
        self.modes: dict[str, str] = {}
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._throttled: dict[str, int] = {}
        self._release = threading.Event()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = parse_qs(urlsplit(self.path).query).get("key", [""])[0]
                status, answer = stand_in._answer(key, json.loads(body))
                content = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except OSError:  # the dispatcher gave up on a hanging robot and closed the connection
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, key: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/webhook/send?key={key}"

    def _answer(self, key: str, payload: dict) -> tuple[int, dict]:
        mode = self.modes.get(key, "ok")
        with self._lock:
            at = self.clock.now()
            if mode == "hang":
                answer: tuple[int, dict] = (200, OK)
            elif mode == "errcode":
                answer = (200, INVALID)
            elif mode == "http500":
                answer = (500, {"error": "internal"})
            elif mode == "limited":
                recent = [r for r in self.received if r.key == key and r.answered == 0 and r.at > at - timedelta(seconds=60)]
                answer = (200, RATE_LIMITED if len(recent) >= 20 else OK)
            elif mode.startswith("throttle:"):
                left = self._throttled.setdefault(key, int(mode.split(":")[1]))
                self._throttled[key] = max(0, left - 1)
                answer = (200, RATE_LIMITED if left > 0 else OK)
            else:
                answer = (200, OK)
            status, body = answer
            self.received.append(Received(key=key, payload=payload, at=at, answered=body["errcode"] if status == 200 else status))
        if mode == "hang":
            self._release.wait(self.hang_seconds)
        return answer

    def of(self, key: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.key == key]

    def delivered(self, key: str) -> list[Received]:
        return [r for r in self.of(key) if r.answered == 0 and self.modes.get(key, "ok") != "hang"]

    def most_in_a_minute(self, key: str) -> int:
        """The most requests the robot received in any 60 s (on the test's clock)."""
        times = sorted(r.at for r in self.of(key))
        return max((sum(1 for t in times[i:] if t < start + timedelta(seconds=60)) for i, start in enumerate(times)), default=0)

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
