-- Every raw CRM account line, typed and flagged; the de-duplication winner marked.
with

source as (
    select * from {{ source('crm', 'crm_accounts') }}
),

typed as (
    select
        -- ids
        {{ clean_id('account_id') }} as account_id,
        {{ clean_id('billing_account_id') }} as billing_account_id,
        -- strings
        {{ clean_text('account_name') }} as account_name,
        {{ normalise_customer_name('account_name') }} as account_name_normalised,
        case
            when lower(trim(account_status)) in ('active', 'inactive', 'churned', 'prospect')
                then lower(trim(account_status))
        end as account_status,
        {{ clean_text('account_status') }} as raw_account_status,
        {{ clean_text('go_live_date') }} as raw_go_live_date,
        {{ clean_text('last_modified_at') }} as raw_last_modified_at,
        _file_name as source_file_name,
        -- numbers
        _source_row_number as source_row_number,
        -- dates
        {{ parse_date('go_live_date') }} as go_live_date,
        -- timestamps
        {{ parse_timestamp('last_modified_at') }} as last_modified_at
    from source
),

flagged as (
    select
        *,
        coalesce(account_id, source_file_name || ':' || source_row_number) as record_id,
        account_status is null as has_unknown_status,
        raw_go_live_date is not null and go_live_date is null as has_unparseable_go_live_date,
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
