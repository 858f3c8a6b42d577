-- One row per intake event (event_id): the copy in the latest drop wins.
with

base_intake_log as (
    select * from {{ ref('base_ops__intake_log') }}
),

final as (
    select
        event_id,
        account_id,
        npi,
        record_id,
        customer_name,
        customer_name_normalised,
        provider_name,
        provider_name_normalised,
        department,
        provider_location,
        product_lookup_key,
        raw_product,
        event_status,
        source_file_name,
        source_row_number,
        is_valid_npi,
        has_unknown_status,
        has_unparseable_event_at,
        has_unparseable_go_live_date,
        event_date,
        event_month,
        go_live_date,
        event_at
    from base_intake_log
    where not is_duplicate
)

select * from final
