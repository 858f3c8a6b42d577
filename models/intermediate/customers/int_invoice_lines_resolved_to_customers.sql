-- One row per invoice line with its customer: the one CRM account carrying its
-- billing_account_id (step 2), else its billed name (steps 3-4), else 'UNMATCHED:' and
-- the normalised name (step 5).
with

invoice_lines as (
    select * from {{ ref('stg_billing__invoice_lines') }}
),

billing_accounts as (
    select * from {{ ref('int_billing_accounts_mapped') }}
),

customer_names as (
    select * from {{ ref('int_customer_names_mapped') }}
),

lines_joined_to_customers as (
    select
        invoice_lines.*,
        billing_accounts.account_id as billing_account_match_id,
        customer_names.account_id as name_account_id,
        customer_names.match_method as name_match_method
    from invoice_lines
    left join billing_accounts
        on invoice_lines.billing_account_id = billing_accounts.billing_account_id
    left join customer_names
        on invoice_lines.billed_customer_name_normalised = customer_names.customer_name_normalised
),

final as (
    select
        *,
        coalesce(billing_account_match_id, name_account_id) as resolved_account_id,
        {{ customer_key('coalesce(billing_account_match_id, name_account_id)',
                        'billed_customer_name_normalised') }} as customer_key,
        case
            when billing_account_match_id is not null then 'billing_account_id'
            when name_account_id is not null then name_match_method
            when name_match_method = 'ambiguous' then 'ambiguous'
            else 'unmatched'
        end as match_method
    from lines_joined_to_customers
)

select * from final
