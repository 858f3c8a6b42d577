-- One row per usable intake event: a valid NPI, a known product (by code or by name,
-- case-insensitively), a known status and a parseable event_at. Other events are
-- data-quality issues and are ignored.
with

intake_events as (
    select * from {{ ref('int_intake_events_resolved_to_customers') }}
),

products as (
    select * from {{ ref('stg_reference__products') }}
),

events_joined_to_products as (
    select
        intake_events.*,
        coalesce(products_by_code.product_code, products_by_name.product_code) as product_code,
        coalesce(products_by_code.is_billable, products_by_name.is_billable) as is_billable_product
    from intake_events
    left join products as products_by_code
        on intake_events.product_lookup_key = lower(products_by_code.product_code_key)
    left join products as products_by_name
        on intake_events.product_lookup_key = products_by_name.product_name_key
),

final as (
    select
        event_id,
        customer_key,
        resolved_account_id as account_id,
        product_code,
        npi,
        provider_name,
        provider_name_normalised,
        department,
        event_status,
        is_billable_product,
        event_date,
        coalesce(go_live_date, event_date) as effective_go_live_date,
        event_at
    from events_joined_to_products
    where
        is_valid_npi
        and product_code is not null
        and not has_unknown_status
        and not has_unparseable_event_at
)

select * from final
