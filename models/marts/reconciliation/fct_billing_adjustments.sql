-- One row per draft billing adjustment line: what the billing system imports to settle each
-- approved decision (an APPROVE_CREDIT or APPROVE_INVOICE_CORRECTION in force, resolved,
-- with an amount), written by the first monthly run after the approval (settled_in_month,
-- the month run) and never again: re-running that month rewrites the same lines, a later
-- month leaves them alone (a finding whose approval was settled in another month is not
-- settled twice).
--
-- The lines of a finding are the invoice lines behind its billed quantity (its evidence,
-- rpt_finding_evidence). Overbilled: the seats too many are taken off its lines, open
-- invoices first, then the largest lines (a line gives at most its quantity): on an open
-- invoice a correction of the line, on a closed one a credit-note line. Underbilled or
-- unbilled usage: the seats missing are added to its first line (open first, then the
-- largest): a correction of an open invoice, else a supplementary invoice's line; with no
-- line at all, a supplementary invoice's line without invoice, at the finding's unit price.
-- A finding about the whole customer (product NULL) gets one line of the approved amount.
-- The approved amount is allocated to the lines by their seats times unit price, rounded to
-- cents, the last line taking the remainder: the lines add up to it exactly, to the cent,
-- also when it differs from the finding's amount (a partial credit: is_partial).
-- Signs: what the customer owes more is positive (supplementary lines, a correction adding
-- seats), what is taken off is negative (credit-note lines, a correction removing seats).
with

discrepancy_resolutions as (
    select * from {{ ref('fct_discrepancy_resolutions') }}
),

billing_discrepancies as (
    select * from {{ ref('fct_billing_discrepancies') }}
),

decisions as (
    select
        decision_id,
        evidence_sha256
    from {{ ref('stg_resolutions__discrepancy_decisions') }}
),

finding_evidence as (
    select * from {{ ref('rpt_finding_evidence') }}
    where evidence_kind = 'invoice_line'
),

{% if is_incremental() -%}
settled_in_other_months as (
    -- the findings settled by the run of another month (never settled again)
    select distinct settled.discrepancy_id
    from {{ this }} as settled
    where settled.billing_month <> {{ billing_month_start() }}
),
{%- else -%}
settled_in_other_months as (
    select cast(null as {{ dbt.type_string() }}) as discrepancy_id
    where 1 = 0
),
{%- endif %}

approvals as (
    select
        discrepancy_resolutions.decision_id,
        discrepancy_resolutions.discrepancy_id,
        billing_discrepancies.customer_key,
        billing_discrepancies.account_id,
        billing_discrepancies.customer_name,
        billing_discrepancies.product_code,
        billing_discrepancies.discrepancy_type,
        billing_discrepancies.reason as finding_reason,
        billing_discrepancies.invoice_ids,
        discrepancy_resolutions.decision,
        discrepancy_resolutions.decided_by,
        decisions.evidence_sha256,
        discrepancy_resolutions.currency as decision_currency,
        abs(discrepancy_resolutions.decided_amount) as approved_amount,
        abs(billing_discrepancies.quantity_delta) as seats,
        billing_discrepancies.unit_price as finding_unit_price,
        abs(billing_discrepancies.amount_delta) as finding_amount,
        -- what the customer owes more is positive: the direction follows the finding
        case
            when billing_discrepancies.discrepancy_type = 'OVERBILLED' then -1
            when billing_discrepancies.discrepancy_type in ('UNDERBILLED', 'UNBILLED_USAGE') then 1
            when discrepancy_resolutions.decision = 'APPROVE_CREDIT' then -1
            else 1
        end as direction,
        billing_discrepancies.billing_month as finding_month,
        discrepancy_resolutions.decided_at
    from discrepancy_resolutions
    inner join billing_discrepancies
        on discrepancy_resolutions.discrepancy_id = billing_discrepancies.discrepancy_id
    left join decisions
        on discrepancy_resolutions.decision_id = decisions.decision_id
    left join settled_in_other_months
        on discrepancy_resolutions.discrepancy_id = settled_in_other_months.discrepancy_id
    where
        discrepancy_resolutions.resolution_status = 'resolved'
        and discrepancy_resolutions.decision in ('APPROVE_CREDIT', 'APPROVE_INVOICE_CORRECTION')
        and discrepancy_resolutions.decided_amount is not null
        and billing_discrepancies.billing_month <= {{ billing_month_start() }}
        and settled_in_other_months.discrepancy_id is null
),

