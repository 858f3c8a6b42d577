-- One row per customer and product of each billing month that has been run, with its
-- counts from the CRM, operations and billing, its status label, its findings and their
-- dollar impact, the invoices of its lines with their status and the recommended action,
-- ranked within the month by absolute dollar impact (rank 1 first), with the decision status
-- of its product finding, its materiality, and an earlier month's decision on the same
-- finding. Incremental: a run writes (or replaces) its month's rows only.
with

billing_discrepancies as (
    select * from {{ ref('fct_billing_discrepancies') }}
    where billing_month = {{ billing_month_start() }}
),

customer_products as (
    select * from {{ ref('int_customer_products_monthly') }}
),

invoices_of_products as (
    select * from {{ ref('int_invoices_of_findings_monthly') }}
    where product_code is not null
),

discrepancy_resolutions as (
    select * from {{ ref('fct_discrepancy_resolutions') }}
    where billing_month = {{ billing_month_start() }}
),

product_findings as (
    select * from billing_discrepancies
    where product_code is not null
),

account_findings as (
    select
        customer_key,
        {{ dbt.listagg('discrepancy_type', "', '", "order by discrepancy_type") }} as account_finding_types,
        max(case when is_new then 1 else 0 end) = 1 as has_new_account_finding
    from billing_discrepancies
    where product_code is null
    group by customer_key
),

report_rows as (
    select
        customer_products.customer_key,
        customer_products.account_id,
        customer_products.customer_name,
        customer_products.product_code,
        product_findings.discrepancy_id,
        discrepancy_resolutions.finding_key,
        product_findings.discrepancy_type,
        account_findings.account_finding_types,
        -- the label of this customer-product's own finding, the same words as the finding
        -- everywhere; the customer's account-level findings are in account_finding_types
        {{ status_label('product_findings.discrepancy_type') }} as status_label,
        coalesce(product_findings.reason, 'Billed quantity equals billable providers.') as reason,
        invoices_of_products.invoice_ids,
        invoices_of_products.invoice_status,
        product_findings.recommended_action,
        discrepancy_resolutions.resolution_status,
        discrepancy_resolutions.decision,
        discrepancy_resolutions.decided_by,
        discrepancy_resolutions.decision_note,
        discrepancy_resolutions.previous_decision,
        customer_products.crm_active_providers,
        customer_products.billable_providers,
        customer_products.billed_quantity,
        customer_products.quantity_delta,
        customer_products.unit_price,
        coalesce(product_findings.amount_delta, cast(0 as decimal(18, 2))) as amount_delta,
        discrepancy_resolutions.decided_amount,
        discrepancy_resolutions.age_days,
        discrepancy_resolutions.days_to_resolve,
        customer_products.is_match,
        coalesce(product_findings.is_new, false)
        or coalesce(account_findings.has_new_account_finding, false) as has_new_finding,
        discrepancy_resolutions.is_material,
        discrepancy_resolutions.is_reopened,
        customer_products.billing_month,
        product_findings.first_seen_month,
        discrepancy_resolutions.previous_decision_month,
        discrepancy_resolutions.decided_at
    from customer_products
    left join product_findings
        on
            customer_products.customer_key = product_findings.customer_key
            and customer_products.product_code = product_findings.product_code
    left join account_findings
        on customer_products.customer_key = account_findings.customer_key
    left join invoices_of_products
        on
            customer_products.customer_key = invoices_of_products.customer_key
            and customer_products.product_code = invoices_of_products.product_code
    left join discrepancy_resolutions
        on product_findings.discrepancy_id = discrepancy_resolutions.discrepancy_id
),

final as (
    select
        *,
        row_number() over (
            partition by billing_month
            order by abs(amount_delta) desc, customer_key asc, product_code asc
        ) as impact_rank
    from report_rows
)

select * from final
