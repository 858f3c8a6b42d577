-- One row per account finding of every billing month that has been run, with the decision
-- in force on it (resolutions/discrepancy_resolutions.csv and the dashboard's decision store),
-- its status, its age, the time it took to resolve, its materiality, and whether the same
-- finding was resolved in an earlier month and has come back. Rebuilt in full on every run
-- (decisions change the past). A stored approval of at least the materiality threshold
-- resolves its finding only with an earlier proposal by someone else (four eyes), and a stored
-- decision counts only when its role may take it: otherwise the finding is awaiting_approval.
with

billing_discrepancies as (
    select * from {{ ref('fct_billing_discrepancies') }}
),

decisions as (
    select * from {{ ref('stg_resolutions__discrepancy_decisions') }}
),

proposals as (
    select
        discrepancy_id,
        decided_by,
        decided_at
    from decisions
    where decision in ('PROPOSE_CREDIT', 'PROPOSE_INVOICE_CORRECTION')
),

approvals_needing_four_eyes as (
    -- CSV rows are exempt: they are reviewed by a second person in their pull request.
    select
        decision_id,
        discrepancy_id,
        decided_by,
        decided_at
    from decisions
    where
        source = 'dashboard'
        and decision in ('APPROVE_CREDIT', 'APPROVE_INVOICE_CORRECTION')
        and abs(amount) >= {{ var('materiality_threshold') }}
),

four_eyes_breaches as (
    -- Approvals without an earlier proposal on the same finding by someone else.
    select approvals_needing_four_eyes.decision_id
    from approvals_needing_four_eyes
    left join proposals
        on
            approvals_needing_four_eyes.discrepancy_id = proposals.discrepancy_id
            and approvals_needing_four_eyes.decided_at > proposals.decided_at
            and lower(proposals.decided_by) != lower(approvals_needing_four_eyes.decided_by)
    group by approvals_needing_four_eyes.decision_id
    having count(proposals.discrepancy_id) = 0
),

decisions_in_force as (
    select
        decisions.discrepancy_id,
        decisions.decision_id,
        decisions.decision,
        decisions.decided_by,
        decisions.decided_role,
        decisions.source,
        decisions.decided_at,
        decisions.amount,
        decisions.currency,
        decisions.note,
        four_eyes_breaches.decision_id is null
        and (
            decisions.source = 'csv'
            or (
                decisions.decided_role = 'approver'
                and decisions.decision in ('APPROVE_CREDIT', 'APPROVE_INVOICE_CORRECTION', 'ACCEPT_AS_IS')
            )
        ) as is_approval_valid
    from decisions
    left join four_eyes_breaches
        on decisions.decision_id = four_eyes_breaches.decision_id
    where decisions.decision_rank = 1
),

decision_counts as (
    select
        discrepancy_id,
        count(*) as decision_count
    from decisions
    group by discrepancy_id
),

as_of as (
    -- Ages are counted to the end of the latest billing month that has been run.
    select {{ month_end('max(billing_month)') }} as as_of_date
    from billing_discrepancies
),

findings_with_decisions as (
    select
        billing_discrepancies.discrepancy_id,
        {{ dbt.hash(dbt.concat([
            'billing_discrepancies.customer_key', "'|'",
            "coalesce(billing_discrepancies.product_code, '')", "'|'",
            'billing_discrepancies.discrepancy_type'])) }} as finding_key,
        billing_discrepancies.customer_key,
        billing_discrepancies.account_id,
        billing_discrepancies.customer_name,
        billing_discrepancies.product_code,
        billing_discrepancies.discrepancy_type,
        decisions_in_force.decision_id,
        decisions_in_force.decision,
        decisions_in_force.decided_by,
        decisions_in_force.decided_role,
        decisions_in_force.source as decision_source,
        decisions_in_force.currency,
        decisions_in_force.note as decision_note,
        case
            when decisions_in_force.decision is null then 'open'
            when decisions_in_force.decision = 'DISPUTE' then 'disputed'
            when decisions_in_force.decision in ('PROPOSE_CREDIT', 'PROPOSE_INVOICE_CORRECTION')
                then 'proposed'
            when not decisions_in_force.is_approval_valid then 'awaiting_approval'
            else 'resolved'
        end as resolution_status,
        billing_discrepancies.amount_delta,
        decisions_in_force.amount as decided_amount,
        coalesce(decision_counts.decision_count, 0) as decision_count,
        billing_discrepancies.billing_month,
        {{ month_end('billing_discrepancies.billing_month') }} as raised_date,
        as_of.as_of_date,
        decisions_in_force.decided_at
    from billing_discrepancies
    cross join as_of
    left join decisions_in_force
        on billing_discrepancies.discrepancy_id = decisions_in_force.discrepancy_id
    left join decision_counts
        on billing_discrepancies.discrepancy_id = decision_counts.discrepancy_id
),

earlier_resolutions as (
    -- For each finding, the latest resolved finding with the same key in an earlier month.
    select
        later_findings.discrepancy_id,
        earlier_findings.decision as previous_decision,
        earlier_findings.billing_month as previous_decision_month,
        row_number() over (
            partition by later_findings.discrepancy_id
            order by earlier_findings.billing_month desc
        ) as recency_rank
    from findings_with_decisions as later_findings
    inner join findings_with_decisions as earlier_findings
        on
            later_findings.finding_key = earlier_findings.finding_key
            and later_findings.billing_month > earlier_findings.billing_month
            and earlier_findings.resolution_status = 'resolved'
),

latest_earlier_resolutions as (
    select
        discrepancy_id,
        previous_decision,
        previous_decision_month
    from earlier_resolutions
    where recency_rank = 1
),

final as (
    select
        findings_with_decisions.discrepancy_id,
        findings_with_decisions.finding_key,
        findings_with_decisions.decision_id,
        findings_with_decisions.customer_key,
        findings_with_decisions.account_id,
        findings_with_decisions.customer_name,
        findings_with_decisions.product_code,
        findings_with_decisions.discrepancy_type,
        findings_with_decisions.resolution_status,
        findings_with_decisions.decision,
        findings_with_decisions.decided_by,
        findings_with_decisions.decided_role,
        findings_with_decisions.decision_source,
        findings_with_decisions.decision_note,
        latest_earlier_resolutions.previous_decision,
        findings_with_decisions.currency,
        cast(findings_with_decisions.amount_delta as decimal(18, 2)) as amount_delta,
        cast(findings_with_decisions.decided_amount as decimal(18, 2)) as decided_amount,
        cast(findings_with_decisions.decision_count as integer) as decision_count,
        cast(case
            when findings_with_decisions.resolution_status = 'resolved'
                then {{ dbt.datediff(
                    'findings_with_decisions.raised_date',
                    'cast(findings_with_decisions.decided_at as date)',
                    'day') }}
            else {{ dbt.datediff(
                'findings_with_decisions.raised_date',
                'findings_with_decisions.as_of_date',
                'day') }}
        end as integer) as age_days,
        cast(case
            when findings_with_decisions.resolution_status = 'resolved'
                then {{ dbt.datediff(
                    'findings_with_decisions.raised_date',
                    'cast(findings_with_decisions.decided_at as date)',
                    'day') }}
        end as integer) as days_to_resolve,
        abs(coalesce(findings_with_decisions.amount_delta, 0))
        >= {{ var('materiality_threshold') }} as is_material,
        findings_with_decisions.resolution_status != 'resolved' as is_open,
        latest_earlier_resolutions.discrepancy_id is not null as is_reopened,
        findings_with_decisions.billing_month,
        findings_with_decisions.raised_date,
        findings_with_decisions.as_of_date,
        latest_earlier_resolutions.previous_decision_month,
        findings_with_decisions.decided_at
    from findings_with_decisions
    left join latest_earlier_resolutions
        on findings_with_decisions.discrepancy_id = latest_earlier_resolutions.discrepancy_id
)

select * from final
