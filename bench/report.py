"""Figures from the measurements: latency percentiles, ratios to the limits, the issue's targets,
and the JSON, table and plot they end up in."""

import json
import math
from pathlib import Path
from typing import Any

from bench.load import Measurement
from bench.scenarios import HASH_BOUND, HEALTH, Scenario

# The targets of the issue (goals on the 2-core development machine, not asserts).
RATIO_TARGETS = {"login": 0.85, "validate": 0.5, "refresh": 0.35, "vault-key": 0.35, "grant": 0.3, "passkey-verify": 0.2}
P99_TARGET_MS = 50.0
P99_EXEMPT = {"login"}  # bound by Argon2id by design
RSS_TARGET_MB = 120.0


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else math.nan


def scenario_figures(scenario: Scenario, measurement: Measurement) -> dict[str, Any]:
    latencies = sorted(measurement.tally.latencies)
    rps = len(latencies) / measurement.duration_s
    return {
        "description": scenario.description,
        "limit": scenario.limit,
        "requests": len(latencies),
        "rps": rps,
        "latency_ms": {
            name: percentile(latencies, share) * 1000 for name, share in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
        },
        "errors": measurement.tally.errors,
        "error_samples": measurement.tally.error_samples,
        "untimed_requests": measurement.tally.untimed_requests,
        # CPU in cores (CPU-seconds per second) while measuring: is the machine, the server or the load generator the limit?
        "cpu_cores": {
            "machine": measurement.machine_cpu_cores,
            "gunicorn": measurement.server_cpu_cores,
            "load_generator": measurement.client_cpu_cores,
        },
        # Machine CPU (gunicorn, PostgreSQL, Redis, load generator) per request: on a saturated machine
        # two scenarios' throughputs are roughly in the inverse ratio of this figure.
        "cpu_ms_per_request": measurement.machine_cpu_cores * 1000 / rps if rps else math.nan,
    }


def errors_of(figures: dict[str, Any]) -> int:
    """A scenario's failed requests, those of the health slices between its own included."""
    return int(figures["errors"]) + int(figures.get("interleaved_health", {}).get("errors", 0))


def add_ratios(scenarios: dict[str, dict[str, Any]], hash_bound_rps: float) -> None:
    """Each scenario's throughput as a share of its limit from the same run: health measured in
    slices between its own (the full health run where there is none), or the hash bound — the best of the run,
    the seeding's or the one right before, since a VM that slows down while one is measured gives
    a bound below what the machine does, and a ratio above what the code earns."""
    health = scenarios.get(HEALTH, {}).get("rps")
    for figures in scenarios.values():
        if figures["limit"] == HASH_BOUND:
            limit = max(hash_bound_rps, figures.get("adjacent_bound", {}).get("rps", 0.0))
        else:
            limit = figures.get("interleaved_health", {}).get("rps", health)
        figures["limit_rps"] = limit
        figures["ratio"] = figures["rps"] / limit if limit else None


def targets(scenarios: dict[str, dict[str, Any]], worker_rss_mb: list[float]) -> list[dict[str, Any]]:
    """The issue's targets for what ran, each with the measured value and whether it is met."""
    checks: list[dict[str, Any]] = []
    for name, goal in RATIO_TARGETS.items():
        if name in scenarios and scenarios[name]["ratio"] is not None:
            ratio = scenarios[name]["ratio"]
            checks.append({"target": f"{name} ≥ {goal} of {scenarios[name]['limit']}", "value": round(ratio, 3), "met": ratio >= goal})
    for name, figures in scenarios.items():
        if name not in P99_EXEMPT:
            p99 = figures["latency_ms"]["p99"]
            checks.append({"target": f"{name} p99 < {P99_TARGET_MS:.0f} ms", "value": round(p99, 1), "met": p99 < P99_TARGET_MS})
    if worker_rss_mb:
        largest = max(worker_rss_mb)
        checks.append({"target": f"worker RSS ≤ {RSS_TARGET_MB:.0f} MB", "value": round(largest, 1), "met": largest <= RSS_TARGET_MB})
    errors = sum(errors_of(figures) for figures in scenarios.values())
    checks.append({"target": "zero errors", "value": errors, "met": errors == 0})
    return checks


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_finite(results), indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def _finite(value: Any) -> Any:
    """NaN (no successful request to measure) as null: NaN is not JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def table(results: dict[str, Any]) -> str:
    rows = [f"{'scenario':<15}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}{'CPU ms':>8}{'ratio':>8}  of"]
    for name, figures in results["scenarios"].items():
        latency = figures["latency_ms"]
        ratio = "-" if figures["ratio"] is None else f"{figures['ratio']:.2f}"
        limit = figures["limit"]
        if "interleaved_health" in figures:
            limit = f"{limit} between its slices: {figures['interleaved_health']['rps']:.1f}"
        if "adjacent_bound" in figures:
            limit = f"{limit}, the best of the run: {figures['limit_rps']:.1f} (right before: {figures['adjacent_bound']['rps']:.1f})"
        rows.append(
            f"{name:<15}{figures['rps']:>9.1f}{latency['p50']:>9.1f}{latency['p95']:>9.1f}{latency['p99']:>9.1f}"
            f"{errors_of(figures):>8}{figures['cpu_ms_per_request']:>8.2f}{ratio:>8}  {limit}"
        )
    hashing = results["hash"]
    rows.append(
        f"hash bound at seeding: {hashing['bound_rps']:.1f}/s measured with {hashing['processes']} processes verifying at once"
        f" (one alone: {hashing['verify_s'] * 1000:.1f} ms, {hashing['single_rps']:.1f}/s; {hashing['hasher']})"
    )
    for moment, sizes in results["worker_rss_mb"].items():
        rows.append(f"worker RSS {moment.replace('_', ' ')}: {', '.join(f'{rss:.1f}' for rss in sizes)} MB")
    rows.extend(f"{'met   ' if check['met'] else 'MISSED'} {check['target']}: {check['value']}" for check in results["targets"])
    return "\n".join(rows)


def plot(results: dict[str, Any], path: Path) -> bool:
    """Throughput (with the ratio to its limit) and p99 per scenario as a PNG; False without matplotlib."""
    try:
        import matplotlib  # type: ignore[import-not-found,unused-ignore]  # optional: not a declared dependency
    except ImportError:
        return False
    matplotlib.use("Agg")  # files only, no display
    from matplotlib import pyplot

    names = list(results["scenarios"])
    figures = [results["scenarios"][name] for name in names]
    figure, (throughput, latency) = pyplot.subplots(1, 2, figsize=(12, 4.5))
    bars = throughput.bar(names, [entry["rps"] for entry in figures], color="#4c72b0")
    throughput.bar_label(bars, labels=["" if entry["ratio"] is None else f"{entry['ratio']:.2f}" for entry in figures], fontsize=8)
    throughput.set_yscale("log")  # health and login are two orders of magnitude apart
    throughput.set_title("requests/s (label: ratio to its limit)")
    latency.bar(names, [entry["latency_ms"]["p99"] for entry in figures], color="#dd8452")
    latency.axhline(P99_TARGET_MS, color="grey", linestyle="--", linewidth=1, label=f"target {P99_TARGET_MS:.0f} ms")
    latency.set_title(f"p99 latency, ms ({results['config']['connections']} connections)")
    latency.legend()
    for axes in (throughput, latency):
        axes.tick_params(axis="x", labelrotation=30)
    machine = results["machine"]
    figure.suptitle(f"mana-auth on {machine['cpu_model']} ({machine['nproc']} CPUs), {results['generated_at']}", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return True
