-- One row per matched CRM account and valid NPI that is billable in the reconciled month
-- or has a CRM provider record under the account: what operations and the CRM say of it.
with

provider_states as (
    select * from {{ ref('int_provider_states_as_of_month_end') }}
    where account_id is not null
),

crm_providers as (
    select * from {{ ref('stg_crm__providers') }}
    where is_valid_npi and account_id is not null
),

crm_accounts as (
    select * from {{ ref('stg_crm__accounts') }}
),

billable_states as (
    select * from provider_states
    where is_billable
),

crm_records_by_npi as (
    select
        account_id,
        npi,
        min(provider_name) as crm_provider_name,
        max(case when provider_status = 'active' then 1 else 0 end) = 1 as has_active_record,
        max(case when provider_status = 'inactive' then 1 else 0 end) = 1 as has_inactive_record
    from crm_providers
    group by account_id, npi
),

-- A latest billable event whose name equals the name of none of the account's CRM
-- records of that NPI.
billable_names_unmatched as (
    select
        billable_states.account_id,
        billable_states.npi,
        min(billable_states.provider_name) as provider_name
    from billable_states
    where
        not exists (
            select 1
            from crm_providers
            where
                crm_providers.account_id = billable_states.account_id
                and crm_providers.npi = billable_states.npi
                and crm_providers.provider_name_normalised = billable_states.provider_name_normalised
        )
    group by billable_states.account_id, billable_states.npi
),

billable_npis as (
    select
        account_id,
        npi,
        min(provider_name) as provider_name
    from billable_states
    group by account_id, npi
),

latest_event_names as (
    select
        account_id,
        npi,
        min(provider_name) as provider_name
    from provider_states
    group by account_id, npi
),

account_npis as (
    select
        account_id,
        npi
    from billable_npis
    union
    select
        account_id,
        npi
    from crm_records_by_npi
),

final as (
    select
        account_npis.account_id,
        account_npis.npi,
        coalesce(
            billable_names_unmatched.provider_name,
            billable_npis.provider_name,
            latest_event_names.provider_name
        ) as provider_name,
        crm_records_by_npi.crm_provider_name,
        crm_accounts.account_status,
        billable_npis.npi is not null as is_billable,
        crm_records_by_npi.npi is not null as has_crm_record,
        coalesce(crm_records_by_npi.has_active_record, false) as has_active_crm_record,
        coalesce(crm_records_by_npi.has_inactive_record, false) as has_inactive_crm_record,
        billable_names_unmatched.npi is not null as has_unmatched_billable_name,
        {{ billing_month_start() }} as billing_month
    from account_npis
    inner join crm_accounts
        on account_npis.account_id = crm_accounts.account_id
    left join billable_npis
        on
            account_npis.account_id = billable_npis.account_id
            and account_npis.npi = billable_npis.npi
    left join crm_records_by_npi
        on
            account_npis.account_id = crm_records_by_npi.account_id
            and account_npis.npi = crm_records_by_npi.npi
    left join billable_names_unmatched
        on
            account_npis.account_id = billable_names_unmatched.account_id
            and account_npis.npi = billable_names_unmatched.npi
    left join latest_event_names
        on
            account_npis.account_id = latest_event_names.account_id
            and account_npis.npi = latest_event_names.npi
)

select * from final
