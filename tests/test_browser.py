"""The HTML report in a real headless Chromium: every image loads, text panels are HTML text, no sideways
scrolling at 1280 px or on a narrow window (500 px, the narrowest headless Chromium lays out).

Needs Debian's ``chromium`` (``apt-get install -y chromium``); skipped, saying so, without it.
``python tests/test_browser.py`` writes the screenshots of ``docs/`` (``docs/browser-1280.png``,
``docs/browser-narrow.png``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]

#: Appended to a copy of the report (the report itself has no script): the page's own verdict, in the DOM.
PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const doc = document.documentElement;
  const r = {
    images: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
    overflowing: imgs.filter(i => i.getBoundingClientRect().right > window.innerWidth + 1).map(i => i.alt),
    scroll_width: doc.scrollWidth, width: window.innerWidth,
    findings_text: (document.querySelector("#findings .panel") || {}).innerText || "",
    suggestions_code: (document.querySelector("#suggestions pre") || {}).innerText || "",
    text_panel_images: document.querySelectorAll("#findings img, #suggestions img").length,
  };
  const out = document.createElement("pre"); out.id = "hpviz-probe"; out.textContent = JSON.stringify(r);
  document.body.appendChild(out);
});
</script>"""


def _chromium(*args: str, cwd: Path) -> str:
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], cwd=cwd,
                              capture_output=True, text=True, timeout=120)
    return proc.stdout


def probe(report: Path, width: int) -> dict:
    """Load a copy of ``report`` with :data:`PROBE` in Chromium at ``width`` px; the probe's findings."""
    page = report.with_name(f"probe-{width}.html")
    page.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _chromium(f"--window-size={width},900", "--virtual-time-budget=10000", "--dump-dom", page.as_uri(),
                    cwd=report.parent)
    found = re.search(r'<pre id="hpviz-probe">(.*?)</pre>', dom, re.S)
    assert found, f"the probe did not run in Chromium: {dom[-500:]}"
    import html

    return json.loads(html.unescape(found.group(1)))


def screenshot(report: Path, out: Path, width: int, height: int) -> None:
    _chromium(f"--window-size={width},{height}", f"--screenshot={out}", report.as_uri(), cwd=report.parent)


def sample_report(folder: Path) -> Path:
    import dataclasses
    import datetime

    import hpviz
    from hpviz.testing import make_experiment

    exp = make_experiment(80, log_steps=8, prune_rate=0.1, name="browser check <b>not bold</b>")
    hpviz.suggest_space(exp).apply(exp)
    later = datetime.timedelta(seconds=100)  # round 2 runs after round 1
    for t in make_experiment(30, seed=2).trials:
        exp.add(dataclasses.replace(t, number=t.number + 100, round=1, log=None, started=t.started + later,
                                    finished=t.finished + later))
    return hpviz.report(exp, folder / "report.html", n_trees=8)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install -y chromium); "
                                              "`make browser-check` installs it")
def test_html_report_in_headless_chromium(tmp_path: Path) -> None:
    report = sample_report(tmp_path)
    for width in (1280, 500):
        r = probe(report, width)
        assert r["images"] >= 6 and not r["broken"], r  # every image decodes
        assert not r["overflowing"], r  # images scale down to the window
        assert r["scroll_width"] <= r["width"] + 1, r  # no sideways scrolling
        assert r["text_panel_images"] == 0 and len(r["findings_text"]) > 40, r  # findings are text
        assert "space = " in r["suggestions_code"] or "import" in r["suggestions_code"], r  # code is copyable text
    shot = tmp_path / "shot.png"
    screenshot(report, shot, 1280, 1600)
    assert shot.stat().st_size > 20_000


if __name__ == "__main__":  # write the screenshots shown in docs/report.md
    if CHROMIUM is None:
        sys.exit("chromium is not installed: apt-get install -y chromium")
    docs = Path(__file__).resolve().parents[1] / "docs"
    with tempfile.TemporaryDirectory() as tmp:
        rep = sample_report(Path(tmp))
        screenshot(rep, docs / "browser-1280.png", 1280, 1400)
        screenshot(rep, docs / "browser-narrow.png", 500, 1400)
    print("wrote", docs / "browser-1280.png", docs / "browser-narrow.png", file=sys.stderr)
    os._exit(0)
