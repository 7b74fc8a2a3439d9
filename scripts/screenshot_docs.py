"""Build the documentation site, serve it locally and screenshot pages in headless Chromium.

    python3 scripts/screenshot_docs.py                       # default pages -> out/docs-screenshots/
    python3 scripts/screenshot_docs.py --pages concepts/schedulers/ tutorials/forward-process/
    python3 scripts/screenshot_docs.py --site-dir site/      # screenshot an existing build

The site is built with ``python3 -m mkdocs build --strict`` into a temporary folder and served
on 127.0.0.1 by `http.server` in a thread; Debian's ``/usr/bin/chromium`` (``apt-get install
chromium``) loads each page with no network access beyond that server and writes a PNG. Look
at the pictures: the navigation, the rendered maths (KaTeX, not raw ``\\(...\\)``) and the images
must show.

Besides the PNGs, each page is checked without looking: the picture must not be empty;
Chromium dumps the DOM after the scripts ran, which must hold the navigation and KaTeX output
(``class="katex"``) for every maths span of a page that has maths; and the server must have
answered every request the page made (a 404 for a picture, a script or a font is reported).
The script exits with status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# A concept page with display maths and tables, a tutorial with maths and figures, the home page.
DEFAULT_PAGES = ("concepts/schedulers/", "tutorials/forward-process/", "")
# Chromium flags: no GPU, no network traffic of its own (updates, sync, QUIC probes), a private
# profile, and a tall window so that one screenshot shows most of a page. The virtual-time
# budget lets the page's scripts (KaTeX) finish before the picture is taken.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=10000",
)
WINDOW_SIZE = "1280,2000"


class _LoggingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site and records (status, path) of every request, quietly."""

    requests: list[tuple[int, str]]

    def log_request(self, code="-", size="-") -> None:
        self.requests.append((int(code) if str(code).isdigit() else 0, self.path))

    def log_message(self, format, *args) -> None:
        pass


def build_site(site_dir: Path, config_file: Path) -> None:
    """``mkdocs build --strict`` into `site_dir`; raises with mkdocs' output if it fails."""
    command = [
        sys.executable,
        "-m",
        "mkdocs",
        "build",
        "--strict",
        "--config-file",
        str(config_file),
        "--site-dir",
        str(site_dir),
    ]
    result = subprocess.run(command, check=False, cwd=config_file.parent, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"the docs build failed:\n{result.stdout}{result.stderr}")


def serve(site_dir: Path) -> tuple[http.server.ThreadingHTTPServer, list[tuple[int, str]]]:
    """Serve `site_dir` on 127.0.0.1 (a free port) in a daemon thread; return the server and its request log."""
    requests: list[tuple[int, str]] = []
    handler = type("Handler", (_LoggingHandler,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, requests


def chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={WINDOW_SIZE}", *extra, url]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)


def check_picture(png: Path) -> list[str]:
    """Problems visible in the screenshot itself: an empty (all one colour) picture."""
    from PIL import Image

    with Image.open(png) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    # getcolors returns None when there are more colours than maxcolors: plenty.
    if colours is not None and len(colours) < 16:
        return [f"the screenshot is nearly empty ({len(colours)} colours)"]
    return []


def check_page(dom: str) -> list[str]:
    """Problems visible in a page's DOM after its scripts ran: maths left unrendered."""
    problems = []
    math_spans = len(re.findall(r'class="arithmatex"', dom))
    rendered = len(re.findall(r'class="katex"', dom))
    if math_spans and rendered < math_spans:
        problems.append(f"{math_spans} maths spans but only {rendered} rendered by KaTeX")
    if "katex-error" in dom:
        problems.append("KaTeX could not parse some maths (class katex-error)")
    if 'class="md-nav' not in dom:
        problems.append("no navigation (md-nav) in the page")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--pages",
        nargs="+",
        default=list(DEFAULT_PAGES),
        help="site paths, e.g. concepts/schedulers/ ('' is the home page)",
    )
    parser.add_argument("--out-dir", type=Path, default=ROOT / "out" / "docs-screenshots")
    parser.add_argument("--site-dir", type=Path, help="an existing build to serve instead of building one")
    parser.add_argument("--config-file", type=Path, default=ROOT / "mkdocs.yml")
    args = parser.parse_args()

    if not Path(CHROMIUM).is_file():
        raise SystemExit(f"{CHROMIUM} not found: install Debian's chromium package (apt-get install -y chromium)")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gandiff-docs-") as tmp:
        site_dir = args.site_dir
        if site_dir is None:
            site_dir = Path(tmp) / "site"
            build_site(site_dir, args.config_file.resolve())
        server, requests = serve(site_dir)
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        failures = 0
        try:
            for page in args.pages:
                url = base + page
                name = re.sub(r"[^\w.-]+", "-", page.strip("/")).strip("-") or "index"
                png = args.out_dir / f"{name}.png"
                profile = Path(tempfile.mkdtemp(dir=tmp, prefix="chromium-"))
                before = len(requests)
                shot = chromium(url, profile, f"--screenshot={png}")
                if not png.is_file():
                    print(f"FAIL {url}: no screenshot\n{shot.stderr[-2000:]}")
                    failures += 1
                    continue
                dom = chromium(url, profile, "--dump-dom").stdout
                problems = check_picture(png) + check_page(dom)
                failed = dict.fromkeys(f"HTTP {code} for {path}" for code, path in requests[before:] if code >= 400)
                problems += list(failed)  # each once, though the page was loaded twice
                status = "FAIL" if problems else "ok"
                failures += bool(problems)
                print(f"{status} {png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}  <- {url}")
                for problem in problems:
                    print(f"    {problem}")
                shutil.rmtree(profile, ignore_errors=True)
        finally:
            server.shutdown()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
