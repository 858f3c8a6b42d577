{#- A data test's `where` config may name `__billing_month__`: the first day of the month
    being built. dbt's documented way to give `where` a value known only at run time
    (overriding the global get_where_subquery); used by the tests of rules that changed
    over time, so that a month built earlier keeps its rows as that run wrote them. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__billing_month__', billing_month_start()) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
