"""Load a page in headless Chromium with the network blocked, through the DevTools protocol.

Chromium talks the protocol over two pipes (``--remote-debugging-pipe``: it reads commands
from fd 3 and writes replies and events to fd 4, each message JSON ending in a NUL byte), so
no driver, websocket library or network port is needed. Every request other than ``file:`` and
``data:`` goes to a proxy on the discard port (refused) after host names stopped resolving.

`load(path)` returns what a reader of the page would see: console errors, uncaught
exceptions, requests leaving the machine, failed loads, every <img> with its natural size and
place, and a screenshot of the whole page (PNG bytes).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WIDTH = 1280  # CSS pixels of the window
TIMEOUT_S = 180.0  # a browser that says nothing for this long has hung (not a speed limit)
BLOCKED = ("--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
           "--proxy-bypass-list=<-loopback>")

_IMAGES = """JSON.stringify(Array.from(document.images).map(i => {
  const r = i.getBoundingClientRect();
  return {alt: i.alt, complete: i.complete, naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight,
          x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height};
}))"""


def chromium() -> str | None:
    """The Chromium executable on PATH, or None."""
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    return None


@dataclass
class Page:
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # every URL requested
    failed: list[str] = field(default_factory=list)  # loads that failed, with the reason
    images: list[dict[str, Any]] = field(default_factory=list)
    title: str = ""
    height: int = 0
    screenshot: bytes = b""

    @property
    def external(self) -> list[str]:
        """Requests for anything but the page's own file and data: URLs."""
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]


class _Pipe:
    def __init__(self, write_fd: int, read_fd: int, proc: subprocess.Popen):
        self.w, self.r, self.proc = write_fd, read_fd, proc
        self.buf = b""
        self.n = 0
        self.events: list[dict] = []

    def _recv(self) -> dict:
        import select

        while b"\0" not in self.buf:
            ready, _, _ = select.select([self.r], [], [], TIMEOUT_S)
            if not ready:
                raise TimeoutError(f"chromium sent nothing for {TIMEOUT_S:g} s")
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.n += 1
        msg: dict[str, Any] = {"id": self.n, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._recv()
            if reply.get("id") == self.n:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> None:
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._recv())


def _launch(exe: str, profile: str) -> _Pipe:
    to_r, to_w = os.pipe()
    from_r, from_w = os.pipe()
    # the child's ends, moved above fds 3 and 4 so that dup2 onto 3 and 4 cannot clobber them
    child_r = fcntl.fcntl(to_r, fcntl.F_DUPFD, 10)
    child_w = fcntl.fcntl(from_w, fcntl.F_DUPFD, 10)

    def pipes_on_3_and_4() -> None:
        os.dup2(child_r, 3)
        os.dup2(child_w, 4)

    proc = subprocess.Popen(
        [exe, "--headless", "--disable-gpu", "--no-sandbox", "--remote-debugging-pipe", *BLOCKED,
         f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
         "--disable-extensions", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--metrics-recording-only", f"--window-size={WIDTH},900", "about:blank"],
        preexec_fn=pipes_on_3_and_4, pass_fds=(3, 4),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for fd in (to_r, from_w, child_r, child_w):
        os.close(fd)
    return _Pipe(to_w, from_r, proc)


def load(path: Path, exe: str) -> Page:
    """Open file `path` in headless Chromium `exe` with the network blocked; see the module."""
    profile = tempfile.mkdtemp(prefix="gsim-chromium-")
    pipe = _launch(exe, profile)
    try:
        target = next(t for t in pipe.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
        s = pipe.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            pipe.call(f"{domain}.enable", session=s)
        pipe.call("Page.navigate", {"url": Path(path).resolve().as_uri()}, s)
        pipe.wait_for("Page.loadEventFired")
        page = Page()
        page.images = json.loads(pipe.call("Runtime.evaluate", {"expression": _IMAGES, "returnByValue": True},
                                           s)["result"]["value"])
        page.title = pipe.call("Runtime.evaluate", {"expression": "document.title", "returnByValue": True},
                               s)["result"]["value"]
        page.height = int(pipe.call("Runtime.evaluate", {"expression": "document.documentElement.scrollHeight",
                                                         "returnByValue": True}, s)["result"]["value"])
        shot = pipe.call("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": WIDTH, "height": page.height, "scale": 1}}, s)
        page.screenshot = base64.b64decode(shot["data"])
        for e in pipe.events:
            p = e.get("params", {})
            m = e.get("method")
            if m == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                page.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
            elif m == "Runtime.exceptionThrown":
                page.exceptions.append(p["exceptionDetails"].get("text", ""))
            elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
                page.log_errors.append(p["entry"]["text"])
            elif m == "Network.requestWillBeSent":
                page.requests.append(p["request"]["url"])
            elif m == "Network.loadingFailed":
                page.failed.append(f"{p.get('type', '')}: {p.get('errorText', '')}")
        pipe.call("Browser.close")
        pipe.proc.wait(timeout=TIMEOUT_S)
        return page
    finally:
        if pipe.proc.poll() is None:
            pipe.proc.kill()
            pipe.proc.wait()
        os.close(pipe.w)
        os.close(pipe.r)
        shutil.rmtree(profile, ignore_errors=True)
