-- One row per customer, product, billing month and billable provider (NPI): the providers
-- behind billable_providers of fct_provider_counts_monthly, for drill-down.
-- depends_on: {{ ref('stg_billing__invoice_lines') }}
-- (Not read: it makes this mart wait for the month checks on the intake events and the
-- invoice lines, tests/staging/, so that an empty month writes nothing here.)
with

provider_states as (
    select * from {{ ref('int_provider_states_as_of_month_end') }}
),

billable_providers as (
    select
        customer_key,
        account_id,
        product_code,
        npi,
        event_id,
        provider_name,
        department,
        billing_month,
        effective_go_live_date
    from provider_states
    where is_billable
),

final as (
    select
        cast(customer_key as {{ dbt.type_string() }}) as customer_key,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(product_code as {{ dbt.type_string() }}) as product_code,
        cast(npi as {{ dbt.type_string() }}) as npi,
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        cast(provider_name as {{ dbt.type_string() }}) as provider_name,
        cast(department as {{ dbt.type_string() }}) as department,
        cast(billing_month as date) as billing_month,
        cast(effective_go_live_date as date) as go_live_date
    from billable_providers
)

select * from final
