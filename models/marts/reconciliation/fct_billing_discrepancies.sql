-- One row per account finding: per customer, product and billing month whose billed
-- quantity differs from its billable providers, and per customer and month with activity
-- whose CRM account is missing, not active or not live by the month end.
with

customer_products as (
    select * from {{ ref('int_customer_products_monthly') }}
),

invoices_of_findings as (
    select * from {{ ref('int_invoices_of_findings_monthly') }}
),

product_findings as (
    select
        customer_key,
        account_id,
        customer_name,
        product_code,
        case
            when billed_quantity > billable_providers then 'OVERBILLED'
            when billable_providers > 0 and billed_quantity <= 0 then 'UNBILLED_USAGE'
            else 'UNDERBILLED'
        end as discrepancy_type,
        crm_active_providers,
        billable_providers,
        billed_quantity,
        quantity_delta,
        unit_price,
        cast(round(quantity_delta * unit_price, 2) as decimal(18, 2)) as amount_delta,
        account_status,
        crm_go_live_date
    from customer_products
    where not is_match
),

customers as (
    select
        customer_key,
        max(account_id) as account_id,
        max(customer_name) as customer_name,
        max(account_status) as account_status,
        max(crm_go_live_date) as crm_go_live_date,
        max(cast(is_matched_customer as integer)) = 1 as is_matched_customer,
        max(crm_active_providers) as crm_active_providers,
        sum(billable_providers) as billable_providers,
        sum(billed_quantity) as billed_quantity,
        sum(cast(round(quantity_delta * unit_price, 2) as decimal(18, 2))) as amount_delta
    from customer_products
    group by customer_key
),

account_findings_by_type as (
    select
        customers.*,
        'MISSING_FROM_CRM' as discrepancy_type
    from customers
    where not customers.is_matched_customer

    union all

    select
        customers.*,
        'ACCOUNT_NOT_ACTIVE_IN_CRM' as discrepancy_type
    from customers
    where customers.account_status in ('inactive', 'churned', 'prospect')

    union all

    select
        customers.*,
        'GO_LIVE_MISMATCH' as discrepancy_type
    from customers
    where
        customers.is_matched_customer
        and (
            customers.crm_go_live_date is null
            or customers.crm_go_live_date > {{ billing_month_end() }}
        )
),

account_findings as (
    select
        customer_key,
        account_id,
        customer_name,
        cast(null as {{ dbt.type_string() }}) as product_code,
        discrepancy_type,
        crm_active_providers,
        billable_providers,
        billed_quantity,
        billed_quantity - billable_providers as quantity_delta,
        cast(null as decimal(18, 4)) as unit_price,
        amount_delta,
        account_status,
        crm_go_live_date
    from account_findings_by_type
),

findings as (
    select * from product_findings
    union all
    select * from account_findings
),

{% if is_incremental() %}
previous_month_findings as (
    select
        customer_key,
        product_code,
        discrepancy_type,
        first_seen_month
    from {{ this }}
    where billing_month = cast({{ dbt.dateadd('month', -1, billing_month_start()) }} as date)
),
{% else %}
previous_month_findings as (
    select
        cast(null as {{ dbt.type_string() }}) as customer_key,
        cast(null as {{ dbt.type_string() }}) as product_code,
        cast(null as {{ dbt.type_string() }}) as discrepancy_type,
        cast(null as date) as first_seen_month
    where 1 = 0
),
{% endif %}

findings_with_invoices as (
    select
        findings.*,
        invoices_of_findings.invoice_ids,
        invoices_of_findings.invoice_status
    from findings
    left join invoices_of_findings
        on
            findings.customer_key = invoices_of_findings.customer_key
            and coalesce(findings.product_code, '') = coalesce(invoices_of_findings.product_code, '')
),

findings_compared_to_previous_month as (
    select
        findings_with_invoices.*,
        previous_month_findings.first_seen_month as previous_first_seen_month
    from findings_with_invoices
    left join previous_month_findings
        on
            findings_with_invoices.customer_key = previous_month_findings.customer_key
            and findings_with_invoices.discrepancy_type = previous_month_findings.discrepancy_type
            and coalesce(findings_with_invoices.product_code, '')
            = coalesce(previous_month_findings.product_code, '')
),

final as (
    select
        {{ dbt.hash(dbt.concat([
            "'" ~ billing_month_text() ~ "'", "'|'", 'customer_key', "'|'",
            "coalesce(product_code, '')", "'|'", 'discrepancy_type'])) }} as discrepancy_id,
        customer_key,
        account_id,
        customer_name,
        product_code,
        discrepancy_type,
        {{ status_label('discrepancy_type') }} as status_label,
        {{ finding_reason() }} as reason,
        invoice_ids,
        invoice_status,
        {{ recommended_action('discrepancy_type', 'invoice_status') }} as recommended_action,
        cast(crm_active_providers as bigint) as crm_active_providers,
        cast(billable_providers as bigint) as billable_providers,
        cast(billed_quantity as bigint) as billed_quantity,
        cast(quantity_delta as bigint) as quantity_delta,
        cast(unit_price as decimal(18, 4)) as unit_price,
        cast(amount_delta as decimal(18, 2)) as amount_delta,
        previous_first_seen_month is null as is_new,
        {{ billing_month_start() }} as billing_month,
        coalesce(previous_first_seen_month, {{ billing_month_start() }}) as first_seen_month
    from findings_compared_to_previous_month
)

select * from final
