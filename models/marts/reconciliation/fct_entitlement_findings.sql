-- One row per matched customer, product and billing month with billable providers or
-- entitled seats: usage against the contracted entitlements (contract 5.1). Empty when
-- there is no entitlement at all (no contract_entitlements*.csv file, or empty files).
with

entitled_seats as (
    select * from {{ ref('int_entitled_seats_monthly') }}
),

customer_products as (
    select * from {{ ref('int_customer_products_monthly') }}
    where is_matched_customer
),

entitlements as (
    select record_id from {{ ref('stg_crm__contract_entitlements') }}
),

entitlements_known as (
    select count(*) as entitlement_records
    from entitlements
),

usage_joined_to_entitlements as (
    select
        coalesce(customer_products.account_id, entitled_seats.account_id) as account_id,
        coalesce(customer_products.product_code, entitled_seats.product_code) as product_code,
        coalesce(entitled_seats.entitled_seats, 0) as entitled_seats,
        coalesce(customer_products.billable_providers, 0) as billable_providers,
        coalesce(customer_products.billed_quantity, 0) as billed_quantity
    from customer_products
    full outer join entitled_seats
        on
            customer_products.account_id = entitled_seats.account_id
            and customer_products.product_code = entitled_seats.product_code
),

usage_classified as (
    select
        *,
        case
            when billable_providers = entitled_seats then null
            when billable_providers < entitled_seats then 'USAGE_BELOW_ENTITLEMENT'
            when entitled_seats > 0 then 'USAGE_ABOVE_ENTITLEMENT'
            else 'NO_ENTITLEMENT'
        end as finding_type
    from usage_joined_to_entitlements
    where billable_providers > 0 or entitled_seats > 0
),

findings as (
    select usage_classified.*
    from usage_classified
    cross join entitlements_known
    where entitlements_known.entitlement_records > 0
),

{% if is_incremental() %}
previous_month_findings as (
    select
        customer_key,
        product_code,
        finding_type
    from {{ this }}
    where billing_month = cast({{ dbt.dateadd('month', -1, billing_month_start()) }} as date)
),
{% else %}
previous_month_findings as (
    select
        cast(null as {{ dbt.type_string() }}) as customer_key,
        cast(null as {{ dbt.type_string() }}) as product_code,
        cast(null as {{ dbt.type_string() }}) as finding_type
    where 1 = 0
),
{% endif %}

findings_compared_to_previous_month as (
    select
        findings.*,
        previous_month_findings.customer_key is null as is_new
    from findings
    left join previous_month_findings
        on
            findings.account_id = previous_month_findings.customer_key
            and findings.product_code = previous_month_findings.product_code
            and coalesce(findings.finding_type, '') = coalesce(previous_month_findings.finding_type, '')
),

final as (
    select
        account_id as customer_key,
        account_id,
        product_code,
        finding_type,
        cast(entitled_seats as bigint) as entitled_seats,
        cast(billable_providers as bigint) as billable_providers,
        cast(billed_quantity as bigint) as billed_quantity,
        cast(billable_providers - entitled_seats as bigint) as seat_delta,
        cast(
            case
                when entitled_seats > 0
                    then round(cast(billable_providers as decimal(18, 6)) / entitled_seats, 4)
            end as decimal(18, 4)
        ) as utilisation,
        is_new,
        {{ billing_month_start() }} as billing_month
    from findings_compared_to_previous_month
)

select * from final
