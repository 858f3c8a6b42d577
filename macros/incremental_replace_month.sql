{#- Incremental strategy 'replace_month': the marts keep every month that has been run,
    and running month M again replaces exactly M's rows, even when M now has none
    (delete+insert keyed on the new rows would leave stale rows of an emptied month). -#}
{% macro get_incremental_replace_month_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    delete from {{ target }} where billing_month = {{ billing_month_start() }};
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
{%- endmacro %}
