-- One row per CRM account and product with a usable entitlement covering the reconciled
-- month's last day (start_date on or before it, end_date empty or on or after it): the
-- sum of their contracted seats (overlapping entitlements add up).
with

entitlements as (
    select * from {{ ref('int_contract_entitlements_resolved') }}
),

covering_entitlements as (
    select
        crm_account_id as account_id,
        product_code,
        contracted_seats
    from entitlements
    where
        is_usable
        and start_date <= {{ billing_month_end() }}
        and (end_date is null or end_date >= {{ billing_month_end() }})
),

final as (
    select
        account_id,
        product_code,
        cast(sum(contracted_seats) as bigint) as entitled_seats,
        cast(count(*) as bigint) as entitlement_count,
        {{ billing_month_start() }} as billing_month
    from covering_entitlements
    group by account_id, product_code
)

select * from final
