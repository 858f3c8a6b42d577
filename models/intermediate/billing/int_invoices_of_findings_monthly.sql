-- One row per customer and product of the reconciled month with counted invoice lines,
-- and one per such customer over all its products (product_code NULL): the invoices of
-- those lines (distinct, sorted, comma separated) and their status (open when any line is
-- on an open invoice, else closed when any is closed, else NULL). The invoices an account
-- finding is about (contract 5.2).
with

counted_lines as (
    select * from {{ ref('int_invoice_lines_counted') }}
),

invoices_of_products as (
    select distinct
        customer_key,
        product_code,
        invoice_id,
        invoice_status
    from counted_lines
),

invoices_of_customers as (
    select distinct
        customer_key,
        cast(null as {{ dbt.type_string() }}) as product_code,
        invoice_id,
        invoice_status
    from counted_lines
),

invoices as (
    select * from invoices_of_products
    union all
    select * from invoices_of_customers
),

distinct_invoice_ids as (
    select distinct
        customer_key,
        product_code,
        invoice_id
    from invoices
    where invoice_id is not null
),

invoice_ids_listed as (
    select
        customer_key,
        product_code,
        {{ dbt.listagg('invoice_id', "','", 'order by invoice_id') }} as invoice_ids
    from distinct_invoice_ids
    group by customer_key, product_code
),

statuses_summarised as (
    select
        customer_key,
        product_code,
        case
            when max(case when invoice_status = 'open' then 1 else 0 end) = 1 then 'open'
            when max(case when invoice_status = 'closed' then 1 else 0 end) = 1 then 'closed'
        end as invoice_status
    from invoices
    group by customer_key, product_code
),

final as (
    select
        statuses_summarised.customer_key,
        statuses_summarised.product_code,
        invoice_ids_listed.invoice_ids,
        statuses_summarised.invoice_status
    from statuses_summarised
    left join invoice_ids_listed
        on
            statuses_summarised.customer_key = invoice_ids_listed.customer_key
            and coalesce(statuses_summarised.product_code, '')
            = coalesce(invoice_ids_listed.product_code, '')
)

select * from final
