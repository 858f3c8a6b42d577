-- One row per CRM account: the copy with the latest parseable last_modified_at.
with

base_accounts as (
    select * from {{ ref('base_crm__accounts') }}
),

final as (
    select
        account_id,
        billing_account_id,
        record_id,
        account_name,
        account_name_normalised,
        account_status,
        has_unknown_status,
        has_unparseable_go_live_date,
        go_live_date,
        last_modified_at
    from base_accounts
    where not is_duplicate
)

select * from final
