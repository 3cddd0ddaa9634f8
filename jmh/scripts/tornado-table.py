#!/usr/bin/env python3
"""Turns the JSON of the CPU-vs-TornadoVM JMH run (see jmh/results/TORNADO.md) into its Markdown tables.

Usage: jmh/scripts/tornado-table.py jmh/results/tornado-pocl.json
"""
import json
import sys

IMPLS = ["scalar", "vector-1", "vector-all", "tornado", "tornado-device"]


def load(path):
    rows = {}
    for r in json.load(open(path)):
        bench = r["benchmark"].rsplit(".", 2)[-2] + "." + r["benchmark"].rsplit(".", 1)[-1]
        p = r["params"]
        key = (bench, p.get("check", "-"), p["impl"], int(p["size"]))
        rows[key] = (r["primaryMetric"]["score"] / 1e6, r["primaryMetric"]["scoreError"] / 1e6)  # ns -> ms
    return rows


def exp2(n):
    return "2^%d" % (n.bit_length() - 1)


def table(rows, bench, check, what, bytes_per_param, link_label):
    sizes = sorted({k[3] for k in rows if k[0] == bench and k[1] == check})
    impls = [i for i in IMPLS if any((bench, check, i, s) in rows for s in sizes)]
    head = ["size"] + ["%s %s ms" % (i, what) for i in impls]
    if "tornado-device" in impls:
        head += ["tornado-device / vector-all", "tornado / tornado-device"]
    if bytes_per_param:
        head += ["device-resident GB/s (%d B/param in device memory)" % bytes_per_param]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for s in sizes:
        cells = [exp2(s)]
        for i in impls:
            v = rows.get((bench, check, i, s))
            cells.append("%.3f ± %.3f" % v if v else "—")
        dev = rows.get((bench, check, "tornado-device", s))
        vec = rows.get((bench, check, "vector-all", s))
        host = rows.get((bench, check, "tornado", s))
        if "tornado-device" in impls:
            cells.append("%.1f×" % (dev[0] / vec[0]) if dev and vec else "—")
            cells.append("%.2f×" % (host[0] / dev[0]) if dev and host else "—")
        if bytes_per_param:
            cells.append("%.1f" % (bytes_per_param * s / (dev[0] * 1e-3) / 1e9) if dev else "—")
        print("| " + " | ".join(cells) + " |")
    print()


def main():
    rows = load(sys.argv[1])
    for check in ("unchecked", "checked"):
        if any(k[0] == "StepBenchmark.step" and k[1] == check for k in rows):
            print("Step (after the first), check=%s:\n" % check)
            table(rows, "StepBenchmark.step", check, "step", 20, "")
    print("One-off g-SNR reduction (both passes over the gradient):\n")
    table(rows, "GsnrBenchmark.moments", "-", "g-SNR", 8, "")


if __name__ == "__main__":
    main()
