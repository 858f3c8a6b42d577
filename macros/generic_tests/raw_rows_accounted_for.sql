{#- Conservation per raw file and month: for every file of the family and every month of
    its records, raw rows = rows of `model` + rows of `removed_relation` matching
    `removed_where` (the documented exclusions, such as superseded duplicates).

    The month of a raw row is read from the raw text itself, with the project's parsers:
    `raw_month_kind` 'month' (a billing period: YYYY-MM or a date), 'timestamp' (the month
    of an event timestamp) or 'none' (current-state files, such as the CRM's: per file).
    A row whose month cannot be read is counted under a NULL month, which must balance
    too. `by_file: false` compares the family as a whole (a one-file family whose staged
    model keeps no file name, such as the CRM's). So a record lost, added, or moved to another month between the raw file and
    staging fails this test, with the file, the month and the three counts.

    `files_of_the_month: true` checks the files that hold records of the reconciled month
    and the files ingested last (each of them whole: every month of its records): every
    monthly drop is checked in the run of its month and when it arrives, and a run reads
    its own drops rather than all of history. -#}
{% test raw_rows_accounted_for(
    model,
    raw_relation,
    removed_relation,
    removed_where,
    raw_month_kind='none',
    raw_month_column=none,
    model_month_column=none,
    by_file=true,
    files_of_the_month=false
) %}
    {%- if raw_month_kind == 'month' -%}
        {%- set raw_month = parse_month(raw_month_column) -%}
    {%- elif raw_month_kind == 'timestamp' -%}
        {%- set raw_month = month_start(parse_timestamp(raw_month_column)) -%}
    {%- else -%}
        {%- set raw_month = 'null' -%}
    {%- endif -%}
    {%- set model_month = model_month_column if raw_month_kind != 'none' else 'null' -%}
    {%- set raw_file = '_file_name' if by_file else "'(every file)'" -%}
    {%- set model_file = 'source_file_name' if by_file else "'(every file)'" -%}

    with

    {% if files_of_the_month -%}
    checked_files as (
        select distinct source_file_name as file_name
        from {{ model }}
        where {{ model_month_column }} = {{ billing_month_start() }}
        union
        select distinct source_file_name as file_name
        from {{ removed_relation }}
        where {{ removed_where }} and {{ model_month_column }} = {{ billing_month_start() }}
        union
        -- the files ingested last, even when staging kept nothing of them
        select distinct _file_name as file_name
        from {{ raw_relation }}
        where _loaded_at = (select max(latest_load._loaded_at) from {{ raw_relation }} as latest_load)
    ),
    {%- set raw_checked = "_file_name in (select checked_files.file_name from checked_files)" -%}
    {%- set model_checked = "source_file_name in (select checked_files.file_name from checked_files)" -%}
    {%- else -%}
    {%- set raw_checked, model_checked = "1 = 1", "1 = 1" -%}
    {%- endif %}

    raw_rows as (
        select
            {{ raw_file }} as file_name,
            cast({{ raw_month }} as date) as record_month,
            count(*) as row_count
        from {{ raw_relation }}
        where {{ raw_checked }}
        group by 1, 2
    ),

    model_rows as (
        select
            {{ model_file }} as file_name,
            cast({{ model_month }} as date) as record_month,
            count(*) as row_count
        from {{ model }}
        where {{ model_checked }}
        group by 1, 2
    ),

    removed_rows as (
        select
            {{ model_file }} as file_name,
            cast({{ model_month }} as date) as record_month,
            count(*) as row_count
        from {{ removed_relation }}
        where {{ removed_where }} and {{ model_checked }}
        group by 1, 2
    ),

    file_months as (
        select file_name, record_month from raw_rows
        union
        select file_name, record_month from model_rows
        union
        select file_name, record_month from removed_rows
    ),

    compared as (
        select
            file_months.file_name,
            file_months.record_month,
            coalesce(raw_rows.row_count, 0) as raw_row_count,
            coalesce(model_rows.row_count, 0) as model_row_count,
            coalesce(removed_rows.row_count, 0) as removed_row_count
        from file_months
        left join raw_rows
            on
                file_months.file_name = raw_rows.file_name
                and coalesce(file_months.record_month, cast('0001-01-01' as date))
                = coalesce(raw_rows.record_month, cast('0001-01-01' as date))
        left join model_rows
            on
                file_months.file_name = model_rows.file_name
                and coalesce(file_months.record_month, cast('0001-01-01' as date))
                = coalesce(model_rows.record_month, cast('0001-01-01' as date))
        left join removed_rows
            on
                file_months.file_name = removed_rows.file_name
                and coalesce(file_months.record_month, cast('0001-01-01' as date))
                = coalesce(removed_rows.record_month, cast('0001-01-01' as date))
    )

    select * from compared
    where raw_row_count <> model_row_count + removed_row_count
{% endtest %}
