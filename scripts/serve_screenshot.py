"""Screenshot of `eoforge serve` on a run folder in Chromium (the README's picture).

Serves PATH on a free port of 127.0.0.1, opens the page in the system's
Chromium (Debian's ``chromium``) through Playwright, waits for the tiles,
turns on the swipe (scene left, predicted classes right), clicks the map to
fill the inspector, and saves a PNG.

Usage:
    .venv/bin/python scripts/serve_screenshot.py runs/demo docs/img/serve_demo.png
"""

from __future__ import annotations

import argparse
import shutil
import socket
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from eoforge.serve.app import create_app

ARGS = [
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--no-sandbox",
    "--disable-dev-shm-usage",
]


def main() -> None:
    """Serve the run, open it in Chromium, screenshot it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="run folder to serve (e.g. runs/demo)")
    parser.add_argument("out", type=Path, help="PNG to write")
    parser.add_argument("--chromium", default=shutil.which("chromium"), help="Chromium executable")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=760)
    args = parser.parse_args()
    if not args.chromium:
        raise SystemExit("no chromium on PATH: apt-get install chromium, or pass --chromium")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app([args.path]), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("document.body.dataset.state === 'ready'", timeout=60_000)
            page.evaluate("() => window.eoforgeViewer.settled()")
            page.check("#swipe-on")
            page.evaluate("() => window.eoforgeViewer.settled()")
            # Inspect a place right of the divider, a little above the centre.
            page.mouse.click(args.width * 0.58, args.height * 0.42)
            page.locator("#inspector .inspect-layer").first.wait_for(timeout=20_000)
            page.evaluate("() => window.eoforgeViewer.settled()")
            page.evaluate("() => { document.getElementById('panel').scrollTop = 0; }")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out))
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
