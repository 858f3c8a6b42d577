{#- Where raw files come from. On DuckDB a source reads the CSV files of RECON_RAW_DIR
    directly (every column as text, the file name kept); elsewhere it is a RAW table
    loaded by `recon load` with the same columns plus _file_name and _source_row_number. -#}

{#- Every raw row with the base name of its file and its position in the read
    (files in name order, lines in file order): the tie-breaker for duplicates. -#}
{% macro raw_rows(relation) -%}
    {{ return(adapter.dispatch('raw_rows', 'provider_recon')(relation)) }}
{%- endmacro %}

{% macro default__raw_rows(relation) -%}
    select * from {{ relation }}
{%- endmacro %}

{% macro duckdb__raw_rows(relation) -%}
    select
        * exclude (filename),
        regexp_extract(filename, '[^/\\]+$') as _file_name,
        row_number() over () as _source_row_number
    from {{ relation }}
{%- endmacro %}
