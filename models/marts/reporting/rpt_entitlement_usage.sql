-- One row per matched customer and product of each billing month that has been run with
-- billable providers or entitled seats: usage against the contracted entitlements for
-- Customer Success, with the customer's name and the true-up at list price, largest gaps
-- first within the month. Incremental: a run writes (or replaces) its month's rows only.
with

entitlement_findings as (
    select * from {{ ref('fct_entitlement_findings') }}
    where billing_month = {{ billing_month_start() }}
),

crm_accounts as (
    select
        account_id,
        account_name
    from {{ ref('stg_crm__accounts') }}
),

products as (
    select
        product_code,
        list_price_usd
    from {{ ref('stg_reference__products') }}
),

usage_described as (
    select
        entitlement_findings.customer_key,
        entitlement_findings.account_id,
        crm_accounts.account_name as customer_name,
        entitlement_findings.product_code,
        entitlement_findings.finding_type,
        {{ finding_label('entitlement_findings.finding_type', 'entitlement') }} as status_label,
        entitlement_findings.entitled_seats,
        entitlement_findings.billable_providers,
        entitlement_findings.billed_quantity,
        entitlement_findings.seat_delta,
        entitlement_findings.utilisation,
        products.list_price_usd,
        cast(
            case
                when entitlement_findings.finding_type = 'USAGE_ABOVE_ENTITLEMENT'
                    then entitlement_findings.seat_delta * products.list_price_usd
                else 0
            end as decimal(18, 2)
        ) as true_up_amount,
        entitlement_findings.is_new,
        entitlement_findings.billing_month
    from entitlement_findings
    left join crm_accounts
        on entitlement_findings.account_id = crm_accounts.account_id
    left join products
        on entitlement_findings.product_code = products.product_code
),

final as (
    select
        *,
        row_number() over (
            partition by billing_month
            order by abs(seat_delta) desc, customer_key asc, product_code asc
        ) as gap_rank
    from usage_described
)

select * from final
