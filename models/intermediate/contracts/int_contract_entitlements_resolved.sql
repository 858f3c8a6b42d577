-- One row per contract entitlement with its CRM account and catalogue product (each
-- NULL when unknown: matched by account_id and by product code only) and whether it
-- counts: a known account and product, whole-number seats, a start date, and an end
-- date that is empty (open-ended) or parseable.
with

entitlements as (
    select * from {{ ref('stg_crm__contract_entitlements') }}
),

crm_accounts as (
    select account_id from {{ ref('stg_crm__accounts') }}
),

products as (
    select
        product_code,
        product_code_key
    from {{ ref('stg_reference__products') }}
),

entitlements_joined as (
    select
        entitlements.*,
        crm_accounts.account_id as crm_account_id,
        products.product_code
    from entitlements
    left join crm_accounts
        on entitlements.account_id = crm_accounts.account_id
    left join products
        on entitlements.product_lookup_key = products.product_code_key
),

final as (
    select
        *,
        crm_account_id is not null
        and product_code is not null
        and contracted_seats is not null
        and start_date is not null
        and not has_unparseable_end_date as is_usable
    from entitlements_joined
)

select * from final
