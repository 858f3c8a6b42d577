-- One row per customer, product and NPI seen by the end of the reconciled month: the
-- latest usable event (by event_at as written, ties to the greater event_id) and
-- whether it makes the provider billable.
with

usable_events as (
    select * from {{ ref('int_intake_events_usable') }}
),

valid_departments as (
    select * from {{ ref('stg_reference__valid_departments') }}
),

events_as_of_month_end as (
    select
        *,
        -- nulls last: an event without an id never wins a tie (Snowflake would sort
        -- NULLs first in a descending order).
        row_number() over (
            partition by customer_key, product_code, npi
            order by event_at desc, event_id desc nulls last
        ) as recency_rank
    from usable_events
    where event_date <= {{ billing_month_end() }}
),

latest_events as (
    select * from events_as_of_month_end
    where recency_rank = 1
),

final as (
    select
        latest_events.customer_key,
        latest_events.account_id,
        latest_events.product_code,
        latest_events.npi,
        latest_events.event_id,
        latest_events.provider_name,
        latest_events.provider_name_normalised,
        latest_events.department,
        latest_events.event_status,
        latest_events.event_status = 'live'
        and valid_departments.department_key is not null
        and latest_events.effective_go_live_date <= {{ billing_month_end() }}
        and latest_events.is_billable_product as is_billable,
        {{ billing_month_start() }} as billing_month,
        latest_events.effective_go_live_date,
        latest_events.event_at
    from latest_events
    left join valid_departments
        on lower(latest_events.department) = valid_departments.department_key
)

select * from final
