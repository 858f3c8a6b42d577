-- One row per billing month that has been run: billing match rate, overbilled and
-- underbilled dollars, findings by type, new versus recurring findings, usage against
-- entitlements (seats above and below, true-up dollars at list price), and where the
-- decisions on the month's findings stand (open dollars at risk, mean time to resolve).
with

provider_counts as (
    select * from {{ ref('fct_provider_counts_monthly') }}
),

billing_discrepancies as (
    select * from {{ ref('fct_billing_discrepancies') }}
),

provider_discrepancies as (
    select * from {{ ref('fct_provider_discrepancies') }}
),

data_quality_issues as (
    select * from {{ ref('fct_data_quality_issues') }}
),

entitlement_findings as (
    select * from {{ ref('fct_entitlement_findings') }}
),

products as (
    select
        product_code,
        list_price_usd
    from {{ ref('stg_reference__products') }}
),

discrepancy_resolutions as (
    select * from {{ ref('fct_discrepancy_resolutions') }}
),

counts_by_month as (
    select
        billing_month,
        count(*) as customer_products,
        sum(case when is_match then 1 else 0 end) as matched_customer_products,
        sum(billable_providers) as billable_providers,
        sum(billed_quantity) as billed_quantity
    from provider_counts
    group by billing_month
),

findings_by_month as (
    select
        billing_month,
        count(*) as account_findings,
        sum(case when is_new then 1 else 0 end) as new_account_findings,
        sum(case when not is_new then 1 else 0 end) as recurring_account_findings,
        {%- for type in discrepancy_types_of_level('product') + discrepancy_types_of_level('account') %}
        sum(case when discrepancy_type = '{{ type }}' then 1 else 0 end) as {{ type | lower }}_findings,
        {%- endfor %}
        coalesce(sum(case when discrepancy_type = 'OVERBILLED' then amount_delta end), 0) as overbilled_amount,
        coalesce(sum(
            case when discrepancy_type in ('UNDERBILLED', 'UNBILLED_USAGE') then -amount_delta end
        ), 0) as underbilled_amount
    from billing_discrepancies
    group by billing_month
),

provider_findings_by_month as (
    select
        billing_month,
        count(*) as provider_findings
    from provider_discrepancies
    group by billing_month
),

