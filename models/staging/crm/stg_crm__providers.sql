-- One row per CRM provider record: the copy with the latest parseable last_modified_at.
with

base_providers as (
    select * from {{ ref('base_crm__providers') }}
),

final as (
    select
        crm_provider_id,
        account_id,
        npi,
        record_id,
        provider_name,
        provider_name_normalised,
        provider_status,
        department,
        provider_location,
        source_file_name,
        source_row_number,
        is_valid_npi,
        has_unknown_status,
        last_modified_at
    from base_providers
    where not is_duplicate
)

select * from final
