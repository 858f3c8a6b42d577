{#- The decision store as a source (recon/decisions.py writes it; the dashboard is its writer):
    the relation <RECON_DECISIONS_SCHEMA, default recon_decisions>.discrepancy_decisions, with
    the columns decision_id, discrepancy_id, decision, amount, currency, note, decided_by,
    decided_role, decided_at, evidence_sha256, source. Run by `on-run-start`.

    DuckDB: a view over the JSON files of RECON_DECISIONS_DIR (one file per decision, every
    value as text), re-read by every query, so a decision stored while nothing runs is in the
    next build; no file is a normal state (the view is empty). A file the store could not have
    written (edited by hand: not JSON, a field missing, a time or an amount that does not
    parse, an unknown code or role) stops the build here, naming the file and what is wrong:
    a decision moves money, so none is dropped silently.

    Snowflake: the table, created when missing (the set-up of docs/snowflake.md creates it and
    grants the dashboard's role INSERT and SELECT on it); nothing else. -#}

{% macro decision_store_schema() -%}
    {{- return(env_var('RECON_DECISIONS_SCHEMA', 'recon_decisions')) -}}
{%- endmacro %}

{% macro create_decision_store() -%}
    {{ return(adapter.dispatch('create_decision_store', 'provider_recon')()) }}
{%- endmacro %}

{% macro default__create_decision_store() -%}
    {%- if execute -%}
        {%- set schema = decision_store_schema() -%}
        {%- set existing = adapter.get_relation(
            database=target.database, schema=schema, identifier='discrepancy_decisions') -%}
        {%- if existing is none -%}
            {%- do run_query('create schema if not exists ' ~ schema) -%}
            {%- do run_query(
                'create table if not exists ' ~ schema ~ '.discrepancy_decisions ('
                ~ ' decision_id varchar(36) not null, discrepancy_id varchar(64) not null,'
                ~ ' decision varchar(32) not null, amount number(18, 2),'
                ~ ' currency varchar(3) not null, note varchar, decided_by varchar not null,'
                ~ ' decided_role varchar(16) not null, decided_at timestamp_ntz not null,'
                ~ ' evidence_sha256 varchar(64), source varchar(16) not null)') -%}
        {%- endif -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{% macro duckdb__create_decision_store() -%}
    {%- if execute -%}
        {%- set schema = decision_store_schema() -%}
        {%- set folder = env_var('RECON_DECISIONS_DIR', 'resolutions/decisions') -%}
        {%- set fields = ['decision_id', 'discrepancy_id', 'decision', 'amount', 'currency',
            'note', 'decided_by', 'decided_role', 'decided_at', 'evidence_sha256', 'source'] -%}
        {%- set columns = [] -%}
        {%- for name in fields -%}
            {#- text that is not JSON is never handed to a JSON function (DuckDB raises) -#}
            {%- do columns.append("nullif(trim(json_extract_string(case when json_valid(content)"
                ~ " then content else '{}' end, '$." ~ name ~ "')), '') as " ~ name) -%}
        {%- endfor -%}
        {%- do run_query(
            'create schema if not exists ' ~ schema ~ ';\n'
            ~ 'create or replace view ' ~ schema ~ '.discrepancy_decisions as select '
            ~ columns | join(', ') ~ ", regexp_extract(filename, '[^/\\\\]+$') as _file_name,"
            ~ ' content as _content from read_text('
            ~ raw_sql_string(folder ~ '/*.json') ~ ')') -%}
        {%- do adapter.commit() -%}
        {%- set problems = run_query(decision_store_problems_sql(schema)) -%}
        {%- if problems.rows | length > 0 -%}
            {%- set lines = [] -%}
            {%- for row in problems.rows -%}
                {%- do lines.append(row[0] ~ ': ' ~ row[1]) -%}
            {%- endfor -%}
            {{ exceptions.raise_compiler_error(
                "the decision store " ~ folder ~ " has " ~ lines | length ~ " file(s) the store"
                ~ " did not write (edited by hand?): " ~ lines | join('; ')
                ~ ". No decision was read. Move each out of the folder (keep it for the audit),"
                ~ " record the decision again in the dashboard, and run again.") }}
        {%- endif -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- One row per stored file the store could not have written: file name, what is wrong. -#}
{% macro decision_store_problems_sql(schema) -%}
    with checked as (
        select
            _file_name,
            case
                when not json_valid(_content) then 'not valid JSON'
                when json_type(case when json_valid(_content) then _content else '{}' end) != 'OBJECT'
                    then 'not a JSON object'
                when decision_id is null or discrepancy_id is null or decision is null
                    or decided_by is null or decided_role is null or decided_at is null
                    then 'decision_id, discrepancy_id, decision, decided_by, decided_role'
                        || ' and decided_at are required'
                when try_cast(decided_at as timestamp) is null
                    then 'decided_at ' || decided_at || ' is not a timestamp'
                when amount is not null and try_cast(amount as decimal(18, 2)) is null
                    then 'amount ' || amount || ' is not a number'
                when upper(decision) not in (
                    'PROPOSE_CREDIT', 'PROPOSE_INVOICE_CORRECTION', 'DISPUTE', 'APPROVE_CREDIT',
                    'APPROVE_INVOICE_CORRECTION', 'ACCEPT_AS_IS')
                    then 'decision ' || decision || ' is not a decision code'
                when lower(decided_role) not in ('viewer', 'reviewer', 'approver')
                    then 'decided_role ' || decided_role || ' is not a role'
            end as problem
        from {{ schema }}.discrepancy_decisions
    )
    select _file_name, problem from checked where problem is not null order by _file_name
{%- endmacro %}
