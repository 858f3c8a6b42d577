{#- Month arithmetic that returns dates (not timestamps) on every engine. -#}

{% macro month_start(date_expression) -%}
    cast({{ dbt.date_trunc('month', date_expression) }} as date)
{%- endmacro %}

{% macro month_end(date_expression) -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, month_start(date_expression))) }} as date)
{%- endmacro %}

{#- The reconciled month, 'YYYY-MM': the var billing_month, else the environment's
    RECON_BILLING_MONTH (how `recon` passes it), else the calendar month before the run's
    start. Fails clearly on a bad value. The environment is read only when SQL is compiled
    (`execute`), never while parsing: dbt re-parses every file that read an environment
    value which has changed (20 files, ~2 s of every monthly run), and a changed --vars
    makes it parse the whole project again. Parsing only needs the SQL's shape. -#}
{% macro billing_month_text() -%}
    {%- if not execute -%}
        {{- return('1970-01') -}}
    {%- endif -%}
    {%- set value = (var('billing_month', '') or env_var('RECON_BILLING_MONTH', '')) | string | trim -%}
    {%- if value in ('', 'none', 'None') -%}
        {%- set first_of_this_month = run_started_at.replace(day=1) -%}
        {%- set previous = first_of_this_month - modules.datetime.timedelta(days=1) -%}
        {{- return(previous.strftime('%Y-%m')) -}}
    {%- endif -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-(0[1-9]|1[0-2])', value) -%}
        {{ exceptions.raise_compiler_error(
            "var billing_month must be 'YYYY-MM', got '" ~ value ~ "'") }}
    {%- endif -%}
    {{- return(value) -}}
{%- endmacro %}

{#- First and last day of the reconciled month as SQL date literals. -#}
{% macro billing_month_start() -%}
    cast('{{ billing_month_text() }}-01' as date)
{%- endmacro %}

{% macro billing_month_end() -%}
    {{ month_end(billing_month_start()) }}
{%- endmacro %}
