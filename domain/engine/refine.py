"""After a complete pass 2: the profile with pass 2's exact counts (duplicates found on fully
cleaned values, rows out, outliers flagged cell by cell)."""

from __future__ import annotations

from dataclasses import replace

from domain.engine.cleaning import CleaningTotals
from domain.engine.duplicate_policy import describe_duplicates
from domain.engine.plan import CleaningPlan
from domain.model import Finding, Profile, Severity


def refine_profile(
    profile: Profile, totals: CleaningTotals, plan: CleaningPlan, duplicates_choice: str
) -> Profile:
    """The profile with the exact counts of a completed pass 2."""
    dropped = plan.drop_duplicate_rows
    message = describe_duplicates(
        totals.duplicate_rows, dropped=dropped, key=plan.duplicate_key, choice=duplicates_choice
    )
    findings = []
    for original in profile.findings:
        finding = original
        if finding.code == "duplicate_rows":
            finding = replace(
                finding,
                count=totals.duplicate_rows,
                sample_rows=tuple(totals.duplicate_sample),
                message=message,
            )
        elif finding.code == "outliers":
            exact = totals.issues.get(("outlier", finding.column), 0)
            finding = replace(
                finding,
                count=exact,
                message=f"{exact} value(s) in '{finding.column}' lie outside the IQR fences.",
                details={**finding.details, "estimated": False},
            )
        findings.append(finding)
    if totals.duplicate_rows and not any(f.code == "duplicate_rows" for f in findings):
        findings.append(
            Finding(
                "duplicate_rows",
                Severity.MEDIUM,
                message,
                None,
                totals.duplicate_rows,
                tuple(totals.duplicate_sample),
                {"dropped": dropped, "key_column": plan.duplicate_key},
            )
        )
    routing = tuple(
        replace(
            r,
            before=totals.rows_in - totals.blank_rows,
            after=totals.rows_out,
            changed=totals.duplicate_rows if dropped else 0,
            applied=dropped and totals.duplicate_rows > 0,
        )
        if r.action == "drop_duplicate_rows"
        else r
        for r in profile.routing
    )
    rows = max(totals.rows_in, 1)
    scores = replace(
        profile.scores, uniqueness=round(max(0.0, 1 - totals.duplicate_rows / rows) * 100, 1)
    )
    return replace(
        profile,
        findings=tuple(findings),
        routing=routing,
        scores=scores,
        shape=replace(profile.shape, rows_out=totals.rows_out),
    )
