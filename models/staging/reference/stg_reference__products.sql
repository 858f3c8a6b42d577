-- One row per product of the catalogue seed.
with

products as (
    select * from {{ ref('products') }}
),

final as (
    select
        -- ids
        trim(cast(product_code as {{ dbt.type_string() }})) as product_code,
        upper(trim(cast(product_code as {{ dbt.type_string() }}))) as product_code_key,
        -- strings
        trim(cast(product_name as {{ dbt.type_string() }})) as product_name,
        lower(trim(cast(product_name as {{ dbt.type_string() }}))) as product_name_key,
        -- numbers
        cast(list_price as decimal(18, 4)) as list_price_usd,
        -- booleans
        cast(is_billable as boolean) as is_billable
    from products
)

select * from final
