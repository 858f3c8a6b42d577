{#- Incremental strategy 'replace_month': the marts keep every month that has been run,
    and running month M again replaces exactly M's rows, even when M now has none
    (delete+insert keyed on the new rows would leave stale rows of an emptied month). -#}
{% macro get_incremental_replace_month_sql(arg_dict) -%}
    {{ adapter.dispatch('replace_month_sql', 'provider_recon')(arg_dict) }}
{%- endmacro %}

{% macro _replace_month_dml(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    delete from {{ target }} where billing_month = {{ billing_month_start() }};
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
{%- endmacro %}

{#- Snowflake runs each statement in its own transaction unless told otherwise: an
    explicit one, so that readers never see the month deleted and not yet inserted, and a
    failed insert leaves the month as it was (as dbt-snowflake does for delete+insert). -#}
{% macro default__replace_month_sql(arg_dict) -%}
    begin;
    {{ _replace_month_dml(arg_dict) }};
    commit
{%- endmacro %}

{#- DuckDB: dbt-duckdb opens a transaction around the statement and commits it after. -#}
{% macro duckdb__replace_month_sql(arg_dict) -%}
    {{ _replace_month_dml(arg_dict) }}
{%- endmacro %}
