"""The benchmark harness (bench/) runs end to end on a tiny load. Its figures are not checked:
they depend on the machine, and the benchmark is not a test."""

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from django.conf import settings

from bench.load import Measurement, Tally, combined
from bench.report import add_ratios
from bench.scenarios import HASH_BOUND, HEALTH
from tests.support import REPO

DATABASE = "mana_auth_bench_test"  # not the benchmark's own, so a real run elsewhere is not disturbed


@pytest.mark.postgres
def test_harness_measures_three_scenarios_against_a_real_server(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "bench.run",
        "--users", "3", "--connections", "2", "--duration", "1", "--warmup", "0.5",
        "--scenarios", "health,login,validate",
        "--postgres", settings.DATABASE_URL, "--database", DATABASE,
        "--out", str(tmp_path),
    ]  # fmt: skip
    harness = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # noqa: S603
    try:
        output, _ = harness.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        harness.terminate()  # SIGTERM: the harness stops gunicorn and drops its database on the way out
        output, _ = harness.communicate(timeout=30)
        pytest.fail(f"the harness did not finish within 90 s:\n{output}")
    assert harness.returncode == 0, output

    results = json.loads((tmp_path / "latest.json").read_text())
    assert list(results["scenarios"]) == ["health", "login", "validate"]
    for name, figures in results["scenarios"].items():
        assert figures["requests"] > 0, name
        assert figures["errors"] == 0, (name, figures["error_samples"])
        assert figures["latency_ms"]["p50"] > 0, name
    validate = results["scenarios"]["validate"]
    # Against the health measured in slices between its own, not the first health run.
    yardstick = validate["interleaved_health"]
    assert yardstick["rps"] > 0 and yardstick["errors"] == 0 and yardstick["slices"] == 4
    assert validate["ratio"] == pytest.approx(validate["rps"] / yardstick["rps"])
    assert "interleaved_health" not in results["scenarios"]["health"]
    login = results["scenarios"]["login"]
    # Against the best hash bound of the run: the seeding's or the one right before it.
    assert login["adjacent_bound"]["rps"] > 0 and "interleaved_health" not in login
    best = max(login["adjacent_bound"]["rps"], results["hash"]["bound_rps"])
    assert login["ratio"] == pytest.approx(login["rps"] / best)
    assert results["hash"]["bound_rps"] > 0
    assert results["worker_rss_mb"]["after_run"], "no worker memory was read"
    with psycopg.connect(settings.DATABASE_URL) as admin:
        assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone() is None, "database left behind"


@pytest.mark.parametrize(("right_before", "limit"), [(60.0, 70.0), (80.0, 80.0)])
def test_login_is_measured_against_the_best_hash_bound_of_the_run(right_before: float, limit: float) -> None:
    """A bound measured while the VM slowed down would flatter the login; the better of the two
    bounds of the run is what the machine can do."""
    scenarios = {
        "health": {"limit": HEALTH, "rps": 1000.0},
        "login": {"limit": HASH_BOUND, "rps": 50.0, "adjacent_bound": {"rps": right_before}},
        "refresh": {"limit": HEALTH, "rps": 400.0, "interleaved_health": {"rps": 1100.0, "errors": 0, "slices": 4}},
    }
    add_ratios(scenarios, hash_bound_rps=70.0)
    assert scenarios["login"]["limit_rps"] == limit
    assert scenarios["login"]["ratio"] == pytest.approx(50.0 / limit)
    assert scenarios["refresh"]["ratio"] == pytest.approx(400.0 / 1100.0)


@pytest.mark.postgres
def test_a_missing_role_is_named_with_the_command_that_creates_it() -> None:
    from bench.server import fresh_database

    address = urlsplit(settings.DATABASE_URL)._replace(netloc=f"mana_auth_no_such_role@{urlsplit(settings.DATABASE_URL).hostname}:5432")
    with pytest.raises(SystemExit, match=r"mana_auth_no_such_role.*\n.*bash \.ci/run"), fresh_database(address.geturl(), DATABASE):
        pytest.fail("connected as a role that does not exist")


def test_slices_of_a_measurement_add_up_to_one() -> None:
    """An interleaved scenario's slices: every request and error counted once, each slice's CPU
    weighted by how long it lasted, no error sample twice."""
    first, second = Tally(latencies=[0.01, 0.02], errors=2, error_samples=["HttpError: 500"]), Tally(latencies=[0.03])
    second.errors, second.error_samples, second.untimed_requests = 1, ["HttpError: 500"], 3
    whole = combined(
        [
            Measurement(duration_s=1.0, tally=first, client_cpu_cores=0.2, server_cpu_cores=1.0, machine_cpu_cores=1.6),
            Measurement(duration_s=3.0, tally=second, client_cpu_cores=0.6, server_cpu_cores=1.4, machine_cpu_cores=2.0),
        ]
    )
    assert whole.duration_s == 4.0
    assert whole.tally.latencies == [0.01, 0.02, 0.03]
    assert (whole.tally.errors, whole.tally.error_samples, whole.tally.untimed_requests) == (3, ["HttpError: 500"], 3)
    assert whole.client_cpu_cores == pytest.approx(0.5)
    assert whole.server_cpu_cores == pytest.approx(1.3)
    assert whole.machine_cpu_cores == pytest.approx(1.9)
