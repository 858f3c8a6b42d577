{#- The reconciled month: said at the start of a run, with where its raw data comes from (a
    plain `dbt build` builds the previous calendar month when none is given, which is easy to
    miss), and checked to have records before the marts are built (tests/staging/). -#}

{#- Where the raw data of this target comes from: [what, where]. DuckDB reads the files of
    RECON_RAW_DIR itself (on-run-start, macros/raw_files.sql): a relative folder is read from
    the working directory, so it is shown joined to it (the shell's PWD) when that is known.
    Snowflake reads the RAW tables that `recon load` filled from that folder. -#}
{% macro raw_data_location() -%}
    {{ return(adapter.dispatch('raw_data_location', 'provider_recon')()) }}
{%- endmacro %}

{% macro default__raw_data_location() -%}
    {%- set raw_dir = env_var('RECON_RAW_DIR', 'data/raw') -%}
    {%- set working_dir = env_var('PWD', '') -%}
    {%- if not modules.re.match('^([/\\\\]|[A-Za-z]:)', raw_dir) and working_dir -%}
        {%- set raw_dir = working_dir.rstrip('/') ~ '/' ~ modules.re.sub('^(\\./)+', '', raw_dir) -%}
    {%- endif -%}
    {{ return(['raw files', raw_dir]) }}
{%- endmacro %}

{% macro snowflake__raw_data_location() -%}
    {{ return(['RAW tables', target.database ~ '.' ~ env_var('RECON_RAW_SCHEMA', 'raw')]) }}
{%- endmacro %}

{#- on-run-start: one line in dbt's console output, for the commands that build or test a
    month; nothing at parse time, nor for compile or docs. Returns no SQL (dbt runs none). -#}
{% macro log_reconciled_month() -%}
    {%- if execute and flags.WHICH in ('build', 'run', 'test', 'retry') -%}
        {%- set what, where = raw_data_location() -%}
        {{- log('Reconciling billing month ' ~ billing_month_text() ~ ' (' ~ what ~ ': ' ~ where
            ~ ', target ' ~ target.name ~ ')', info=true) -}}
    {%- endif -%}
{%- endmacro %}

{#- One row: the staged intake events dated in the reconciled month and the staged invoice
    lines billed for it (the two month tests in tests/staging/ read it). -#}
{% macro month_record_counts_sql() -%}
with

intake_events as (
    select event_month from {{ ref('stg_ops__intake_events') }}
),

invoice_lines as (
    select billing_month from {{ ref('stg_billing__invoice_lines') }}
),

intake_events_of_the_month as (
    select count(*) as intake_events
    from intake_events
    where event_month = {{ billing_month_start() }}
),

invoice_lines_of_the_month as (
    select count(*) as invoice_lines
    from invoice_lines
    where billing_month = {{ billing_month_start() }}
),

final as (
    select
        intake_events_of_the_month.intake_events,
        invoice_lines_of_the_month.invoice_lines
    from intake_events_of_the_month
    cross join invoice_lines_of_the_month
)

select * from final
{%- endmacro %}
