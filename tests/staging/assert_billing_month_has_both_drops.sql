-- A warning when the reconciled month has records of one file family and none of the
-- other: intake events dated in it but no invoice line billed for it (a missing billing
-- drop: every billable provider shows as UNBILLED_USAGE), or invoice lines but no intake
-- event (a missing intake drop, or a month without activity). The month is still built;
-- the warning says why its findings may look wrong. A month with neither stops the build
-- (assert_billing_month_has_records.sql).
{{ config(severity='warn') }}
{%- set month_with_one_family_sql -%}
with

month_record_counts as (
    {{ month_record_counts_sql() }}
),

final as (
    select * from month_record_counts
    where (intake_events = 0) != (invoice_lines = 0)
)

select * from final
{%- endset -%}

{%- if execute and flags.WHICH in ('build', 'test') -%}
    {%- set found = run_query(month_with_one_family_sql) -%}
    {%- if found.rows | length > 0 -%}
        {%- set intake_events, invoice_lines = found.rows[0][0], found.rows[0][1] -%}
        {%- set what, where = raw_data_location() -%}
        {%- do exceptions.warn(
            "billing month " ~ billing_month_text() ~ " has " ~ intake_events ~ " intake events and "
            ~ invoice_lines ~ " invoice lines in the " ~ what ~ " of " ~ where ~ ": no "
            ~ ('invoice line billed for' if invoice_lines == 0 else 'intake event dated in')
            ~ " it. A missing drop? The month is built; its findings may look wrong.") -%}
    {%- endif -%}
{%- endif %}
{{ month_with_one_family_sql }}
