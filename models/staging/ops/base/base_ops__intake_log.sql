-- Every raw intake-log line over every drop, typed and flagged; the winner of each
-- event_id marked (the copy in the latest file by name, then the later line).
--
-- Incremental by file: a build parses only the lines of files ingested since the last
-- build (new drops, and drops re-delivered with other content), so a month's run costs its
-- own drop. Every copy of the records those lines carry is flagged again (a new copy may
-- supersede an old winner); copies in files that were replaced or left the folder go.
-- flagged_at is when a line was (re)flagged: int_provider_events_carried_forward reads the
-- lines flagged since its own last build to know which months changed.
{{ config(
    materialized='table' if target.name == 'snowflake_emulator' else 'incremental',
    incremental_strategy='delete+insert',
    unique_key='record_id',
    on_schema_change='append_new_columns',
    post_hook="{{ delete_lines_of_files_gone(source('ops', 'ops_intake_log')) }}",
) }}

{%- set incremental = is_incremental_with(['source_loaded_at', 'flagged_at']) %}

with

source as (
    select * from {{ source('ops', 'ops_intake_log') }}
    {% if incremental -%}
        -- files ingested after the last build's (ingestion times only grow)
        where _loaded_at > (
            select coalesce(max(source_loaded_at), cast('1900-01-01' as {{ adapter.dispatch('timestamp_type', 'provider_recon')() }}))
            from {{ this }}
        )
    {%- endif %}
),

-- Names and go-live dates repeat (a customer's name in every event of its providers, a
-- provider's go-live date in each of its events: 3 to 20 lines per distinct spelling in a
-- month's drop, far more over a history): each distinct spelling is normalised or parsed
-- once and joined back.
customer_names as (
    select
        spelling,
        {{ normalise_customer_name('spelling') }} as customer_name_normalised
    from (select distinct customer_name as spelling from source) as distinct_names
),

provider_names as (
    select
        spelling,
        {{ normalise_provider_name('spelling') }} as provider_name_normalised
    from (select distinct provider_name as spelling from source) as distinct_names
),

go_live_dates as (
    select
        spelling,
        {{ parse_date('spelling') }} as go_live_date
    from (select distinct go_live_date as spelling from source) as distinct_dates
),

source_with_parsed_values as (
    select
        source.*,
        customer_names.customer_name_normalised,
        provider_names.provider_name_normalised,
        go_live_dates.go_live_date as parsed_go_live_date
    from source
    left join customer_names
        on source.customer_name = customer_names.spelling
    left join provider_names
        on source.provider_name = provider_names.spelling
    left join go_live_dates
        on source.go_live_date = go_live_dates.spelling
),

typed as (
    select
        -- ids
        {{ clean_id('event_id') }} as event_id,
        {{ clean_id('account_id') }} as account_id,
        {{ clean_npi('npi') }} as npi,
        -- strings
        {{ clean_text('customer_name') }} as customer_name,
        customer_name_normalised,
        {{ clean_text('provider_name') }} as provider_name,
        provider_name_normalised,
        {{ clean_text('department') }} as department,
        {{ clean_text('location') }} as provider_location,
        lower(trim(product)) as product_lookup_key,
        case
            when lower(trim(status)) in ('live', 'pending', 'paused', 'terminated')
                then lower(trim(status))
        end as event_status,
        {{ clean_text('event_at') }} as raw_event_at,
        {{ clean_text('npi') }} as raw_npi,
        {{ clean_text('product') }} as raw_product,
        {{ clean_text('status') }} as raw_status,
        {{ clean_text('go_live_date') }} as raw_go_live_date,
        _file_name as source_file_name,
        -- numbers
        _source_row_number as source_row_number,
        -- dates
        parsed_go_live_date as go_live_date,
        -- timestamps
        {{ parse_timestamp('event_at') }} as event_at,
        _loaded_at as source_loaded_at
    from source_with_parsed_values
),

flagged as (
    select
        *,
        coalesce(event_id, source_file_name || ':' || source_row_number) as record_id,
        cast(event_at as date) as event_date,
        {{ month_start('event_at') }} as event_month,
        {{ is_valid_npi('npi') }} as is_valid_npi,
        event_status is null as has_unknown_status,
        event_at is null as has_unparseable_event_at,
        raw_go_live_date is not null and go_live_date is null as has_unparseable_go_live_date
    from typed
),

{{ copies_flagged_again(source('ops', 'ops_intake_log'), incremental) }}

select * from final
