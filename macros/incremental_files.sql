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
