-- One row per contract entitlement: the copy with the latest parseable last_modified_at.
with

base_entitlements as (
    select * from {{ ref('base_crm__contract_entitlements') }}
),

final as (
    select
        entitlement_id,
        account_id,
        record_id,
        product_lookup_key,
        raw_product_code,
        source_file_name,
        source_row_number,
        contracted_seats,
        has_unparseable_contracted_seats,
        has_unparseable_start_date,
        has_unparseable_end_date,
        start_date,
        end_date,
        last_modified_at
    from base_entitlements
    where not is_duplicate
)

select * from final
