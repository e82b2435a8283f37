"""Headless Chromium (Debian's `chromium` package, installed by `make test`) for looking at a page
as a person would: a screenshot, what the page wrote to its console, and every request it tried to
send to the network.

The network is closed: every host name resolves to nothing (`--host-resolver-rules`), and every
request goes to a local proxy that records it and answers 502 (`--proxy-server`, loopback
included). Chromium itself also calls a few Google services of its own (component updates, time,
accounts) whatever the page holds; those hosts are named in BROWSER_OWN and left out of what the
page requested.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BROWSER_OWN = frozenset({"update.googleapis.com", "clients2.google.com", "accounts.google.com", "redirector.gvt1.com"})
"""Hosts Chromium calls by itself, for any page (seen on a blank page here)."""
_CONSOLE = re.compile(r":INFO:CONSOLE[^\]]*\] (?P<message>.*)$")
_FLAGS = (
    "--headless",
    "--no-sandbox",  # tests run as root
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)


@dataclass(frozen=True)
class Browsed:
    console: list[str]
    """What the page wrote to its console (errors, uncaught exceptions, console.log)."""
    requests: list[str]
    """Every request the page tried to send ("GET http://host/path", "CONNECT host:443")."""


def executable() -> str:
    found = shutil.which("chromium")
    if found is None:
        raise AssertionError("chromium is not installed: `make test` installs Debian's chromium package")
    return found


def screenshot(page: Path, png: Path, *, width: int = 1200, height: int = 2400) -> Browsed:
    """Open `page` (a file), let it load, and write what the window shows to `png`."""
    proxy = _RecordingProxy()
    try:
        with tempfile.TemporaryDirectory() as profile:
            completed = subprocess.run(
                [
                    executable(),
                    *_FLAGS,
                    f"--user-data-dir={profile}",
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                    f"--proxy-server=http://127.0.0.1:{proxy.port}",
                    "--proxy-bypass-list=<-loopback>",
                    f"--window-size={width},{height}",
                    f"--screenshot={png}",
                    page.resolve().as_uri(),
                ],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
    finally:
        proxy.close()
    if completed.returncode != 0 or not png.is_file():
        raise AssertionError(f"chromium failed ({completed.returncode}): {completed.stderr[-2000:]}")
    console = [m.group("message") for line in completed.stderr.splitlines() if (m := _CONSOLE.search(line))]
    requests = [r for r in proxy.requests if _host(r) not in BROWSER_OWN]
    return Browsed(console=console, requests=requests)


def _host(request: str) -> str:
    """The host of "GET http://host:80/path HTTP/1.1" or "CONNECT host:443 HTTP/1.1"."""
    target = request.split(" ")[1]
    return re.sub(r"^[a-z]+://", "", target).split("/")[0].rsplit(":", 1)[0]


class _RecordingProxy:
    def __init__(self) -> None:
        self.requests: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _refuse(self) -> None:
                proxy.requests.append(self.requestline)
                self.send_response(502)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_HEAD = do_CONNECT = do_PUT = _refuse  # noqa: N815 (http.server's names)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
