"""The latest "Transformer vs LSTM" claims report, read for the NLU lab: a verdict table, the plots and the
whole report text.

Which report: the user's own (`assistant nlu claims` writes it to `<reports dir>/claims`) when there is
one, else the one shipped with the package (nlu/shipped/claims, measured by the maintainers), else a
sentence saying how to make one. The page says which it shows, when and on what machine it was measured,
so numbers from another machine are never taken for this one's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nlu.claims.report import ORDER, PLOTS, TITLES
from nlu.shipped import SHIPPED_DIR

SHIPPED_CLAIMS = SHIPPED_DIR / "claims"
REPORT_JSON = "claims.json"
REPORT_MD = "claims.md"
CLI_DEFAULT_OUT = Path("reports/nlu/claims")  # `assistant nlu claims --out`'s default


class ClaimsReportError(ValueError):
    """A claims report folder that cannot be read; the message says which file and why."""


@dataclass(frozen=True)
class ClaimsView:
    """What the section shows: `source` is "own", "shipped" or "none"."""

    source: str
    markdown: str  # where the report comes from, then one row per claim
    details: str = ""  # the whole claims.md (its image links dropped: the plots are in the gallery)
    plots: list[tuple[Path, str]] = field(default_factory=list)  # (png, caption)
    folder: Path | None = None


def own_claims_dir(reports_dir: Path) -> Path:
    """Where `assistant nlu claims` writes by default, under the lab's reports folder."""
    return Path(reports_dir).expanduser() / "claims"


def command(own: Path) -> str:
    """The command that writes the report where this section looks for it."""
    return "assistant nlu claims" + ("" if own == CLI_DEFAULT_OUT else f" --out {own}")


def how_to(own: Path) -> str:
    return (
        f"No claims report yet. `{command(own)}` measures the article's five claims on this machine and "
        f"writes the report this section shows, to `{own}` (add `--small` for a first look in about a "
        "minute; the default setting takes longer and its numbers are the ones to trust)."
    )


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def measured_line(claim: dict[str, Any]) -> str:
    """The claim's checks in one line: where it was checked and the two numbers there."""
    checks = claim.get("checks") or []
    return "; ".join(f"{c.get('point', '?')}: {c.get('detail', '')}" for c in checks) or "–"


def verdict_table(claims: dict[str, Any]) -> str:
    keys = [k for k in ORDER if k in claims] + sorted(k for k in claims if k not in ORDER)
    rows = [
        "| claim (the article's words) | what was measured | verdict |",
        "|---|---|---|",
    ]
    for key in keys:
        claim = claims[key]
        title = TITLES.get(key, key)
        rows.append(
            f"| **{_cell(title)}**: {_cell(claim.get('claim', ''))} | {_cell(measured_line(claim))} "
            f"| **{_cell(claim.get('verdict', 'no verdict'))}** |"
        )
    return "\n".join(rows)


def provenance(meta: dict[str, Any]) -> str:
    """When, on what machine and with which setting the numbers were measured."""
    m = meta.get("machine") or {}
    settings = meta.get("settings") or {}
    seeds = settings.get("seeds") or []
    hardware = (
        f"{m.get('cpus', '?')} CPUs, torch {m.get('torch', '?')}, {m.get('torch_threads', '?')} threads"
    )
    hardware += f", GPU {m['cuda']}" if m.get("cuda") else ", no GPU"
    total = (meta.get("seconds") or {}).get("total")
    minutes = f", {total / 60:.1f} minutes" if isinstance(total, int | float) else ""
    return (
        f"measured {m.get('date', 'at an unknown date')} on {m.get('platform', 'an unknown machine')} "
        f"({hardware}), run device {meta.get('device', '?')}; setting `{settings.get('name', '?')}`, "
        f"{len(seeds)} seed(s){minutes}"
    )


def _plots(folder: Path, claims: dict[str, Any]) -> list[tuple[Path, str]]:
    named = [(folder / PLOTS[k], TITLES[k]) for k in ORDER if k in claims and (folder / PLOTS[k]).is_file()]
    known = {p for p, _ in named}
    extra = [(p, p.stem.replace("_", " ")) for p in sorted(folder.glob("*.png")) if p not in known]
    return named + extra


def read_claims_report(folder: Path) -> tuple[dict[str, Any], str, list[tuple[Path, str]]]:
    """(claims.json, claims.md without image lines, plots) of one report folder."""
    path = Path(folder) / REPORT_JSON
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ClaimsReportError(f"{path} cannot be read: {exc}") from exc
    if not isinstance(report, dict) or not isinstance(report.get("claims"), dict) or not report["claims"]:
        raise ClaimsReportError(f"{path} is not a claims report (no claims in it).")
    if not isinstance(report.get("meta"), dict):
        report["meta"] = {}
    md_path = Path(folder) / REPORT_MD
    md = md_path.read_text(encoding="utf-8", errors="replace") if md_path.is_file() else ""
    details = "\n".join(line for line in md.splitlines() if not line.startswith("!["))
    return report, details, _plots(Path(folder), report["claims"])


def claims_view(reports_dir: Path, shipped: Path = SHIPPED_CLAIMS) -> ClaimsView:
    """The user's own latest report, else the shipped one, else how to make one."""
    own = own_claims_dir(reports_dir)
    notes: list[str] = []
    for source, folder in (("own", own), ("shipped", Path(shipped))):
        if not (folder / REPORT_JSON).is_file():
            continue
        try:
            report, details, plots = read_claims_report(folder)
        except ClaimsReportError as exc:
            notes.append(f"*{exc}*")
            continue
        where = (
            f"**Your own report** (`{folder}`), {provenance(report['meta'])}."
            if source == "own"
            else f"**The shipped report**, {provenance(report['meta'])}: the maintainers' machine, not "
            f"necessarily this one. `{command(own)}` measures on this machine, and then this section "
            f"shows yours."
        )
        rule = (
            "A claim is **confirmed** when the side it favours is better beyond both spreads at every point "
            "measured, **refuted** when at none, otherwise it **depends on** the axis (nlu/claims/stats.py)."
        )
        text = "\n\n".join([*notes, where, rule, verdict_table(report["claims"])])
        return ClaimsView(source, text, details, plots, folder)
    return ClaimsView("none", "\n\n".join([*notes, how_to(own)]))
