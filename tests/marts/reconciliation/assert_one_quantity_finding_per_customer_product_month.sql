-- At most one quantity finding (OVERBILLED, UNDERBILLED, UNBILLED_USAGE) per customer,
-- product and month.
with

billing_discrepancies as (
    select * from {{ ref('fct_billing_discrepancies') }}
),

final as (
    select
        billing_month,
        customer_key,
        product_code,
        count(*) as quantity_findings
    from billing_discrepancies
    where product_code is not null
    group by billing_month, customer_key, product_code
    having count(*) > 1
)

select * from final
