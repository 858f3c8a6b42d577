-- One row per matched CRM account, NPI, billing month and provider finding type.
-- depends_on: {{ ref('stg_billing__invoice_lines') }}
-- (Not read: it makes this mart wait for the month checks on the intake events and the
-- invoice lines, tests/staging/, so that an empty month writes nothing here.)
with

providers as (
    select * from {{ ref('int_providers_compared_to_crm') }}
),

findings as (
    select
        providers.*,
        'PROVIDER_MISSING_FROM_CRM' as discrepancy_type
    from providers
    where providers.is_billable and not providers.has_crm_record

    union all

    select
        providers.*,
        'PROVIDER_INACTIVE_IN_CRM' as discrepancy_type
    from providers
    where
        providers.is_billable
        and providers.has_inactive_crm_record
        and not providers.has_active_crm_record

    union all

    select
        providers.*,
        'PROVIDER_NOT_LIVE' as discrepancy_type
    from providers
    where
        providers.has_active_crm_record
        and providers.account_status = 'active'
        and not providers.is_billable

    union all

    select
        providers.*,
        'PROVIDER_NAME_MISMATCH' as discrepancy_type
    from providers
    where
        providers.is_billable
        and providers.has_crm_record
        and providers.has_unmatched_billable_name
),

final as (
    select
        {{ dbt.hash(dbt.concat([
            "'" ~ billing_month_text() ~ "'", "'|'", 'account_id', "'|'", 'npi', "'|'",
            'discrepancy_type'])) }} as discrepancy_id,
        account_id,
        npi,
        provider_name,
        crm_provider_name,
        discrepancy_type,
        case discrepancy_type
            when 'PROVIDER_MISSING_FROM_CRM'
                then
                    'NPI ' || npi || ' is billable under the account but has no CRM provider record there.'
            when 'PROVIDER_INACTIVE_IN_CRM'
                then
                    'NPI ' || npi || ' is billable under the account but its CRM record is inactive.'
            when 'PROVIDER_NOT_LIVE'
                then
                    'NPI ' || npi || ' is active in the CRM but billable for no product this month.'
            when 'PROVIDER_NAME_MISMATCH' then
                'NPI ' || npi || ' is live as "' || coalesce(provider_name, '')
                || '" but the CRM calls it "' || coalesce(crm_provider_name, '') || '".'
        end as reason,
        billing_month
    from findings
)

select * from final
