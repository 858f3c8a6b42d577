-- Every staged intake event of the reconciled month (or of no readable month) that the
-- counts ignore (not usable) carries a data-quality issue of the month that says why:
-- nothing is dropped silently between staging and the counts. Earlier months were checked
-- when they were run.
with

intake_events as (
    select * from {{ ref('stg_ops__intake_events') }}
    where event_month = {{ billing_month_start() }} or event_month is null
),

usable_events as (
    select * from {{ ref('int_intake_events_usable') }}
    where event_date between {{ billing_month_start() }} and {{ billing_month_end() }}
),

issues as (
    select * from {{ ref('int_data_quality_issues_found') }}
),

ignored_events as (
    select
        intake_events.record_id,
        intake_events.source_file_name,
        intake_events.source_row_number
    from intake_events
    left join usable_events
        on intake_events.event_id = usable_events.event_id
    where usable_events.event_id is null
),

reasons as (
    select distinct issues.record_id
    from issues
    where
        issues.source = 'ops_intake_log'
        and issues.issue in (
            'INVALID_NPI', 'UNKNOWN_PRODUCT', 'UNKNOWN_STATUS', 'UNPARSEABLE_DATE', 'MISSING_ID'
        )
),

final as (
    select ignored_events.*
    from ignored_events
    left join reasons
        on ignored_events.record_id = reasons.record_id
    where reasons.record_id is null
)

select * from final
