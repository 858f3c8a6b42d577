-- One row per intake event with its customer: the CRM account of its account_id (step 1),
-- else its name (steps 3-4), else 'UNMATCHED:' and the normalised name (step 5).
with

intake_events as (
    select * from {{ ref('stg_ops__intake_events') }}
),

crm_accounts as (
    select account_id from {{ ref('stg_crm__accounts') }}
),

customer_names as (
    select * from {{ ref('int_customer_names_mapped') }}
),

events_joined_to_customers as (
    select
        intake_events.*,
        crm_accounts.account_id as crm_account_id,
        customer_names.account_id as name_account_id,
        customer_names.match_method as name_match_method
    from intake_events
    left join crm_accounts
        on intake_events.account_id = crm_accounts.account_id
    left join customer_names
        on intake_events.customer_name_normalised = customer_names.customer_name_normalised
),

final as (
    select
        *,
        coalesce(crm_account_id, name_account_id) as resolved_account_id,
        {{ customer_key('coalesce(crm_account_id, name_account_id)', 'customer_name_normalised') }}
            as customer_key,
        case
            when crm_account_id is not null then 'account_id'
            when name_account_id is not null then name_match_method
            when name_match_method = 'ambiguous' then 'ambiguous'
            else 'unmatched'
        end as match_method
    from events_joined_to_customers
)

select * from final
