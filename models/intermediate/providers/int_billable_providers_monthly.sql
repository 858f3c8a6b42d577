-- One row per customer and product with billable providers in the reconciled month:
-- the count of distinct billable NPIs.
with

provider_states as (
    select * from {{ ref('int_provider_states_as_of_month_end') }}
),

final as (
    select
        customer_key,
        product_code,
        count(distinct npi) as billable_providers,
        billing_month
    from provider_states
    where is_billable
    group by customer_key, product_code, billing_month
)

select * from final
