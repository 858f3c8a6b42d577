-- The reconciled month has data: at least one intake event dated in it or one invoice line
-- billed for it. A month with neither is a month whose drops have not arrived, or the wrong
-- month (a plain `dbt build` reconciles the previous calendar month by default), and
-- reconciling it would write a month of nothing but findings. So the build stops here,
-- naming the month and the raw folder, and dbt skips the marts: each depends on both the
-- staged intake events and the staged invoice lines (two of them through `-- depends_on`),
-- so dbt runs this test before any of them. The SELECT is the same check, for the commands
-- that do not run it first (compile, docs, retry).
{%- set month_without_records_sql -%}
with

month_record_counts as (
    {{ month_record_counts_sql() }}
),

final as (
    select * from month_record_counts
    where intake_events = 0 and invoice_lines = 0
)

select * from final
{%- endset -%}

{%- if execute and flags.WHICH in ('build', 'test') -%}
    {%- if run_query(month_without_records_sql).rows | length > 0 -%}
        {%- set what, where = raw_data_location() -%}
        {{ exceptions.raise_compiler_error(
            "billing month " ~ billing_month_text() ~ " has no intake event and no invoice line"
            ~ " in the " ~ what ~ " of " ~ where ~ ": no drop for this month yet? Set billing_month"
            ~ " (dbt --vars or RECON_BILLING_MONTH) to a month with data.") }}
    {%- endif -%}
{%- endif %}
{{ month_without_records_sql }}
