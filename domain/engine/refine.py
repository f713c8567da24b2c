"""After a complete pass 2: the profile with pass 2's exact counts (duplicates found on fully
cleaned values, rows out)."""

from __future__ import annotations

from dataclasses import replace

from domain.engine.cleaning import CleaningTotals
from domain.engine.summarize import percent_score
from domain.model import Finding, Profile, Severity


def refine_profile(profile: Profile, totals: CleaningTotals) -> Profile:
    """The profile with the exact counts of a completed pass 2."""
    findings = []
    for original in profile.findings:
        finding = original
        if finding.code == "duplicate_rows":
            finding = replace(
                finding,
                count=totals.duplicate_rows,
                sample_rows=tuple(totals.duplicate_sample),
                message=f"{totals.duplicate_rows} exact duplicate row(s); dropped.",
            )
        elif not finding.sample_rows and (finding.code, finding.column) in totals.samples:
            finding = replace(
                finding, sample_rows=tuple(totals.samples[(finding.code, finding.column)])
            )
        findings.append(finding)
    if totals.duplicate_rows and not any(f.code == "duplicate_rows" for f in findings):
        findings.append(
            Finding(
                "duplicate_rows",
                Severity.MEDIUM,
                f"{totals.duplicate_rows} exact duplicate row(s); dropped.",
                None,
                totals.duplicate_rows,
                tuple(totals.duplicate_sample),
            )
        )
    routing = tuple(
        replace(
            r,
            before=totals.rows_in - totals.blank_rows,
            after=totals.rows_out,
            changed=totals.duplicate_rows,
            applied=totals.duplicate_rows > 0,
        )
        if r.action == "drop_duplicate_rows"
        else r
        for r in profile.routing
    )
    rows = max(totals.rows_in, 1)
    scores = replace(profile.scores, uniqueness=percent_score(1 - totals.duplicate_rows / rows))
    return replace(
        profile,
        findings=tuple(findings),
        routing=routing,
        scores=scores,
        shape=replace(profile.shape, rows_out=totals.rows_out),
    )
