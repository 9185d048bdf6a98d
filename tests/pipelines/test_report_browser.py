"""Open report.html in a real headless Chromium: it renders, logs nothing and fetches nothing."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from anomaly.cli import app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's chromium)")


def test_report_renders_offline_without_console_errors_or_requests(tmp_path):
    import matplotlib.image

    folder = tmp_path / "report"
    made = CliRunner().invoke(app, ["compare", "--dataset", "robot-arm", "--detectors", "pca", "-o", str(folder)])
    assert made.exit_code == 0, made.output
    shot, netlog = tmp_path / "shot.png", tmp_path / "net.json"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps", f"--user-data-dir={tmp_path / 'profile'}",
         f"--log-net-log={netlog}", "--enable-logging=stderr", "--v=0", "--window-size=1200,1600",
         f"--screenshot={shot}", (folder / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert shot.exists(), done.stderr[-2000:]
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[0] > 500 and pixels[..., :3].std() > 0.05  # charts and tables drawn, not a blank page
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console
    assert page_requests(netlog) == []


def page_requests(netlog) -> list[str]:
    """URLs the page itself asked for, from Chromium's net log.

    Chromium's own background traffic (component updater, time sync, account checks) carries
    the initiator "not an origin"; anything a page requests carries the page's origin.
    """
    log = json.loads(netlog.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start_job and e.get("params", {}).get("initiator", "not an origin") != "not an origin"
    ]


def test_the_request_check_sees_a_page_request(tmp_path):
    """Guard against a check that cannot fail: a page with a remote image is caught."""
    page = tmp_path / "remote.html"
    page.write_text('<!doctype html><img src="http://127.0.0.1:9/x.png">')
    netlog = tmp_path / "net.json"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         f"--user-data-dir={tmp_path / 'profile'}", f"--log-net-log={netlog}", f"--screenshot={tmp_path / 's.png'}", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert page_requests(netlog) == ["http://127.0.0.1:9/x.png"]