lines_of_approvals as (
    select
        approvals.decision_id,
        finding_evidence.invoice_id,
        finding_evidence.invoice_line_id,
        finding_evidence.product_code,
        finding_evidence.invoice_status,
        finding_evidence.currency,
        finding_evidence.quantity as original_quantity,
        finding_evidence.unit_price,
        row_number() over (
            partition by approvals.decision_id
            order by
                case when finding_evidence.invoice_status = 'open' then 0 else 1 end asc,
                finding_evidence.quantity desc,
                finding_evidence.invoice_id asc,
                finding_evidence.invoice_line_id asc
        ) as line_order
    from approvals
    inner join finding_evidence
        on approvals.discrepancy_id = finding_evidence.discrepancy_id
    where
        approvals.product_code is not null
        -- seats are taken off lines that have seats; added to any line
        and (approvals.direction > 0 or finding_evidence.quantity > 0)
),

seats_taken_off as (
    select
        lines_of_approvals.*,
        coalesce(sum(lines_of_approvals.original_quantity) over (
            partition by lines_of_approvals.decision_id
            order by lines_of_approvals.line_order
            rows between unbounded preceding and 1 preceding
        ), 0) as seats_before
    from lines_of_approvals
    inner join approvals
        on lines_of_approvals.decision_id = approvals.decision_id
    where approvals.direction < 0
),

lines_allocated as (
    -- overbilled: each line gives what is still to take off, at most its quantity
    select
        seats_taken_off.decision_id,
        seats_taken_off.invoice_id,
        seats_taken_off.invoice_line_id,
        seats_taken_off.product_code,
        seats_taken_off.invoice_status,
        seats_taken_off.currency,
        seats_taken_off.original_quantity,
        seats_taken_off.unit_price,
        case
            when approvals.seats - seats_taken_off.seats_before < seats_taken_off.original_quantity
                then approvals.seats - seats_taken_off.seats_before
            else seats_taken_off.original_quantity
        end as line_seats
    from seats_taken_off
    inner join approvals
        on seats_taken_off.decision_id = approvals.decision_id
    where seats_taken_off.seats_before < approvals.seats

    union all

    -- underbilled: the seats missing go on the first line
    select
        lines_of_approvals.decision_id,
        lines_of_approvals.invoice_id,
        lines_of_approvals.invoice_line_id,
        lines_of_approvals.product_code,
        lines_of_approvals.invoice_status,
        lines_of_approvals.currency,
        lines_of_approvals.original_quantity,
        lines_of_approvals.unit_price,
        approvals.seats as line_seats
    from lines_of_approvals
    inner join approvals
        on lines_of_approvals.decision_id = approvals.decision_id
    where
        approvals.direction > 0
        and lines_of_approvals.line_order = 1
        and approvals.seats > 0
),

approvals_without_lines as (
    -- no invoice line to adjust (usage never invoiced, a finding about the whole customer, or
    -- nothing left to take off): one line of the approved amount, without invoice line
    select
        approvals.decision_id,
        case
            when approvals.invoice_ids not like '%,%' then approvals.invoice_ids
        end as invoice_id,
        cast(null as {{ dbt.type_string() }}) as invoice_line_id,
        approvals.product_code,
        cast(null as {{ dbt.type_string() }}) as invoice_status,
        approvals.decision_currency as currency,
        cast(null as bigint) as original_quantity,
        case
            when approvals.product_code is not null and approvals.seats > 0
                then approvals.finding_unit_price
            else approvals.approved_amount
        end as unit_price,
        case
            when approvals.product_code is not null and approvals.seats > 0 then approvals.seats
            else 1
        end as line_seats
    from approvals
    left join lines_allocated
        on approvals.decision_id = lines_allocated.decision_id
    where lines_allocated.decision_id is null
),

adjustment_lines as (
    select * from lines_allocated
    union all
    select * from approvals_without_lines
),

lines_weighted as (
    select
        adjustment_lines.*,
        -- the line's share of the approved amount: its seats at its price (its seats when
        -- every price is zero)
        case
            when
                sum(adjustment_lines.line_seats * adjustment_lines.unit_price) over (
                    partition by adjustment_lines.decision_id
                ) > 0
                then adjustment_lines.line_seats * adjustment_lines.unit_price
            else adjustment_lines.line_seats
        end as allocation_weight,
        row_number() over (
            partition by adjustment_lines.decision_id
            order by
                case when adjustment_lines.invoice_status = 'open' then 0 else 1 end,
                adjustment_lines.invoice_id,
                adjustment_lines.invoice_line_id
        ) as line_number,
        count(*) over (partition by adjustment_lines.decision_id) as line_count
    from adjustment_lines
),

