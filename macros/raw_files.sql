{#- The RAW layer: one relation per raw file family, every column as text, plus
    _file_name (the file's base name) and _source_row_number (position in the read:
    files in name order, lines in file order, the tie-breaker for duplicates).

    On DuckDB, `on-run-start` (re)creates these as views over the CSV files of
    RECON_RAW_DIR, so sources are ordinary relations on every engine (unit tests need
    that too). On Snowflake they are tables loaded by `recon load`. -#}

{% macro raw_file_families() -%}
    {{ return({
        'crm_accounts': 'crm_accounts.csv',
        'crm_providers': 'crm_providers.csv',
        'ops_intake_log': 'ops_intake_log*.csv',
        'billing_invoice_lines': 'billing_invoice_lines*.csv',
    }) }}
{%- endmacro %}

{% macro create_raw_relations() -%}
    {{ return(adapter.dispatch('create_raw_relations', 'provider_recon')()) }}
{%- endmacro %}

{% macro default__create_raw_relations() -%}
    select 1
{%- endmacro %}

{% macro duckdb__create_raw_relations() -%}
    {%- if target.database | lower == target.schema | lower -%}
        {{ exceptions.raise_compiler_error(
            "The DuckDB file '" ~ target.database ~ ".duckdb' has the name of the schema '"
            ~ target.schema ~ "', which DuckDB cannot tell apart: name the file differently "
            ~ "(RECON_DUCKDB_PATH, default data/provider_recon.duckdb).") }}
    {%- endif -%}
    {%- set raw_dir = env_var('RECON_RAW_DIR', 'data/raw') | replace("'", "''") -%}
    {%- set raw_schema = env_var('RECON_RAW_SCHEMA', 'raw') -%}
    create schema if not exists {{ raw_schema }};
    {%- for table, file_glob in raw_file_families().items() %}
    create or replace view {{ raw_schema }}.{{ table }} as
    select
        * exclude (filename),
        regexp_extract(filename, '[^/\\]+$') as _file_name,
        row_number() over () as _source_row_number
    from read_csv(
        '{{ raw_dir }}/{{ file_glob }}',
        header = true,
        all_varchar = true,
        delim = ',',
        quote = '"',
        escape = '"',
        filename = true,
        union_by_name = true
    );
    {%- endfor %}
{%- endmacro %}
