#!/usr/bin/python3
"""One server against a Galera cluster: the report of ./devstack bench --galera.

  tests/bench/galera.py --nodes N --dir DIR --out PREFIX [--tiny] scenario...

DIR is what `./devstack bench --galera` made: DIR/single and DIR/galera,
each a bench stack's state directory holding results-<scenario>/<stamp>.json
(run.sh --ours-only for that scenario) and dbwrite.out (tests/bench/
dbwrite.py, its last line a JSON object).  Writes PREFIX.json and PREFIX.md:
for every figure both sides and the ratio Galera / one server, the load
average around each run, and prints the Markdown.

Exit status: 0 both sides ran every scenario validly; 1 something is
missing or a run is invalid (said on stderr; the report says it too).
"""

import argparse
import glob
import json
import os
import sys

SIDES = ("single", "galera")


def load_run(d, sc):
    files = sorted(glob.glob(os.path.join(d, "results-%s" % sc, "*.json")))
    if not files:
        return None, "no results (run.sh failed before writing them)"
    with open(files[-1]) as f:
        r = json.load(f)
    s = r["scenarios"].get(str(sc))
    if not s:
        return r, "scenario %s is not in %s" % (sc, files[-1])
    if s.get("status") != "ok":
        return r, s.get("reason", s.get("status"))
    return r, None


