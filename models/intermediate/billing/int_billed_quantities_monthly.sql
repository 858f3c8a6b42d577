-- One row per customer and product with counted invoice lines in the reconciled month:
-- the billed quantity and its unit price (mean unit_price weighted by absolute quantity,
-- or the list price when the billed quantity is 0).
with

counted_lines as (
    select * from {{ ref('int_invoice_lines_counted') }}
),

quantities_summed as (
    select
        customer_key,
        product_code,
        max(list_price_usd) as list_price_usd,
        cast(sum(billed_quantity) as bigint) as billed_quantity,
        sum(case when unit_price is not null then abs(billed_quantity) end) as price_weight,
        sum(abs(billed_quantity) * unit_price) as weighted_price_total,
        cast(count(*) as bigint) as invoice_line_count,
        billing_month
    from counted_lines
    group by customer_key, product_code, billing_month
),

final as (
    select
        customer_key,
        product_code,
        billed_quantity,
        invoice_line_count,
        cast(round(
            case
                when billed_quantity <> 0 and price_weight > 0
                    then weighted_price_total / price_weight
                else list_price_usd
            end, 4
        ) as decimal(18, 4)) as unit_price,
        billing_month
    from quantities_summed
)

select * from final
