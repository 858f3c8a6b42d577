-- One row per customer, product and reconciled month that has billable providers or a
-- counted invoice line, with the counts from all three systems.
with

billable_providers as (
    select * from {{ ref('int_billable_providers_monthly') }}
),

billed_quantities as (
    select * from {{ ref('int_billed_quantities_monthly') }}
),

crm_accounts as (
    select * from {{ ref('stg_crm__accounts') }}
),

crm_active_providers as (
    select * from {{ ref('int_crm_active_providers') }}
),

products as (
    select * from {{ ref('stg_reference__products') }}
),

counts_joined as (
    select
        coalesce(billable_providers.customer_key, billed_quantities.customer_key) as customer_key,
        coalesce(billable_providers.product_code, billed_quantities.product_code) as product_code,
        coalesce(billable_providers.billable_providers, 0) as billable_providers,
        coalesce(billed_quantities.billed_quantity, 0) as billed_quantity,
        coalesce(billed_quantities.invoice_line_count, 0) as invoice_line_count,
        billed_quantities.unit_price as billed_unit_price
    from billable_providers
    full outer join billed_quantities
        on
            billable_providers.customer_key = billed_quantities.customer_key
            and billable_providers.product_code = billed_quantities.product_code
),

final as (
    select
        counts_joined.customer_key,
        crm_accounts.account_id,
        counts_joined.product_code,
        coalesce(
            crm_accounts.account_name,
            substr(counts_joined.customer_key, {{ 'UNMATCHED:' | length + 1 }})
        ) as customer_name,
        crm_accounts.account_status,
        coalesce(crm_active_providers.crm_active_providers, 0) as crm_active_providers,
        counts_joined.billable_providers,
        counts_joined.billed_quantity,
        counts_joined.billed_quantity - counts_joined.billable_providers as quantity_delta,
        counts_joined.invoice_line_count,
        coalesce(counts_joined.billed_unit_price, products.list_price_usd) as unit_price,
        crm_accounts.account_id is not null as is_matched_customer,
        counts_joined.billed_quantity = counts_joined.billable_providers as is_match,
        {{ billing_month_start() }} as billing_month,
        crm_accounts.go_live_date as crm_go_live_date
    from counts_joined
    left join crm_accounts
        on counts_joined.customer_key = crm_accounts.account_id
    left join crm_active_providers
        on crm_accounts.account_id = crm_active_providers.account_id
    left join products
        on counts_joined.product_code = products.product_code
)

select * from final
