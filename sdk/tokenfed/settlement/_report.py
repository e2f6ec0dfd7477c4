"""Human-readable HTML pages of settlement documents: a statement's lines and totals, a netting
report's positions with a bar chart of the nets. Self-contained (inline CSS and SVG, no script);
every value is escaped."""

from __future__ import annotations

from html import escape
from typing import Any

from .._decimal import to_scaled
from ._documents import NettingReport, Statement

__all__ = ["html_report"]

_STYLE = (
    "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
    "margin:1em 0}td,th{border:1px solid #bbb;padding:.3em .6em;text-align:left}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}caption{font-weight:bold;"
    "text-align:left}.flag{color:#a00}"
)
_BAR_WIDTH = 300


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>\n"
    )


def _row(cells: list[tuple[str, bool]]) -> str:
    return (
        "<tr>"
        + "".join(
            f'<td class="num">{escape(text)}</td>' if number else f"<td>{escape(text)}</td>"
            for text, number in cells
        )
        + "</tr>"
    )


def _lines_table(caption: str, lines: list[dict[str, Any]], css_id: str) -> str:
    rows = "".join(
        _row(
            [
                (line["model"], False),
                (line["rate_card"]["id"], False),
                (line["rate_card"]["digest"][:19] + "...", False),
                (str(line["count"]), True),
                (line["amount"], True),
            ]
        )
        for line in lines
    )
    return (
        f'<table id="{css_id}"><caption>{escape(caption)}</caption><tr><th>model</th>'
        "<th>rate card</th><th>digest</th><th>receipts</th><th>UTU</th></tr>"
        f"{rows}</table>"
    )


def _statement(statement: Statement) -> str:
    raw = statement.raw
    period = raw["period"]
    facts = [
        ("statement", raw["statement_id"]),
        ("seq", str(raw["seq"])),
        ("payee", raw["payee"]),
        ("payer", raw["payer"]),
        ("period", f"{period['start']} <= iat < {period['end']}"),
        ("signed by", raw["iss"]),
        ("digest", statement.digest),
        ("receipts root", raw["receipts"]["root"]),
    ]
    if "resubmits" in raw:
        facts.append(("resubmits", raw["resubmits"]["statement_id"]))
    body = (
        '<table id="facts">'
        + "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)
        + "</table>"
    )
    body += _lines_table("Lines", raw["lines"], "lines")
    body += _lines_table(
        "Adjustments (late receipts of earlier periods)", raw["adjustments"], "adjustments"
    )
    totals = raw["totals"]
    body += (
        '<table id="totals"><caption>Totals</caption><tr><th>receipts</th><th>UTU</th></tr>'
        + _row([(str(totals["count"]), True), (totals["amount"], True)])
        + "</table>"
    )
    if "conversion" in raw:
        conversion = raw["conversion"]
        body += (
            '<p id="conversion">Converted once at '
            f"{escape(str(conversion['fixed_at']))} with exchange-rate set "
            f"{escape(conversion['rates_id'])}: <strong>{escape(conversion['amount'])} "
            f"{escape(conversion['code'])}</strong></p>"
        )
    return _page(f"Settlement statement {raw['statement_id']}", body)


def _chart(code: str, positions: list[dict[str, Any]]) -> str:
    """An SVG bar per party: right of the axis for a net receivable, left for a net payable."""
    places = max(
        (len(p["net"]) - p["net"].find(".") - 1 for p in positions if "." in p["net"]), default=0
    )
    nets = [to_scaled(p["net"], places) for p in positions]
    largest = max((abs(net) for net in nets), default=0) or 1
    height = 24 * len(positions) + 8
    axis = _BAR_WIDTH + 10
    bars = []
    for index, (position, net) in enumerate(zip(positions, nets, strict=True)):
        width = abs(net) * _BAR_WIDTH // largest
        x = axis if net >= 0 else axis - width
        y = 4 + 24 * index
        colour = "#2a7" if net >= 0 else "#c44"
        bars.append(
            f'<rect class="bar" data-party="{escape(position["party"])}" x="{x}" y="{y}" '
            f'width="{width}" height="18" fill="{colour}"><title>{escape(position["party"])}: '
            f"{escape(position['net'])} {escape(code)}</title></rect>"
            f'<text x="{2 * axis + 10}" y="{y + 14}">{escape(position["party"])} '
            f"{escape(position['net'])}</text>"
        )
    return (
        f'<svg class="chart" data-code="{escape(code)}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{2 * axis + 420}" height="{height}" role="img" '
        f'aria-label="net positions in {escape(code)}">'
        f'<line x1="{axis}" y1="0" x2="{axis}" y2="{height}" stroke="#555"/>'
        + "".join(bars)
        + "</svg>"
    )


def _netting(report: NettingReport) -> str:
    raw = report.raw
    body = (
        f"<p>Clearing house {escape(raw['iss'])}, report {escape(raw['report_id'])}, "
        f"{len(raw['statements'])} statements netted; digest {escape(report.digest)}.</p>"
    )
    for code, positions in raw["positions"].items():
        rows = "".join(
            _row(
                [
                    (p["party"], False),
                    (p["receivable"], True),
                    (p["payable"], True),
                    (p["net"], True),
                ]
            )
            for p in positions
        )
        body += (
            f'<h2>{escape(code)}</h2><table class="positions" data-code="{escape(code)}">'
            "<tr><th>party</th><th>receivable</th><th>payable</th><th>net</th></tr>"
            f"{rows}</table>{_chart(code, positions)}"
        )
    return _page(f"Netting report {raw['report_id']}", body)


def html_report(document: Statement | NettingReport) -> str:
    """An HTML page a person can read: a statement's lines and totals, or a netting report's
    gross and net positions with a chart of the nets per currency."""
    if isinstance(document, Statement):
        return _statement(document)
    if isinstance(document, NettingReport):
        return _netting(document)
    raise TypeError(f"no HTML report for {type(document).__name__}")
