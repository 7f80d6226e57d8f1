"""The Grafana dashboard only queries metrics this node exposes (a renamed metric breaks it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from agi_callbot import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docker" / "grafana-dashboard.json"


def test_dashboard_queries_name_only_exposed_series() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    used = {m for e in exprs for m in re.findall(r"\bcallbot_[a-z_]+", e)}
    body, _ = metrics.exposition()
    declared = set()
    for family in text_string_to_metric_families(body.decode()):
        declared.add(family.name)
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
        declared.update(family.name + s for s in suffixes.get(family.type, ()))
    assert used, "the dashboard queries nothing"
    assert used <= declared, f"dashboard names unknown metrics: {sorted(used - declared)}"


def test_panels_have_unique_ids_and_fit_the_grid() -> None:
    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}"
