#!/usr/bin/env python3
# Checks a Grafana dashboard JSON offline against Grafana's own schema, as published in the
# PyPI package grafana-foundation-sdk (pin it, e.g. 'grafana-foundation-sdk==1769699379!11.6.0').
# The dashboard is parsed with Dashboard.from_json (panel options, field config and
# Prometheus queries by their plugin's types) and written back with the SDK's JSONEncoder;
# every key of the input that this round trip drops is one the schema does not know (a typo,
# a misplaced or outdated option) and is printed as "unknown key: /json/pointer". Queries
# whose datasource type the SDK does not know, and panels of a type it does not know, would
# pass through unchecked, so they are reported too. Exit 0 and "ok: N panels, M queries" when
# clean; 1 with the findings otherwise; 2 for bad usage or a file that is not a dashboard.
#
# Usage: python check-dashboard.py DASHBOARD.json
# It does not check PromQL: see deploy/prometheus for promtool.

import json
import sys

from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard, Panel, RowPanel


def pointer(path, key):
    return f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"


def dropped(before, after, path, found):
    """Appends to `found` the keys of `before` that are missing from `after`."""
    if isinstance(before, dict):
        if not isinstance(after, dict):
            found.append(f"changed shape: {path or '/'}")
            return
        for key, value in before.items():
            here = pointer(path, key)
            if key not in after:
                found.append(f"unknown key: {here}")
            else:
                dropped(value, after[key], here, found)
    elif isinstance(before, list):
        if not isinstance(after, list):
            found.append(f"changed shape: {path or '/'}")
            return
        for i, value in enumerate(before):
            if i >= len(after):
                found.append(f"dropped item: {pointer(path, i)}")
            else:
                dropped(value, after[i], pointer(path, i), found)


def unchecked(dashboard, found):
    """Panels and queries the SDK kept as opaque data. Returns (panels, queries) counted."""
    panels = queries = 0

    def panel(p, path):
        nonlocal panels, queries
        if isinstance(p, RowPanel):
            for i, inner in enumerate(p.panels or []):
                panel(inner, f"{path}/panels/{i}")
            return
        panels += 1
        if cogruntime.panelcfg_config(p.type_val) is None:
            found.append(f"unchecked panel type {p.type_val!r}: {path}")
        for i, target in enumerate(p.targets or []):
            queries += 1
            if isinstance(target, cogruntime.UnknownDataquery):
                found.append(f"unchecked query (no known datasource type): {path}/targets/{i}")

    for i, p in enumerate(dashboard.panels or []):
        panel(p, f"/panels/{i}")
    return panels, queries


def main(argv):
    if len(argv) != 2:
        print("usage: check-dashboard.py DASHBOARD.json", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError) as e:
        print(f"cannot read {argv[1]}: {e}", file=sys.stderr)
        return 2
    if not isinstance(raw, dict):
        print(f"{argv[1]}: not a dashboard (a JSON object)", file=sys.stderr)
        return 2

    register_default_plugins()
    try:
        dashboard = Dashboard.from_json(raw)
        back = json.loads(json.dumps(dashboard, cls=JSONEncoder))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        print(f"invalid dashboard: {type(e).__name__}: {e}")
        return 1

    found = []
    dropped(raw, back, "", found)
    panels, queries = unchecked(dashboard, found)
    if found:
        for line in found:
            print(line)
        return 1
    print(f"ok: {panels} panels, {queries} queries")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
