-- One row per intake event with its customer and its product: the products row whose code
-- or name equals the event's product, case-insensitively (the code first); NULL when the
-- product is unknown.
with

intake_events as (
    select * from {{ ref('int_intake_events_resolved_to_customers') }}
),

products as (
    select * from {{ ref('stg_reference__products') }}
),

final as (
    select
        intake_events.*,
        coalesce(products_by_code.product_code, products_by_name.product_code) as product_code,
        coalesce(products_by_code.is_billable, products_by_name.is_billable) as is_billable_product
    from intake_events
    left join products as products_by_code
        on intake_events.product_lookup_key = lower(products_by_code.product_code_key)
    left join products as products_by_name
        on intake_events.product_lookup_key = products_by_name.product_name_key
)

select * from final
