"""Metrics: our own registry, call tracking, command timing, scrape-time collectors."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import REGISTRY as GLOBAL_REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from agi_callbot import metrics
from agi_callbot.agi import commands as cmd


def value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def families() -> dict[str, object]:
    body, _ = metrics.exposition()
    return {f.name: f for f in text_string_to_metric_families(body.decode())}


def test_every_metric_of_the_issue_is_exposed_under_callbot_names() -> None:
    names = set(families())
    expected = {
        "callbot_build_info",
        "callbot_calls_active",
        "callbot_calls",
        "callbot_agi_command_seconds",
        "callbot_prompt_cache_hits",
        "callbot_prompt_cache_misses",
        "callbot_prompt_render_seconds",
        "callbot_outbox_depth",
        "callbot_outbox_oldest_age_seconds",
        "callbot_outbox_sent",
        "callbot_outbox_failed",
        "callbot_ami_connected",
        "callbot_queue_available",
        "callbot_connections_refused",
    }
    assert expected <= names


def test_own_registry_keeps_global_one_clean() -> None:
    assert GLOBAL_REGISTRY.get_sample_value("callbot_ami_connected") is None
    assert metrics.REGISTRY.get_sample_value("callbot_ami_connected") is not None


def test_track_call_counts_active_and_outcome() -> None:
    before = value("callbot_calls_total", flow="soporte", outcome="COMPLETED")
    with metrics.track_call("soporte") as call:
        assert value("callbot_calls_active", flow="soporte") == 1
        call.outcome = "COMPLETED"
    assert value("callbot_calls_active", flow="soporte") == 0
    assert value("callbot_calls_total", flow="soporte", outcome="COMPLETED") == before + 1


def test_call_that_raises_counts_as_failed() -> None:
    before = value("callbot_calls_total", flow="ventas", outcome="FAILED")
    with pytest.raises(RuntimeError), metrics.track_call("ventas"):
        raise RuntimeError("engine broke")
    assert value("callbot_calls_total", flow="ventas", outcome="FAILED") == before + 1
    assert value("callbot_calls_active", flow="ventas") == 0


def test_timed_command_observes_turnaround_by_verb() -> None:
    before = value("callbot_agi_command_seconds_count", command="NOOP")
    with metrics.timed_command("NOOP"):
        pass
    with pytest.raises(ConnectionError), metrics.timed_command("NOOP"):
        raise ConnectionError
    assert value("callbot_agi_command_seconds_count", command="NOOP") == before + 2
    assert value("callbot_agi_command_seconds_bucket", command="NOOP", le="+Inf") >= 2


async def test_collectors_set_gauges_at_scrape_time_and_can_be_removed() -> None:
    depth = {"pending": 3}

    async def outbox_depth() -> None:
        await asyncio.sleep(0)
        for status, n in depth.items():
            metrics.outbox_depth.labels(status=status).set(n)

    def ami() -> None:
        metrics.ami_connected.set(1)

    remove_outbox = metrics.add_collector(outbox_depth)
    remove_ami = metrics.add_collector(ami)
    try:
        await metrics.refresh()
        assert value("callbot_outbox_depth", status="pending") == 3
        assert value("callbot_ami_connected") == 1
        depth["pending"] = 0
        await metrics.refresh()
        assert value("callbot_outbox_depth", status="pending") == 0
    finally:
        remove_outbox()
        remove_ami()
    depth["pending"] = 9
    await metrics.refresh()
    assert value("callbot_outbox_depth", status="pending") == 0
    remove_ami()  # twice is harmless


async def test_slow_or_broken_collector_is_counted_and_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def slow() -> None:
        await asyncio.sleep(60)

    def broken() -> None:
        raise OSError("database is locked")

    def fine() -> None:
        metrics.queue_available.labels(team="ventas").set(2)

    removers = [metrics.add_collector(fn) for fn in (slow, broken, fine)]
    errors = value("callbot_metrics_collector_errors_total")
    try:
        with caplog.at_level(logging.WARNING, logger="agi_callbot.metrics"):
            await metrics.refresh(timeout=0.05)
    finally:
        for remove in removers:
            remove()
    assert value("callbot_metrics_collector_errors_total") == errors + 2
    assert value("callbot_queue_available", team="ventas") == 2
    assert "slow" in caplog.text and "database is locked" in caplog.text


def test_exposition_follows_the_accept_header() -> None:
    body, ctype = metrics.exposition("")
    assert ctype.startswith("text/plain") and b"callbot_calls_active" in body
    body, ctype = metrics.exposition("application/openmetrics-text; version=1.0.0")
    assert ctype.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")


def test_channel_observer_and_refusal_hooks_file_under_verbs_and_reasons() -> None:
    before = value("callbot_agi_command_seconds_count", command="STREAM FILE")
    raw_before = value("callbot_agi_command_seconds_count", command="DATABASE")
    metrics.observe_command(cmd.StreamFile("hola"), None, 0.002)
    metrics.observe_command(cmd.Raw("DATABASE GET fam key"), None, 0.001)
    assert value("callbot_agi_command_seconds_count", command="STREAM FILE") == before + 1
    assert value("callbot_agi_command_seconds_count", command="DATABASE") == raw_before + 1
    refused = value("callbot_connections_refused_total", reason="max_calls")
    metrics.refused("max_calls")
    assert value("callbot_connections_refused_total", reason="max_calls") == refused + 1


def test_command_histogram_has_the_samples_of_a_library_histogram() -> None:
    """callbot_agi_command_seconds is built from plain counters (a bisect per command):
    the same buckets, count and sum as prometheus-client's Histogram for the same values,
    bounds included (``le`` is "amount <= bound")."""
    from prometheus_client import CollectorRegistry, Histogram

    registry = CollectorRegistry()
    reference = Histogram(
        "callbot_agi_command_seconds",
        "Time from sending an AGI command to its reply",
        ["command"],
        buckets=metrics.COMMAND_BUCKETS,
        registry=registry,
    )
    ours = metrics.CommandSeconds(CollectorRegistry())
    seconds = [0.0, 0.0001, 0.0005, 0.00051, 0.001, 0.7, 300.0, 300.5, 1e6]
    for amount in seconds:
        reference.labels(command="WAIT FOR DIGIT").observe(amount)
        ours.labels(command="WAIT FOR DIGIT").observe(amount)

    def samples(collector: object) -> list[tuple[str, list[tuple[str, str]], float]]:
        return sorted(
            (s.name, sorted(s.labels.items()), s.value)
            for family in collector.collect()  # type: ignore[attr-defined]
            for s in family.samples
            if not s.name.endswith("_created")
        )

    assert samples(ours) == samples(reference)
    assert sum(len(f.samples) for f in ours.collect()) == len(metrics.COMMAND_BUCKETS) + 4
