-- Every raw intake-log line over every drop, typed and flagged; the winner of each
-- event_id marked (the copy in the latest file by name, then the later line).
with

source as (
    select * from {{ source('ops', 'ops_intake_log') }}
),

typed as (
    select
        -- ids
        {{ clean_id('event_id') }} as event_id,
        {{ clean_id('account_id') }} as account_id,
        {{ clean_npi('npi') }} as npi,
        -- strings
        {{ clean_text('customer_name') }} as customer_name,
        {{ normalise_customer_name('customer_name') }} as customer_name_normalised,
        {{ clean_text('provider_name') }} as provider_name,
        {{ normalise_provider_name('provider_name') }} as provider_name_normalised,
        {{ clean_text('department') }} as department,
        {{ clean_text('location') }} as provider_location,
        lower(trim(product)) as product_lookup_key,
        case
            when lower(trim(status)) in ('live', 'pending', 'paused', 'terminated')
                then lower(trim(status))
        end as event_status,
        {{ clean_text('event_at') }} as raw_event_at,
        {{ clean_text('npi') }} as raw_npi,
        {{ clean_text('product') }} as raw_product,
        {{ clean_text('status') }} as raw_status,
        {{ clean_text('go_live_date') }} as raw_go_live_date,
        _file_name as source_file_name,
        -- numbers
        _source_row_number as source_row_number,
        -- dates
        {{ parse_date('go_live_date') }} as go_live_date,
        -- timestamps
        {{ parse_timestamp('event_at') }} as event_at
    from source
),

flagged as (
    select
        *,
        coalesce(event_id, source_file_name || ':' || source_row_number) as record_id,
        cast(event_at as date) as event_date,
        {{ month_start('event_at') }} as event_month,
        {{ is_valid_npi('npi') }} as is_valid_npi,
        event_status is null as has_unknown_status,
        event_at is null as has_unparseable_event_at,
        raw_go_live_date is not null and go_live_date is null as has_unparseable_go_live_date
    from typed
),

final as (
    select
        *,
        row_number() over (
            partition by record_id
            order by source_file_name desc, source_row_number desc
        ) > 1 as is_duplicate
    from flagged
)

select * from final
