"""After a complete pass 2: the profile with pass 2's exact counts (duplicates found on fully
cleaned values, rows out, and every routing decision's changed cells or rows counted from the
row-level trail, so the report states each change made)."""

from __future__ import annotations

from dataclasses import replace

from domain.engine.cleaning import CleaningTotals
from domain.engine.duplicate_policy import describe_duplicates
from domain.engine.plan import CleaningPlan
from domain.engine.summarize import percent_score
from domain.model import Finding, Profile, RoutingDecision, Severity

# routing action -> the row-issue codes of its changes
CHANGE_CODES: dict[str, tuple[str, ...]] = {
    "trim_whitespace": ("leading_trailing_whitespace",),
    "unify_null_sentinels": ("null_sentinel",),
    "convert_numbers": ("numeric_formatting",),
    "merge_spelling_clusters": ("inconsistent_spelling", "case_noise"),
    "neutralise_formulas": ("formula_injection_risk",),
    "drop_blank_rows": ("blank_row",),
    "repair_ragged_rows": ("ragged_row",),
}


def _exact(
    decision: RoutingDecision, totals: CleaningTotals, plan: CleaningPlan
) -> RoutingDecision:
    if decision.action == "drop_duplicate_rows":
        dropped = plan.drop_duplicate_rows
        return replace(
            decision,
            before=totals.rows_in - totals.blank_rows,
            after=totals.rows_out,
            changed=totals.duplicate_rows if dropped else 0,
            applied=dropped and totals.duplicate_rows > 0,
        )
    codes = CHANGE_CODES.get(decision.action)
    if codes is None or (decision.action == "neutralise_formulas" and not plan.neutralise_formulas):
        return decision
    changed = sum(n for (code, _), n in totals.issues.items() if code in codes)
    if decision.action == "drop_blank_rows":
        return replace(
            decision,
            before=totals.rows_in,
            after=totals.rows_in - changed,
            changed=changed,
            applied=changed > 0,
        )
    return replace(decision, before=changed, after=0, changed=changed, applied=changed > 0)


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
                message,
                None,
                totals.duplicate_rows,
                tuple(totals.duplicate_sample),
                {"dropped": dropped, "key_column": plan.duplicate_key},
            )
        )
    routing = tuple(_exact(r, totals, plan) for r in profile.routing)
    rows = max(totals.rows_in, 1)
    scores = replace(profile.scores, uniqueness=percent_score(1 - totals.duplicate_rows / rows))
    return replace(
        profile,
        findings=tuple(findings),
        routing=routing,
        scores=scores,
        shape=replace(profile.shape, rows_out=totals.rows_out),
    )
