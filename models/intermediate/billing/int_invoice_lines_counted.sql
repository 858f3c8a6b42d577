-- One row per invoice line of the reconciled month that counts towards a billed
-- quantity: not void, a whole-number quantity and a product of the catalogue.
with

invoice_lines as (
    select * from {{ ref('int_invoice_lines_resolved_to_customers') }}
),

products as (
    select * from {{ ref('stg_reference__products') }}
),

final as (
    select
        invoice_lines.invoice_line_id,
        invoice_lines.invoice_id,
        invoice_lines.customer_key,
        invoice_lines.resolved_account_id as account_id,
        products.product_code,
        invoice_lines.invoice_status,
        invoice_lines.currency,
        invoice_lines.source_file_name,
        invoice_lines.source_row_number,
        invoice_lines.billed_quantity,
        invoice_lines.unit_price,
        products.list_price_usd,
        invoice_lines.billing_month
    from invoice_lines
    inner join products
        on invoice_lines.product_lookup_key = products.product_code_key
    where
        invoice_lines.billing_month = {{ billing_month_start() }}
        and not invoice_lines.is_void
        and invoice_lines.billed_quantity is not null
)

select * from final
