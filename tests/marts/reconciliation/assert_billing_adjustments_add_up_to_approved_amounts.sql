-- The adjustments of the month run add up exactly, to the cent, to the amounts approved that
-- they settle: per approval (its lines, whose signs agree, to its decided_amount in
-- fct_discrepancy_resolutions) and for the month (the sum of the approved amounts settled
-- this month). Every approval in force that no other month settled is settled this month,
-- and nothing else is. Fails with the approvals (or the month) that do not add up.
with

billing_adjustments as (
    select * from {{ ref('fct_billing_adjustments') }}
),

discrepancy_resolutions as (
    select * from {{ ref('fct_discrepancy_resolutions') }}
),

settled_in_other_months as (
    select distinct discrepancy_id
    from billing_adjustments
    where settled_in_month <> {{ billing_month_start() }}
),

approvals_to_settle as (
    select
        discrepancy_resolutions.decision_id,
        abs(discrepancy_resolutions.decided_amount) as approved_amount
    from discrepancy_resolutions
    left join settled_in_other_months
        on discrepancy_resolutions.discrepancy_id = settled_in_other_months.discrepancy_id
    where
        discrepancy_resolutions.resolution_status = 'resolved'
        and discrepancy_resolutions.decision in ('APPROVE_CREDIT', 'APPROVE_INVOICE_CORRECTION')
        and discrepancy_resolutions.decided_amount is not null
        and discrepancy_resolutions.billing_month <= {{ billing_month_start() }}
        and settled_in_other_months.discrepancy_id is null
),

settled_this_month as (
    select
        decision_id,
        abs(sum(amount)) as settled_amount
    from billing_adjustments
    where settled_in_month = {{ billing_month_start() }}
    group by decision_id
),

approvals_compared as (
    select
        coalesce(approvals_to_settle.decision_id, settled_this_month.decision_id) as decision_id,
        approvals_to_settle.approved_amount,
        settled_this_month.settled_amount
    from approvals_to_settle
    full outer join settled_this_month
        on approvals_to_settle.decision_id = settled_this_month.decision_id
),

month_compared as (
    select
        'the month' as decision_id,
        coalesce(sum(approved_amount), 0) as approved_amount,
        coalesce(sum(settled_amount), 0) as settled_amount
    from approvals_compared
),

final as (
    select * from approvals_compared
    where
        approved_amount is null
        or settled_amount is null
        or approved_amount <> settled_amount
    union all
    select * from month_compared
    where approved_amount <> settled_amount
)

select * from final
