-- One row per customer, product and billing month with billable providers or a counted
-- invoice line: the trend table. Keeps every month that has been run.
with

customer_products as (
    select * from {{ ref('int_customer_products_monthly') }}
),

final as (
    select
        customer_key,
        account_id,
        product_code,
        crm_active_providers,
        billable_providers,
        billed_quantity,
        quantity_delta,
        is_match,
        billing_month
    from customer_products
)

select * from final
