-- Every customer, product and month whose billed quantity differs from its billable
-- providers has a quantity finding (nothing slips through unreported).
with

provider_counts as (
    select * from {{ ref('fct_provider_counts_monthly') }}
),

billing_discrepancies as (
    select * from {{ ref('fct_billing_discrepancies') }}
),

final as (
    select
        provider_counts.billing_month,
        provider_counts.customer_key,
        provider_counts.product_code
    from provider_counts
    left join billing_discrepancies
        on
            provider_counts.billing_month = billing_discrepancies.billing_month
            and provider_counts.customer_key = billing_discrepancies.customer_key
            and provider_counts.product_code = billing_discrepancies.product_code
    where
        not provider_counts.is_match
        and billing_discrepancies.discrepancy_id is null
)

select * from final
