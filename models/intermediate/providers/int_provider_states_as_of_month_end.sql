-- One row per customer, product and NPI seen by the end of the reconciled month: the
-- latest usable event (by event_at as written, ties to the greater event_id) and
-- whether it makes the provider billable.
--
-- The month's carried-forward states hold the latest event per intake customer and product
-- as written; here they are resolved to the customer (matching steps 1, 3-5, as in
-- int_intake_events_resolved_to_customers) and the product (as in
-- int_intake_events_resolved_to_products), events of an unknown product are left out
-- (int_intake_events_usable), and the latest of those that land on the same customer,
-- product and NPI wins.
with

carried_states as (
    select * from {{ ref('int_provider_events_carried_forward') }}
    where billing_month = {{ billing_month_start() }}
),

crm_accounts as (
    select account_id from {{ ref('stg_crm__accounts') }}
),

customer_names as (
    select * from {{ ref('int_customer_names_mapped') }}
),

products as (
    select * from {{ ref('stg_reference__products') }}
),

valid_departments as (
    select * from {{ ref('stg_reference__valid_departments') }}
),

states_resolved as (
    select
        carried_states.*,
        coalesce(crm_accounts.account_id, customer_names.account_id) as resolved_account_id,
        {{ customer_key(
            'coalesce(crm_accounts.account_id, customer_names.account_id)',
            'carried_states.customer_name_normalised') }} as customer_key,
        coalesce(products_by_code.product_code, products_by_name.product_code) as product_code,
        coalesce(products_by_code.is_billable, products_by_name.is_billable)
            as is_billable_product
    from carried_states
    left join crm_accounts
        on carried_states.account_id = crm_accounts.account_id
    left join customer_names
        on carried_states.customer_name_normalised = customer_names.customer_name_normalised
    left join products as products_by_code
        on carried_states.product_lookup_key = lower(products_by_code.product_code_key)
    left join products as products_by_name
        on carried_states.product_lookup_key = products_by_name.product_name_key
),

states_ranked as (
    select
        *,
        -- nulls last: an event without an id never wins a tie (Snowflake would sort
        -- NULLs first in a descending order).
        row_number() over (
            partition by customer_key, product_code, npi
            order by event_at desc, event_id desc nulls last
        ) as recency_rank
    from states_resolved
    where product_code is not null
),

latest_events as (
    select * from states_ranked
    where recency_rank = 1
),

final as (
    select
        latest_events.customer_key,
        latest_events.resolved_account_id as account_id,
        latest_events.product_code,
        latest_events.npi,
        latest_events.event_id,
        latest_events.record_id,
        latest_events.provider_name,
        latest_events.provider_name_normalised,
        latest_events.department,
        latest_events.event_status,
        latest_events.event_status = 'live'
        and valid_departments.department_key is not null
        and latest_events.effective_go_live_date <= {{ billing_month_end() }}
        and latest_events.is_billable_product as is_billable,
        valid_departments.department_key is not null as has_valid_department,
        latest_events.is_billable_product,
        {{ billing_month_start() }} as billing_month,
        latest_events.effective_go_live_date,
        latest_events.event_at
    from latest_events
    left join valid_departments
        on lower(latest_events.department) = valid_departments.department_key
)

select * from final
