{#- A data test's `where` config may name `__billing_month__`, the first day of the month
    being built, and `__billing_month_end__`, its last (macros/dates.sql): dbt's documented
    way to give `where` a value known only at run time (overriding the global
    get_where_subquery). Used by the tests of tables that keep every month, so that a
    month's tests read its own rows rather than all of history (earlier months were tested
    when they were written), and by the tests of rules that changed over time, so that a
    month built earlier keeps its rows as that run wrote them. `__model__` names the tested
    relation itself (the base models' tests read the files their last build touched).
    Otherwise dbt's own. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where
            | replace('__billing_month_end__', billing_month_end())
            | replace('__billing_month__', billing_month_start())
            | replace('__model__', relation | string) -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') as dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
