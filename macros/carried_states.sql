{#- Pre-hook of int_provider_events_carried_forward: forget the stored states that intake
    lines flagged since they were computed could change, so that the model carries forward
    only states that a cold build would compute again.

    - An event whose winning copy changed since (a new event, or a new copy of an event that
      wins with other content: base_ops__intake_log.flagged_at marks every copy of an event
      flagged again) can change the state of its month and of every later month, from the
      earlier of the old and the new copy's month: those states go. A new copy with the same
      content as the copy it supersedes (drops often repeat recent events) changes nothing.
    - Fewer lines than when the states were computed among the lines loaded by then (a drop
      removed from the folder, or re-delivered with other content): every state goes, and
      the month is computed from every event.
    On the first build and on a full refresh there is nothing stored to forget. -#}
{% macro forget_provider_states_changed_since_built() -%}
    {%- if is_incremental() -%}
        {%- set intake_log = ref('base_ops__intake_log') -%}
        {%- set timestamp_type = adapter.dispatch('timestamp_type', 'provider_recon')() -%}
        {%- set state_columns = [
            'event_id', 'account_id', 'customer_name_normalised', 'product_lookup_key', 'npi',
            'provider_name', 'provider_name_normalised', 'department', 'event_status',
            'go_live_date', 'event_date', 'event_month', 'event_at', 'is_valid_npi',
            'has_unknown_status', 'has_unparseable_event_at'] -%}
        delete from {{ this }}
        where
            billing_month >= coalesce(
                (
                    with

                    watermarks as (
                        select
                            coalesce(max(stored.flagged_through_at), cast('1900-01-01' as {{ timestamp_type }}))
                                as flagged_through_at,
                            coalesce(max(stored.loaded_through_at), cast('1900-01-01' as {{ timestamp_type }}))
                                as loaded_through_at
                        from {{ this }} as stored
                    ),

                    flagged_records as (
                        select distinct flagged_lines.record_id
                        from {{ intake_log }} as flagged_lines
                        inner join watermarks
                            on flagged_lines.flagged_at > watermarks.flagged_through_at
                    ),

                    copies as (
                        select
                            intake_log.*,
                            intake_log.source_loaded_at <= watermarks.loaded_through_at as was_loaded
                        from
                            {{ stored_rows_of_records(intake_log, 'select record_id from flagged_records') }}
                                as intake_log
                        cross join watermarks
                    ),

                    -- the copy that won before these lines came: the best of those loaded then
                    copies_ranked as (
                        select
                            *,
                            row_number() over (
                                partition by record_id
                                order by source_file_name desc, source_row_number desc
                            ) as previous_rank
                        from copies
                        where was_loaded
                    ),

                    previous_winners as (
                        select * from copies_ranked
                        where previous_rank = 1
                    ),

                    current_winners as (
                        select * from copies
                        where not is_duplicate
                    ),

                    changed_events as (
                        select
                            previous_winners.event_month as previous_month,
                            current_winners.event_month as current_month
                        from current_winners
                        full outer join previous_winners
                            on current_winners.record_id = previous_winners.record_id
                        where
                            {%- for column in state_columns %}
                            {{ 'or ' if not loop.first }}current_winners.{{ column }} is distinct from previous_winners.{{ column }}
                            {%- endfor %}
                    )

                    select min(changed_month) from (
                        select previous_month as changed_month from changed_events
                        union all
                        select current_month as changed_month from changed_events
                    ) as changed_months
                ),
                cast('9999-12-01' as date)
            )
            or (
                select count(*)
                from {{ intake_log }} as loaded_lines
                where loaded_lines.source_loaded_at <= (
                    select max(stored.loaded_through_at) from {{ this }} as stored
                )
            ) < (select max(stored.intake_line_count) from {{ this }} as stored)
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
