-- Every raw CRM provider line, typed and flagged; the de-duplication winner marked.
with

source as (
    select * from {{ source('crm', 'crm_providers') }}
),

typed as (
    select
        -- ids
        {{ clean_id('crm_provider_id') }} as crm_provider_id,
        {{ clean_id('account_id') }} as account_id,
        {{ clean_npi('npi') }} as npi,
        -- strings
        {{ clean_text('provider_name') }} as provider_name,
        {{ normalise_provider_name('provider_name') }} as provider_name_normalised,
        case
            when lower(trim(provider_status)) in ('active', 'inactive')
                then lower(trim(provider_status))
        end as provider_status,
        {{ clean_text('department') }} as department,
        {{ clean_text('location') }} as provider_location,
        {{ clean_text('npi') }} as raw_npi,
        {{ clean_text('provider_status') }} as raw_provider_status,
        {{ clean_text('last_modified_at') }} as raw_last_modified_at,
        _file_name as source_file_name,
        -- numbers
        _source_row_number as source_row_number,
        -- timestamps
        {{ parse_timestamp('last_modified_at') }} as last_modified_at
    from source
),

flagged as (
    select
        *,
        coalesce(crm_provider_id, source_file_name || ':' || source_row_number) as record_id,
        {{ is_valid_npi('npi') }} as is_valid_npi,
        provider_status is null as has_unknown_status,
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
