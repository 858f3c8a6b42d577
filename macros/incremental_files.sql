{#- Helpers of the models that are incremental by raw file (see macros/raw_files.sql). -#}

{#- Post-hook: delete the stored lines of files that are no longer in the RAW table (a file
    removed from the folder, or the older copy of a re-ingested one). The RAW table's files
    are listed first (a few dozen): an anti-join on its ten million lines took 1.7 s. -#}
{% macro delete_lines_of_files_gone(raw_relation) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where not exists (
            select 1
            from (
                select distinct
                    _file_name,
                    _loaded_at
                from {{ raw_relation }}
            ) as raw_files
            where
                raw_files._file_name = {{ this }}.source_file_name
                and raw_files._loaded_at = {{ this }}.source_loaded_at
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The stored rows of `relation` whose record_id is among `record_ids` (a query), as a
    subquery. On DuckDB the matching row ids are found first on the record_id column alone,
    then only those rows are read whole: a monthly run matches a few thousand of ten million
    stored lines, and a join on record_id read every column of every line (3 s against
    0.6 s at 10M lines). Elsewhere, a plain semi-join. -#}
{% macro stored_rows_of_records(relation, record_ids) -%}
    {{ return(adapter.dispatch('stored_rows_of_records', 'provider_recon')(relation, record_ids)) }}
{%- endmacro %}

{% macro default__stored_rows_of_records(relation, record_ids) -%}
    (select * from {{ relation }} where record_id in ({{ record_ids }}))
{%- endmacro %}

{% macro duckdb__stored_rows_of_records(relation, record_ids) -%}
    (
        select * from {{ relation }}
        where rowid in (select rowid from {{ relation }} where record_id in ({{ record_ids }}))
    )
{%- endmacro %}

{#- is_incremental(), and the stored table has `columns`: a table written by an older version
    of the model (before those columns) is rebuilt from every line once, in place (the
    incremental strategy replaces every record, on_schema_change adds the columns), instead
    of failing on the first monthly run after an upgrade. -#}
{% macro is_incremental_with(columns) -%}
    {%- if not is_incremental() -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set stored = [] -%}
    {%- for column in adapter.get_columns_in_relation(this) -%}
        {%- do stored.append(column.name | lower) -%}
    {%- endfor -%}
    {%- for column in columns if column not in stored -%}
        {{- log(this ~ ' has no column ' ~ column ~ ' (written by an older version): every line is built again', info=true) -}}
        {{- return(false) -}}
    {%- endfor -%}
    {{- return(true) -}}
{%- endmacro %}

{#- The CTEs that end a model incremental by raw file (base_ops__intake_log,
    base_billing__invoice_lines), after its `flagged` CTE of the lines built now: on an
    incremental build, every stored copy of the records those lines carry, or that lost a
    copy in a file replaced or gone, joins them (found by row id: stored_rows_of_records);
    `final` decides each record's winner again over every current copy and stamps
    flagged_at. `raw_relation` is the model's RAW source. -#}
{% macro copies_flagged_again(raw_relation, incremental) -%}
{% if incremental -%}
current_files as (
    select
        _file_name as file_name,
        _loaded_at as loaded_at
    from {{ raw_relation }}
    group by _file_name, _loaded_at
),

-- Stored lines of files replaced since (re-ingested) or gone from the folder.
stored_lines_gone as (
    select stored.record_id
    from {{ this }} as stored
    left join current_files
        on
            stored.source_file_name = current_files.file_name
            and stored.source_loaded_at = current_files.loaded_at
    where current_files.file_name is null
),

-- Every record these lines carry or that lost a copy: its winner is decided again below,
-- over every copy still current.
records_to_flag_again as (
    select flagged.record_id from flagged
    union
    select stored_lines_gone.record_id from stored_lines_gone
),

stored_copies as (
    select stored.* exclude (is_duplicate, flagged_at)
    from
        {{ stored_rows_of_records(this, 'select record_id from records_to_flag_again') }}
            as stored
    inner join current_files
        on
            stored.source_file_name = current_files.file_name
            and stored.source_loaded_at = current_files.loaded_at
),

lines as (
    select * from flagged
    union all
    select * from stored_copies
),
{%- else -%}
lines as (
    select * from flagged
),
{%- endif %}

final as (
    select
        *,
        {{ is_superseded_copy() }} as is_duplicate,
        cast(
            '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}'
            as {{ adapter.dispatch('timestamp_type', 'provider_recon')() }}
        ) as flagged_at
    from lines
)
{%- endmacro %}
