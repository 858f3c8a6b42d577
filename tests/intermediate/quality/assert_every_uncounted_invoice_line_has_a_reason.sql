-- Every staged invoice line of the reconciled month that does not count towards a billed
-- quantity is void or carries a data-quality issue that says why (a quantity that is not
-- a whole number, an unknown product): nothing is dropped silently.
with

invoice_lines as (
    select * from {{ ref('stg_billing__invoice_lines') }}
),

counted_lines as (
    select * from {{ ref('int_invoice_lines_counted') }}
),

issues as (
    select * from {{ ref('int_data_quality_issues_found') }}
),

uncounted_lines as (
    select
        invoice_lines.record_id,
        invoice_lines.source_file_name,
        invoice_lines.source_row_number
    from invoice_lines
    left join counted_lines
        on invoice_lines.invoice_line_id = counted_lines.invoice_line_id
    where
        invoice_lines.billing_month = {{ billing_month_start() }}
        and not invoice_lines.is_void
        and counted_lines.invoice_line_id is null
),

reasons as (
    select distinct issues.record_id
    from issues
    where
        issues.source = 'billing_invoice_lines'
        and issues.issue in ('UNPARSEABLE_NUMBER', 'UNKNOWN_PRODUCT', 'MISSING_ID')
),

final as (
    select uncounted_lines.*
    from uncounted_lines
    left join reasons
        on uncounted_lines.record_id = reasons.record_id
    where reasons.record_id is null
)

select * from final
