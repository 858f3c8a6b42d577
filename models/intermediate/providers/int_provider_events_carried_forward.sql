-- One row per intake customer (account_id and normalised name as written), product as
-- written, NPI and billing month: the latest intake event on or before the month end with a
-- valid NPI, a known status and a parseable event_at (by event_at as written, ties to the
-- greater event_id).
--
-- Carried forward month by month: a month's state is the latest state stored for an earlier
-- month plus the events of the months since, so a monthly run reads a month or two of
-- events and one month of state, however long the history. Each run writes the reconciled
-- month and the month before it: a drop usually corrects some events of the month before,
-- which makes that month's stored state stale, and the next run then carries forward from
-- the month before that. The latest of a union is the latest of the latest of its parts, so
-- the customer and the product are resolved afterwards (int_provider_states_as_of_month_end):
-- a change of the CRM, the legacy names or the products never makes a stored state wrong.
-- Stored states that lines flagged since could change are forgotten first (pre-hook,
-- macros/carried_states.sql).
{{ config(
    materialized='table' if target.name == 'snowflake_emulator' else 'incremental',
    incremental_strategy='delete+insert',
    unique_key='billing_month',
    pre_hook="{{ forget_provider_states_changed_since_built() }}",
) }}

{%- set this_month = billing_month_start() -%}
{%- set previous_month = month_start(dbt.dateadd('month', -1, this_month)) -%}

with

intake_events as (
    select * from {{ ref('stg_ops__intake_events') }}
),

intake_log as (
    select * from {{ ref('base_ops__intake_log') }}
),

-- The intake log as this build sees it: stored with the states, so that the next build
-- knows which lines were flagged since (macros/carried_states.sql).
intake_log_watermarks as (
    select
        max(intake_log.source_loaded_at) as loaded_through_at,
        max(intake_log.flagged_at) as flagged_through_at,
        count(*) as intake_line_count
    from intake_log
),

events_with_state as (
    select
        account_id,
        customer_name_normalised,
        product_lookup_key,
        npi,
        event_id,
        record_id,
        provider_name,
        provider_name_normalised,
        department,
        event_status,
        event_month,
        coalesce(go_live_date, event_date) as effective_go_live_date,
        event_at
    from intake_events
    where
        is_valid_npi
        and not has_unknown_status
        and not has_unparseable_event_at
        and event_month <= {{ this_month }}
),

{% if is_incremental() -%}
-- The latest state still stored for the month before this one or earlier (the pre-hook has
-- forgotten every state that lines flagged since could change).
carried_month as (
    select max(stored.billing_month) as billing_month
    from {{ this }} as stored
    where stored.billing_month <= {{ previous_month }}
),

carried_states as (
    select
        stored.account_id,
        stored.customer_name_normalised,
        stored.product_lookup_key,
        stored.npi,
        stored.event_id,
        stored.record_id,
        stored.provider_name,
        stored.provider_name_normalised,
        stored.department,
        stored.event_status,
        stored.event_month,
        stored.effective_go_live_date,
        stored.event_at
    from {{ this }} as stored
    inner join carried_month
        on stored.billing_month = carried_month.billing_month
),

events_since_carried as (
    select events_with_state.*
    from events_with_state
    where events_with_state.event_month > coalesce(
        (select carried_month.billing_month from carried_month), cast('1900-01-01' as date)
    )
),

previous_month_candidates as (
    select * from carried_states
    union all
    select * from events_since_carried
    where event_month <= {{ previous_month }}
),
{%- else -%}
events_since_carried as (
    select * from events_with_state
),

previous_month_candidates as (
    select * from events_with_state
    where event_month <= {{ previous_month }}
),
{%- endif %}

previous_month_ranked as (
    select
        *,
        -- nulls last: an event without an id never wins a tie (Snowflake would sort
        -- NULLs first in a descending order).
        row_number() over (
            partition by account_id, customer_name_normalised, product_lookup_key, npi
            order by event_at desc, event_id desc nulls last
        ) as recency_rank
    from previous_month_candidates
),

previous_month_states as (
    select
        account_id,
        customer_name_normalised,
        product_lookup_key,
        npi,
        event_id,
        record_id,
        provider_name,
        provider_name_normalised,
        department,
        event_status,
        event_month,
        effective_go_live_date,
        event_at
    from previous_month_ranked
    where recency_rank = 1
),

this_month_candidates as (
    select * from previous_month_states
    union all
    select * from events_since_carried
    where event_month = {{ this_month }}
),

this_month_ranked as (
    select
        *,
        row_number() over (
            partition by account_id, customer_name_normalised, product_lookup_key, npi
            order by event_at desc, event_id desc nulls last
        ) as recency_rank
    from this_month_candidates
),

states as (
    select
        previous_month_states.*,
        {{ previous_month }} as billing_month
    from previous_month_states
    union all
    select
        this_month_ranked.account_id,
        this_month_ranked.customer_name_normalised,
        this_month_ranked.product_lookup_key,
        this_month_ranked.npi,
        this_month_ranked.event_id,
        this_month_ranked.record_id,
        this_month_ranked.provider_name,
        this_month_ranked.provider_name_normalised,
        this_month_ranked.department,
        this_month_ranked.event_status,
        this_month_ranked.event_month,
        this_month_ranked.effective_go_live_date,
        this_month_ranked.event_at,
        {{ this_month }} as billing_month
    from this_month_ranked
    where this_month_ranked.recency_rank = 1
),

final as (
    select
        states.*,
        intake_log_watermarks.intake_line_count,
        intake_log_watermarks.loaded_through_at,
        intake_log_watermarks.flagged_through_at
    from states
    cross join intake_log_watermarks
)

select * from final
