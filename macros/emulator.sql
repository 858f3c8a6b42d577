{#- Workarounds for the local Snowflake emulator (fakesnow), used only by the dbt target
    `snowflake_emulator` of CI (tests/python/test_snowflake_emulator.py). Production SQL
    never goes through them: every branch below falls back to dbt-snowflake's own macro. -#}

{% macro is_emulator() -%}
    {{ return(target.name == 'snowflake_emulator') }}
{%- endmacro %}

{#- fakesnow runs on DuckDB, which keeps temporary tables in its own `temp` catalog and so
    cannot create one named <database>.<schema>.<name>: the incremental models' temporary
    relation and the snapshots' staging table are transient tables there instead. -#}
{% macro snowflake__create_table_as(temporary, relation, compiled_code, language='sql') -%}
    {%- if temporary and language == 'sql' and is_emulator() -%}
        {{ dbt.snowflake__create_table_transient_sql(relation, compiled_code) }}
    {%- else -%}
        {{ dbt.snowflake__create_table_as(temporary, relation, compiled_code, language) }}
    {%- endif -%}
{%- endmacro %}

{#- Snapshots on the emulator: fakesnow runs a MERGE through a temporary table of its own,
    which DuckDB refuses inside the explicit transaction dbt-snowflake wraps around it (one
    transaction may write to one attached database only), and its rewrite leaves the
    unqualified column names of `values (...)` ambiguous. So there the merge runs on its
    own, with the values qualified by the source alias: the same statement otherwise. -#}
{% macro snowflake__snapshot_merge_sql(target, source, insert_cols) -%}
    {%- if not is_emulator() -%}
        {{ return(dbt.snowflake__snapshot_merge_sql(target, source, insert_cols)) }}
    {%- endif -%}
    {%- set insert_cols_csv = insert_cols | join(', ') -%}
    {%- set qualified_csv = 'DBT_INTERNAL_SOURCE.' ~ insert_cols | join(', DBT_INTERNAL_SOURCE.') -%}
    {{ return(dbt.default__snapshot_merge_sql(target, source, insert_cols) | replace(
        'values (' ~ insert_cols_csv ~ ')', 'values (' ~ qualified_csv ~ ')')) }}
{%- endmacro %}