resolutions_by_month as (
    -- Dollars: product findings only (an account finding's amount is the sum of its
    -- products', so adding it again would count the same dollars twice).
    select
        billing_month,
        sum(case when resolution_status = 'open' then 1 else 0 end) as open_findings,
        sum(case when resolution_status = 'disputed' then 1 else 0 end) as disputed_findings,
        sum(case when resolution_status = 'proposed' then 1 else 0 end) as proposed_findings,
        sum(case when resolution_status = 'awaiting_approval' then 1 else 0 end)
            as awaiting_approval_findings,
        sum(case when resolution_status = 'resolved' then 1 else 0 end) as resolved_findings,
        sum(case when is_reopened then 1 else 0 end) as reopened_findings,
        sum(case when not is_material then 1 else 0 end) as immaterial_findings,
        coalesce(sum(
            case when is_open and product_code is not null then abs(amount_delta) end
        ), 0) as open_amount_at_risk,
        avg(cast(days_to_resolve as decimal(18, 2))) as mean_days_to_resolve
    from discrepancy_resolutions
    group by billing_month
),

data_quality_by_month as (
    select
        billing_month,
        count(*) as data_quality_issues
    from data_quality_issues
    group by billing_month
),

entitlements_by_month as (
    select
        entitlement_findings.billing_month,
        sum(case when entitlement_findings.finding_type = 'USAGE_ABOVE_ENTITLEMENT' then 1 else 0 end)
            as usage_above_entitlement_findings,
        sum(case when entitlement_findings.finding_type = 'USAGE_BELOW_ENTITLEMENT' then 1 else 0 end)
            as usage_below_entitlement_findings,
        sum(case when entitlement_findings.finding_type = 'NO_ENTITLEMENT' then 1 else 0 end)
            as no_entitlement_findings,
        sum(
            case
                when entitlement_findings.finding_type = 'USAGE_ABOVE_ENTITLEMENT'
                    then entitlement_findings.seat_delta
                else 0
            end
        ) as seats_above_entitlement,
        sum(
            case
                when entitlement_findings.finding_type = 'USAGE_BELOW_ENTITLEMENT'
                    then -entitlement_findings.seat_delta
                else 0
            end
        ) as seats_below_entitlement,
        sum(
            case
                when entitlement_findings.finding_type = 'NO_ENTITLEMENT'
                    then entitlement_findings.seat_delta
                else 0
            end
        ) as seats_without_entitlement,
        sum(
            case
                when entitlement_findings.finding_type = 'USAGE_ABOVE_ENTITLEMENT'
                    then entitlement_findings.seat_delta * products.list_price_usd
                else 0
            end
        ) as true_up_amount
    from entitlement_findings
    left join products
        on entitlement_findings.product_code = products.product_code
    group by entitlement_findings.billing_month
),

final as (
    select
        counts_by_month.billing_month,
        counts_by_month.customer_products,
        counts_by_month.matched_customer_products,
        cast(round(
            cast(counts_by_month.matched_customer_products as decimal(18, 6))
            / nullif(counts_by_month.customer_products, 0), 4
        ) as decimal(6, 4)) as billing_match_rate,
        counts_by_month.billable_providers,
        counts_by_month.billed_quantity,
        coalesce(findings_by_month.account_findings, 0) as account_findings,
        coalesce(findings_by_month.new_account_findings, 0) as new_account_findings,
        coalesce(findings_by_month.recurring_account_findings, 0) as recurring_account_findings,
        {%- for type in discrepancy_types_of_level('product') + discrepancy_types_of_level('account') %}
        coalesce(findings_by_month.{{ type | lower }}_findings, 0) as {{ type | lower }}_findings,
        {%- endfor %}
        cast(coalesce(findings_by_month.overbilled_amount, 0) as decimal(18, 2)) as overbilled_amount,
        cast(coalesce(findings_by_month.underbilled_amount, 0) as decimal(18, 2)) as underbilled_amount,
        cast(coalesce(resolutions_by_month.open_findings, 0) as bigint) as open_findings,
        cast(coalesce(resolutions_by_month.disputed_findings, 0) as bigint) as disputed_findings,
        cast(coalesce(resolutions_by_month.proposed_findings, 0) as bigint) as proposed_findings,
        cast(coalesce(resolutions_by_month.awaiting_approval_findings, 0) as bigint)
            as awaiting_approval_findings,
        cast(coalesce(resolutions_by_month.resolved_findings, 0) as bigint) as resolved_findings,
        cast(coalesce(resolutions_by_month.reopened_findings, 0) as bigint) as reopened_findings,
        cast(coalesce(resolutions_by_month.immaterial_findings, 0) as bigint) as immaterial_findings,
        cast(coalesce(resolutions_by_month.open_amount_at_risk, 0) as decimal(18, 2)) as open_amount_at_risk,
        cast(round(resolutions_by_month.mean_days_to_resolve, 1) as decimal(8, 1)) as mean_days_to_resolve,
        coalesce(provider_findings_by_month.provider_findings, 0) as provider_findings,
        coalesce(data_quality_by_month.data_quality_issues, 0) as data_quality_issues,
        coalesce(entitlements_by_month.usage_above_entitlement_findings, 0)
            as usage_above_entitlement_findings,
        coalesce(entitlements_by_month.usage_below_entitlement_findings, 0)
            as usage_below_entitlement_findings,
        coalesce(entitlements_by_month.no_entitlement_findings, 0) as no_entitlement_findings,
        coalesce(entitlements_by_month.seats_above_entitlement, 0) as seats_above_entitlement,
        coalesce(entitlements_by_month.seats_below_entitlement, 0) as seats_below_entitlement,
        coalesce(entitlements_by_month.seats_without_entitlement, 0) as seats_without_entitlement,
        cast(coalesce(entitlements_by_month.true_up_amount, 0) as decimal(18, 2)) as true_up_amount
    from counts_by_month
    left join findings_by_month
        on counts_by_month.billing_month = findings_by_month.billing_month
    left join provider_findings_by_month
        on counts_by_month.billing_month = provider_findings_by_month.billing_month
    left join resolutions_by_month
        on counts_by_month.billing_month = resolutions_by_month.billing_month
    left join data_quality_by_month
        on counts_by_month.billing_month = data_quality_by_month.billing_month
    left join entitlements_by_month
        on counts_by_month.billing_month = entitlements_by_month.billing_month
)

select * from final