def load_dbwrite(d):
    try:
        with open(os.path.join(d, "dbwrite.out")) as f:
            lines = [x for x in f.read().splitlines() if x.startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def figures(sc, s):
    """(key, label, value, unit, higher_is_better) of one scenario's entry."""
    if sc == 3:
        r = s["runs"]["ours"]
        return [("cycles_per_s", "3. join+leave cycles/s", r["cycles_per_s"], "", True),
                ("p50_ms", "3. request p50", r["latency_ms"]["p50"], "ms", False),
                ("p99_ms", "3. request p99", r["latency_ms"]["p99"], "ms", False)], r["valid"]
    lat = s["latency_ms"]
    out = [("p50_ms", "7. invite → push p50", lat["p50"], "ms", False),
           ("p90_ms", "7. invite → push p90", lat["p90"], "ms", False),
           ("p99_ms", "7. invite → push p99", lat["p99"], "ms", False)]
    if s.get("server_cpu_us_per_delivery") is not None:
        out.append(("ws_cpu_us", "7. ws daemon CPU per notification", s["server_cpu_us_per_delivery"], "µs",
                    False))
    return out, s.get("valid", False)


DBWRITE = [
    ("one_client_ms_per_commit", "one autocommit INSERT, 1 client", "ms", False),
    ("n_clients_commits_s", "autocommit INSERTs, %(clients)s clients", "commits/s", True),
    ("two_nodes_own_rows_commits_s", "2 nodes, each client its own row", "commits/s", True),
    ("two_nodes_one_row_commits_s", "2 nodes, one row (every commit conflicts)", "commits/s", True),
    ("tail_rows_s_id", "queue tail, id order, backlog of %(rows)s rows", "rows/s", True),
    ("tail_rows_s_commit", "queue tail, commit order, backlog of %(rows)s rows", "rows/s", True),
]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def num(x, unit=""):
    if x is None:
        return "—"
    s = "{:,.0f}".format(x) if abs(x) >= 100 else "{:,.2f}".format(x)
    return s + (" " + unit if unit else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--rows", type=int, default=20000, help="dbwrite.py's --rows, for the labels")
    ap.add_argument("scenarios", nargs="+", type=int)
    a = ap.parse_args()
    problems = []
    res = {"nodes": a.nodes, "tiny": a.tiny, "scenarios": {}, "dbwrite": {}}
    rows = []
    for sc in a.scenarios:
        entry = {}
        figs = {}
        for side in SIDES:
            r, why = load_run(os.path.join(a.dir, side), sc)
            if r and "machine" not in res:
                res["date"], res["machine"], res["versions"] = r["date"], r["machine"], r.get("versions")
                res["settings"] = r.get("settings")
            if why:
                problems.append("scenario %d, %s: %s" % (sc, side, why))
                entry[side] = {"status": "failed", "reason": why}
                continue
            s = r["scenarios"][str(sc)]
            f, valid = figures(sc, s)
            if not valid:
                problems.append("scenario %d, %s: the run is invalid" % (sc, side))
            figs[side] = f
            entry[side] = {"valid": valid, "loadavg_start": s.get("loadavg_start"),
                           "loadavg_end": s.get("loadavg_end"), "date": r["date"],
                           "figures": {k: v for k, _, v, _, _ in f}}
            if sc == 7:
                entry[side].update(samples=s.get("samples"), received=s.get("received"), lost=s.get("lost"))
        if len(figs) == 2:
            ratio = {}
            for (k, label, vs, unit, _), (_, _, vg, _, _) in zip(figs["single"], figs["galera"]):
                ratio[k] = round(vg / vs, 3) if vs else None
                rows.append((label, num(vs, unit), num(vg, unit), "%.2f×" % ratio[k] if ratio[k] else "—"))
            entry["ratio_galera_over_single"] = ratio
        res["scenarios"][str(sc)] = entry
    dbw = {side: load_dbwrite(os.path.join(a.dir, side)) for side in SIDES}
    res["dbwrite"] = dict(dbw)
    if not all(dbw.values()):
        problems.append("dbwrite.py: no result from %s" % ", ".join(s for s in SIDES if not dbw[s]))
    ratio = {}
    for k, label, unit, _ in DBWRITE:
        vs = (dbw["single"] or {}).get(k)
        vg = (dbw["galera"] or {}).get(k)
        if vs is None and vg is None:
            continue
        ratio[k] = round(vg / vs, 3) if vs and vg is not None else None
        lab = label % {"clients": (dbw["galera"] or dbw["single"] or {}).get("clients", "?"), "rows": a.rows}
        rows.append((lab, num(vs, unit), num(vg, unit), "%.2f×" % ratio[k] if ratio[k] else "—"))
    res["dbwrite"]["ratio_galera_over_single"] = ratio

    m = res.get("machine", {})
    md = ["# yiqikan on one MariaDB and on Galera (%d nodes) %s" % (a.nodes, res.get("date", "?")), ""]
    md.append("%s cores (%s), %s; load average (1/5/15 min) %s. Two release stacks up at once, "
              "each with one ws node: **one MariaDB** (the dev server) and **Galera** (%d nodes on "
              "loopback, the API on node 1, the ws node on node 2, `db.sync_wait = 1`); each scenario "
              "ran on one and then on the other, our side only, then tests/bench/dbwrite.py on each." % (
                  m.get("nproc", "?"), m.get("cpu", "?"), m.get("kernel", "?"),
                  loadavg(),
                  a.nodes))
    md.append("")
    md.append("| figure | one MariaDB | Galera, %d nodes | Galera ÷ one |" % a.nodes)
    md.append("|---|---|---|---|")
    for r in rows:
        md.append("| " + " | ".join(r) + " |")
    la = []
    for sc, e in res["scenarios"].items():
        for side in SIDES:
            if e.get(side, {}).get("loadavg_start"):
                la.append("%s on %s: %s → %s" % (sc, side, e[side]["loadavg_start"], e[side]["loadavg_end"]))
    if la:
        md.append("")
        md.append("Load average at the start → end of each run: " + "; ".join(la) + ".")
    s7 = res["scenarios"].get("7", {})
    if s7.get("single", {}).get("samples"):
        md.append("")
        md.append("Scenario 7: %s invitations each side; received %s / %s, lost %s / %s." % (
            s7["single"]["samples"], s7["single"].get("received"), s7.get("galera", {}).get("received"),
            s7["single"].get("lost"), s7.get("galera", {}).get("lost")))
    if problems:
        md.append("")
        md.append("**Problems:** " + "; ".join(problems) + ".")
    if a.tiny:
        md.append("")
        md.append("This was a `--tiny` run (harness check): the figures mean nothing.")
    md.append("")
    res["problems"] = problems
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out + ".json", "w") as f:
        json.dump(res, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(a.out + ".md", "w") as f:
        f.write("\n".join(md))
    print("\n".join(md))
    print("results: %s.json\n         %s.md" % (a.out, a.out))
    if problems:
        print("bench: " + "; ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
