-- One row per CRM account with active provider records: distinct valid NPIs of its
-- active provider records (current state).
with

crm_providers as (
    select * from {{ ref('stg_crm__providers') }}
),

final as (
    select
        account_id,
        count(distinct npi) as crm_active_providers
    from crm_providers
    where
        provider_status = 'active'
        and is_valid_npi
        and account_id is not null
    group by account_id
)

select * from final
