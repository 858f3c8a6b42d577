-- One row per invoice line (invoice_line_id): the copy in the latest drop wins.
with

base_invoice_lines as (
    select * from {{ ref('base_billing__invoice_lines') }}
),

final as (
    select
        invoice_line_id,
        invoice_id,
        billing_account_id,
        record_id,
        product_lookup_key,
        raw_product_code,
        billed_customer_name,
        billed_customer_name_normalised,
        invoice_status,
        currency,
        source_file_name,
        source_row_number,
        billed_quantity,
        unit_price,
        line_amount,
        is_void,
        has_unknown_status,
        has_unparseable_billing_period,
        has_unparseable_quantity,
        billing_month
    from base_invoice_lines
    where not is_duplicate
)

select * from final
