-- One row per usable intake event: a valid NPI, a known product, a known status and a
-- parseable event_at. Other events are
-- data-quality issues and are ignored.
with

intake_events as (
    select * from {{ ref('int_intake_events_resolved_to_products') }}
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
    from intake_events
    where
        is_valid_npi
        and product_code is not null
        and not has_unknown_status
        and not has_unparseable_event_at
)

select * from final
