-- One row per legacy (old or alternative) customer name and the CRM account it maps to.
with

legacy_customer_names as (
    select * from {{ ref('legacy_customer_names') }}
),

final as (
    select
        {{ clean_id('account_id') }} as account_id,
        {{ clean_text('legacy_name') }} as legacy_name,
        {{ normalise_customer_name('legacy_name') }} as legacy_name_normalised
    from legacy_customer_names
)

select * from final
