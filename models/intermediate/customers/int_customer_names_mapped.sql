-- One row per normalised customer name known to the CRM or to legacy_customer_names,
-- with the account it settles to (matching steps 3 and 4) or why it settles nothing.
with

crm_accounts as (
    select
        account_id,
        account_name_normalised
    from {{ ref('stg_crm__accounts') }}
),

legacy_customer_names as (
    select
        account_id,
        legacy_name_normalised
    from {{ ref('stg_reference__legacy_customer_names') }}
),

crm_names as (
    select
        account_name_normalised as customer_name_normalised,
        min(account_id) as account_id,
        count(distinct account_id) as crm_account_count
    from crm_accounts
    where account_name_normalised is not null
    group by account_name_normalised
),

-- A legacy row decides only when its account exists in the CRM, and only when the
-- name's legacy rows agree on one account.
legacy_names as (
    select
        legacy_customer_names.legacy_name_normalised as customer_name_normalised,
        min(legacy_customer_names.account_id) as account_id
    from legacy_customer_names
    inner join crm_accounts
        on legacy_customer_names.account_id = crm_accounts.account_id
    where legacy_customer_names.legacy_name_normalised is not null
    group by legacy_customer_names.legacy_name_normalised
    having count(distinct legacy_customer_names.account_id) = 1
),

all_names as (
    select customer_name_normalised from crm_names
    union
    select customer_name_normalised from legacy_names
),

final as (
    select
        all_names.customer_name_normalised,
        case
            when crm_names.crm_account_count = 1 then crm_names.account_id
            else legacy_names.account_id
        end as account_id,
        case
            when crm_names.crm_account_count = 1 then 'crm_name'
            when legacy_names.account_id is not null then 'legacy_name'
            when crm_names.crm_account_count > 1 then 'ambiguous'
        end as match_method,
        coalesce(crm_names.crm_account_count, 0) as crm_account_count
    from all_names
    left join crm_names
        on all_names.customer_name_normalised = crm_names.customer_name_normalised
    left join legacy_names
        on all_names.customer_name_normalised = legacy_names.customer_name_normalised
)

select * from final
