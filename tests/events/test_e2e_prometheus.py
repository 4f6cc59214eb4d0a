"""A real Prometheus scrapes `events watch --metrics` against the emulator; promtool
checks the exposition and the example alerting rules. Skipped, with the reason,
where the binaries are not installed (Debian's package `prometheus`; .ci/run
installs it as root). Every wait is bounded."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from imdsctl.emulator import events as se
from tests.lib.events import Watch

pytestmark = [pytest.mark.e2e, pytest.mark.once]

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
PROMETHEUS, PROMTOOL = shutil.which("prometheus"), shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None,
                                    reason="promtool is not installed (apt-get install prometheus)")
#: Generous: the suite runs with 4 workers on 2 cores.
DEADLINE = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.read()


class Prometheus:
    """prometheus on 127.0.0.1 scraping ``target`` every second."""

    def __init__(self, tmp_path: Path, target: str):
        self.port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text("global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
                          "scrape_configs:\n"
                          f"  - job_name: imdsctl\n    static_configs: [{{targets: ['{target}']}}]\n")
        self.log = tmp_path / "prometheus.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                stdout=subprocess.DEVNULL, stderr=log)

    def query(self, expr: str) -> dict:
        """{labels as a sorted tuple of the ones asked: value} of an instant query."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            answer = json.loads(get(url))
        except OSError:
            return {}  # not listening yet
        return {json.dumps(r["metric"], sort_keys=True): float(r["value"][1])
                for r in answer["data"]["result"]}

    def until(self, expr: str, done, what: str) -> dict:
        deadline = time.monotonic() + DEADLINE
        while True:
            seen = self.query(expr)
            if done(seen):
                return seen
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, f"Prometheus never showed {what}: {expr} = {seen}"
            time.sleep(0.5)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def pending(prometheus: Prometheus, status: str) -> float:
    found = prometheus.query(f'imdsctl_scheduled_events{{type="Reboot",status="{status}"}}')
    return next(iter(found.values()), -1.0)


@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus is not installed (apt-get install prometheus)")
@needs_promtool
def test_a_real_prometheus_follows_the_scenario(imds_emulator, tmp_path):
    # Each transition is made when Prometheus has shown the one before: no race with scenario time.
    state = se.attach(imds_emulator.service, events=("Reboot",))
    event_id = state.document()["Events"][0]["EventId"]
    port = free_port()
    watch = Watch("--interval", "0.5", "--metrics", f"127.0.0.1:{port}", "-o", "json")
    prometheus = Prometheus(tmp_path, f"127.0.0.1:{port}")
    try:
        watch.until(lambda lines: len(lines) == 1)
        prometheus.until('count_over_time(up{job="imdsctl"}[1m])', lambda s: s and min(s.values()) >= 2,
                         "two scrapes")
        assert list(prometheus.query('up{job="imdsctl"}').values()) == [1.0]
        prometheus.until("imdsctl_imds_up", lambda s: list(s.values()) == [1.0], "IMDS up")
        prometheus.until('imdsctl_scheduled_events{status="Scheduled",type="Reboot"}',
                         lambda s: list(s.values()) == [1.0], "the Reboot Scheduled")
        assert pending(prometheus, "Started") == 0
        state.approve([event_id])
        prometheus.until('imdsctl_scheduled_events{status="Started",type="Reboot"}',
                         lambda s: list(s.values()) == [1.0], "the Reboot Started")
        assert pending(prometheus, "Scheduled") == 0
        state.cancel(event_id)
        prometheus.until('sum(imdsctl_scheduled_events)', lambda s: list(s.values()) == [0.0],
                         "the Reboot gone")
        exposition = get(f"http://127.0.0.1:{port}/metrics")
    finally:
        prometheus.stop()
        code, _, err = watch.stop()
    assert code == 0, err
    lint = subprocess.run([PROMTOOL, "check", "metrics"], input=exposition, capture_output=True, timeout=30)
    assert lint.returncode == 0, lint.stdout + lint.stderr


@needs_promtool
def test_the_example_alerting_rules_pass_promtool():
    checked = subprocess.run([PROMTOOL, "check", "rules", str(RULES / "imdsctl-rules.yml")],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run([PROMTOOL, "test", "rules", str(RULES / "imdsctl-rules.test.yml")],
                            capture_output=True, text=True, timeout=60)
    assert tested.returncode == 0, tested.stdout + tested.stderr
