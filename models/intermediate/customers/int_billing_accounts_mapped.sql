-- One row per billing_account_id that exactly one CRM account carries (matching step 2);
-- an id shared by several CRM accounts decides nothing and is left out.
with

crm_accounts as (
    select
        account_id,
        billing_account_id
    from {{ ref('stg_crm__accounts') }}
),

final as (
    select
        billing_account_id,
        min(account_id) as account_id
    from crm_accounts
    where billing_account_id is not null
    group by billing_account_id
    having count(distinct account_id) = 1
)

select * from final
