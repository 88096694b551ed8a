"""One self-contained HTML file (inline CSS, no scripts or external assets) a person reads:
a summary per suite and kind, then every finding with expected/actual and its curl repro."""

from __future__ import annotations

from html import escape
from typing import Any

from .findings import KIND_TITLES, KINDS, display
from .report import headline, kind_counts, ordered, verdict_line
from .runner import RunReport

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1d2330;max-width:1150px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px}
.sub{color:#5a6275;margin-bottom:14px}
.verdict{display:inline-block;padding:6px 12px;border-radius:6px;font-weight:600;margin:6px 0 12px}
.PASS{background:#e3f6e8;color:#17602d}.FAIL{background:#fde7e7;color:#8c1d1d}
table{border-collapse:collapse;margin:6px 0 12px} td,th{border:1px solid #d8dce5;padding:4px 10px;text-align:right}
th{background:#f3f5f9} td:first-child,th:first-child{text-align:left}
.finding{border:1px solid #d8dce5;border-radius:8px;padding:10px 14px;margin:12px 0}
.finding h3{font-size:15px;margin:0 0 6px;font-weight:600}
.tag{display:inline-block;border-radius:4px;padding:1px 7px;font-size:12px;margin-right:6px;font-weight:600}
.fail{background:#fde7e7;color:#8c1d1d}.info{background:#e8eefc;color:#23407a}.waived{background:#eee;color:#555}
.kind{background:#fff4d6;color:#6b4b00}
.kv{display:grid;grid-template-columns:200px 1fr;gap:2px 10px;margin:6px 0}
.kv div:nth-child(odd){color:#5a6275}
code,pre{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
pre{background:#f6f8fa;border:1px solid #e3e6ec;border-radius:6px;padding:8px 10px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.muted{color:#5a6275}
"""


def _value(value: Any) -> str:
    text = display(value)
    if len(text) > 600:
        text = text[:600] + "…"
    return f"<code>{escape(text)}</code>"


def to_html(report: RunReport) -> str:
    word = "PASS" if report.passed else "FAIL"
    out = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
           "<title>Conformance report</title>", f"<style>{_CSS}</style></head><body>",
           "<h1>MLflow conformance report</h1>",
           f"<div class='sub'>{escape(headline(report))}</div>",
           f"<div class='verdict {word}'>{escape(verdict_line(report))}</div>"]
    out.append("<h2>Suites</h2><table><tr><th>suite</th><th>seconds</th><th>requests</th>"
               "<th>explicit cases</th><th>random examples</th><th>failing</th>"
               "<th>informational</th><th>waived</th></tr>")
    for r in report.results:
        own = [f for f in report.findings if f.suite == r.suite]
        c = {v: sum(1 for f in own if f.verdict == v) for v in ("fail", "info", "waived")}
        err = " <span class='tag fail'>suite error</span>" if r.errors else ""
        out.append(f"<tr><td>{escape(r.suite)}{err}</td><td>{r.seconds:.1f}</td>"
                   f"<td>{r.requests}</td><td>{r.cases}</td><td>{r.examples}</td>"
                   f"<td>{c['fail']}</td><td>{c['info']}</td><td>{c['waived']}</td></tr>")
    out.append("</table><h2>Findings by kind</h2><table><tr><th>kind</th><th>failing</th>"
               "<th>informational</th><th>waived</th></tr>")
    for kind in KINDS:
        c = {v: sum(1 for f in report.findings if f.kind == kind and f.verdict == v)
             for v in ("fail", "info", "waived")}
        out.append(f"<tr><td>{escape(KIND_TITLES[kind])}</td><td>{c['fail']}</td>"
                   f"<td>{c['info']}</td><td>{c['waived']}</td></tr>")
    out.append("</table>")
    out.append(f"<h2>Findings ({sum(kind_counts(report.findings).values())})</h2>")
    for n, f in enumerate(ordered(report.findings), 1):
        out.append("<div class='finding'>")
        out.append(f"<h3>#{n} <span class='tag {f.verdict}'>{f.verdict}</span>"
                   f"<span class='tag kind'>{escape(KIND_TITLES.get(f.kind, f.kind))}</span>"
                   f"<code>{escape(f.operation)}</code> <code>{escape(f.json_path)}</code></h3>")
        plain = f.kind in ("status", "missing_route")
        rows = [("expected (MLflow 3.17.2)", f"<code>{escape(str(f.expected))}</code>" if plain
                 else _value(f.expected)),
                ("actual", f"<code>{escape(str(f.actual))}</code>" if plain else _value(f.actual)),
                ("found by", escape(f"{f.suite} suite, {f.source}; seen {f.occurrences}x"))]
        if f.field_note:
            rows.append(("note", escape(f.field_note)))
        if f.waiver_reason:
            rows.append(("waived because", escape(f.waiver_reason)))
        if f.also_in:
            rows.append(("also in", "<br>".join(f"<code>{escape(a)}</code>" for a in f.also_in)))
        out.append("<div class='kv'>" + "".join(f"<div>{k}</div><div>{v}</div>" for k, v in rows)
                   + "</div>")
        shrunk = "verified by replay" if f.minimal else "not verified by replay"
        out.append(f"<div class='muted'>Repro ({shrunk}; the example that found it had "
                   f"{f.full_sequence_length} requests):</div>")
        out.append(f"<pre>{escape(f.repro_curl)}</pre></div>")
    if report.waivers_used or report.waivers_stale:
        out.append("<h2>Waivers</h2><table><tr><th>status</th><th>operation</th><th>path</th>"
                   "<th>kind</th><th>reason</th></tr>")
        for status, items in (("used", report.waivers_used), ("stale", report.waivers_stale)):
            for w in items:
                out.append(f"<tr><td>{status}</td><td>{escape(w['operation'])}</td>"
                           f"<td>{escape(w['path'])}</td><td>{escape(w['kind'])}</td>"
                           f"<td style='text-align:left'>{escape(w['reason'])}</td></tr>")
        out.append("</table>")
    if report.errors:
        out.append("<h2>Suite errors</h2>")
        out += [f"<pre>{escape(e)}</pre>" for e in report.errors]
    out.append("</body></html>")
    return "\n".join(out)
