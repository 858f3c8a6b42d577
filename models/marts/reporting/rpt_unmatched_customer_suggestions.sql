-- One row per unmatched customer name, suggested CRM account and billing month that has
-- been run (the three closest account names by similarity). Suggestions only: nothing is
-- applied; Operations add good ones to legacy_customer_names. Incremental: a run writes (or
-- replaces) its month's rows only.
with

billing_discrepancies as (
    select * from {{ ref('fct_billing_discrepancies') }}
    where
        billing_month = {{ billing_month_start() }}
        and discrepancy_type = 'MISSING_FROM_CRM'
),

crm_accounts as (
    select * from {{ ref('stg_crm__accounts') }}
    where account_id is not null and account_name_normalised is not null
),

unmatched_names as (
    select distinct
        customer_key,
        substr(customer_key, {{ 'UNMATCHED:' | length + 1 }}) as unmatched_name_normalised
    from billing_discrepancies
),

names_scored as (
    select
        unmatched_names.customer_key,
        unmatched_names.unmatched_name_normalised,
        crm_accounts.account_id as suggested_account_id,
        crm_accounts.account_name as suggested_account_name,
        {{ name_similarity('unmatched_names.unmatched_name_normalised', 'crm_accounts.account_name_normalised') }}
            as similarity_score
    from unmatched_names
    cross join crm_accounts
),

names_ranked as (
    select
        *,
        row_number() over (
            partition by customer_key
            order by similarity_score desc, suggested_account_id asc
        ) as suggestion_rank
    from names_scored
),

final as (
    select
        customer_key,
        suggested_account_id,
        unmatched_name_normalised,
        suggested_account_name,
        suggestion_rank,
        similarity_score,
        {{ billing_month_start() }} as billing_month
    from names_ranked
    where suggestion_rank <= 3
)

select * from final
