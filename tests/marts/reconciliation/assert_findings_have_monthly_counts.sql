-- Every account finding's customer (and product, for a quantity finding) has a row in
-- the monthly counts of the same month, with the same numbers.
with

billing_discrepancies as (
    select * from {{ ref('fct_billing_discrepancies') }}
),

provider_counts as (
    select * from {{ ref('fct_provider_counts_monthly') }}
),

customer_totals as (
    select
        billing_month,
        customer_key,
        sum(billable_providers) as billable_providers,
        sum(billed_quantity) as billed_quantity
    from provider_counts
    group by billing_month, customer_key
),

product_findings_without_counts as (
    select billing_discrepancies.discrepancy_id
    from billing_discrepancies
    left join provider_counts
        on
            billing_discrepancies.billing_month = provider_counts.billing_month
            and billing_discrepancies.customer_key = provider_counts.customer_key
            and billing_discrepancies.product_code = provider_counts.product_code
    where
        billing_discrepancies.product_code is not null
        and (
            provider_counts.customer_key is null
            or provider_counts.billable_providers <> billing_discrepancies.billable_providers
            or provider_counts.billed_quantity <> billing_discrepancies.billed_quantity
            or provider_counts.is_match
        )
),

account_findings_without_counts as (
    select billing_discrepancies.discrepancy_id
    from billing_discrepancies
    left join customer_totals
        on
            billing_discrepancies.billing_month = customer_totals.billing_month
            and billing_discrepancies.customer_key = customer_totals.customer_key
    where
        billing_discrepancies.product_code is null
        and (
            customer_totals.customer_key is null
            or customer_totals.billable_providers <> billing_discrepancies.billable_providers
            or customer_totals.billed_quantity <> billing_discrepancies.billed_quantity
        )
),

final as (
    select * from product_findings_without_counts
    union all
    select * from account_findings_without_counts
)

select * from final
