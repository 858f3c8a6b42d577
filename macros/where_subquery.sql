{#- Data tests of tables that keep every month (incremental by month) check the month the
    run wrote: `where: "billing_month = __billing_month__"` in a test's config is the
    reconciled month (macros/dates.sql; `__billing_month_end__` its last day); earlier months were tested when they were written,
    so a month's tests cost its own rows, not all of history. Otherwise dbt's own. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where
            | replace('__billing_month_end__', billing_month_end())
            | replace('__billing_month__', billing_month_start()) -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') as dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
