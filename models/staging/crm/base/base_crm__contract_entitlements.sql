-- Every raw contract entitlement line, typed and flagged; the de-duplication winner marked
-- (the latest parseable last_modified_at, as for the other CRM exports).
with

source as (
    select * from {{ source('crm', 'contract_entitlements') }}
),

typed as (
    select
        -- ids
        {{ clean_id('entitlement_id') }} as entitlement_id,
        {{ clean_id('account_id') }} as account_id,
        upper(trim(product_code)) as product_lookup_key,
        -- strings
        {{ clean_text('product_code') }} as raw_product_code,
        {{ clean_text('contracted_seats') }} as raw_contracted_seats,
        {{ clean_text('start_date') }} as raw_start_date,
        {{ clean_text('end_date') }} as raw_end_date,
        {{ clean_text('last_modified_at') }} as raw_last_modified_at,
        _file_name as source_file_name,
        -- numbers
        _source_row_number as source_row_number,
        {{ parse_whole_number('contracted_seats') }} as contracted_seats,
        -- dates
        {{ parse_date('start_date') }} as start_date,
        {{ parse_date('end_date') }} as end_date,
        -- timestamps
        {{ parse_timestamp('last_modified_at') }} as last_modified_at
    from source
),

flagged as (
    select
        *,
        coalesce(entitlement_id, source_file_name || ':' || source_row_number) as record_id,
        contracted_seats is null as has_unparseable_contracted_seats,
        raw_start_date is not null and start_date is null as has_unparseable_start_date,
        raw_end_date is not null and end_date is null as has_unparseable_end_date,
        raw_last_modified_at is not null and last_modified_at is null
            as has_unparseable_last_modified_at
    from typed
),

final as (
    select
        *,
        {{ is_superseded_copy(['last_modified_at desc nulls last']) }} as is_duplicate
    from flagged
)

select * from final