lines_rounded as (
    select
        lines_weighted.*,
        cast(round(
            approvals.approved_amount * lines_weighted.allocation_weight
            / sum(lines_weighted.allocation_weight) over (partition by lines_weighted.decision_id),
            2
        ) as decimal(18, 2)) as rounded_share
    from lines_weighted
    inner join approvals
        on lines_weighted.decision_id = approvals.decision_id
),

lines_with_amounts as (
    select
        lines_rounded.*,
        -- the last line takes the rounding remainder: the lines add up to the approved amount
        case
            when lines_rounded.line_number = lines_rounded.line_count
                then approvals.approved_amount - (
                    sum(lines_rounded.rounded_share) over (partition by lines_rounded.decision_id)
                    - lines_rounded.rounded_share
                )
            else lines_rounded.rounded_share
        end as line_amount
    from lines_rounded
    inner join approvals
        on lines_rounded.decision_id = approvals.decision_id
),

final as (
    select
        {{ dbt.hash(dbt.concat([
            'lines_with_amounts.decision_id', "'|'",
            'cast(lines_with_amounts.line_number as ' ~ dbt.type_string() ~ ')'])) }}
            as adjustment_id,
        approvals.decision_id,
        approvals.discrepancy_id,
        lines_with_amounts.invoice_id,
        lines_with_amounts.invoice_line_id,
        approvals.account_id,
        approvals.customer_key,
        approvals.customer_name,
        coalesce(lines_with_amounts.product_code, approvals.product_code) as product_code,
        case
            when lines_with_amounts.invoice_status = 'open' then 'invoice_correction'
            when approvals.direction < 0 then 'credit_note'
            else 'supplementary_invoice'
        end as adjustment_kind,
        approvals.discrepancy_type,
        approvals.decision,
        approvals.decided_by,
        approvals.evidence_sha256,
        coalesce(lines_with_amounts.currency, approvals.decision_currency) as currency,
        case
            when lines_with_amounts.invoice_status = 'open' then 'Invoice correction: '
            when approvals.direction < 0 then 'Credit note: '
            else 'Supplementary invoice: '
        end
        || case
            when approvals.product_code is null then 'a lump sum'
            else
                cast(cast(lines_with_amounts.line_seats as bigint) as {{ dbt.type_string() }})
                || case when lines_with_amounts.line_seats = 1 then ' seat' else ' seats' end
                || ' of ' || approvals.product_code
                || case when approvals.direction < 0 then ' taken off' else ' added' end
        end
        || ' for the ' || substr(cast(approvals.finding_month as {{ dbt.type_string() }}), 1, 7)
        || ' finding ' || approvals.discrepancy_type || '. ' || approvals.finding_reason
        || case
            when approvals.approved_amount <> approvals.finding_amount
                then
                    ' Partial: ' || cast(approvals.approved_amount as {{ dbt.type_string() }})
                    || ' approved of ' || cast(approvals.finding_amount as {{ dbt.type_string() }})
                    || '.'
            else ''
        end as reason,
        cast(lines_with_amounts.line_number as integer) as line_number,
        cast(lines_with_amounts.original_quantity as bigint) as original_quantity,
        cast(approvals.direction * lines_with_amounts.line_seats as bigint) as quantity,
        cast(case
            when lines_with_amounts.invoice_status = 'open'
                then
                    lines_with_amounts.original_quantity
                    + approvals.direction * lines_with_amounts.line_seats
        end as bigint) as corrected_quantity,
        cast(lines_with_amounts.unit_price as decimal(18, 4)) as unit_price,
        cast(approvals.direction * lines_with_amounts.line_amount as decimal(18, 2)) as amount,
        cast(approvals.direction * approvals.approved_amount as decimal(18, 2)) as approved_amount,
        approvals.approved_amount <> approvals.finding_amount as is_partial,
        approvals.finding_month,
        {{ billing_month_start() }} as settled_in_month,
        {{ billing_month_start() }} as billing_month,
        approvals.decided_at
    from lines_with_amounts
    inner join approvals
        on lines_with_amounts.decision_id = approvals.decision_id
)

select * from final
