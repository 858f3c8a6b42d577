-- One row per decision recorded in the dashboard (the decision store), typed: codes upper
-- case, roles lower case, amounts in cents, decided_at in UTC.
{%- set timestamp_type = adapter.dispatch('timestamp_type', 'provider_recon')() %}

with

source as (
    select * from {{ source('decision_store', 'discrepancy_decisions') }}
),

final as (
    select
        -- ids
        lower(trim(cast(decision_id as {{ dbt.type_string() }}))) as decision_id,
        lower(trim(cast(discrepancy_id as {{ dbt.type_string() }}))) as discrepancy_id,
        -- strings
        upper(trim(cast(decision as {{ dbt.type_string() }}))) as decision,
        trim(cast(decided_by as {{ dbt.type_string() }})) as decided_by,
        lower(trim(cast(decided_role as {{ dbt.type_string() }}))) as decided_role,
        coalesce(upper(trim(cast(currency as {{ dbt.type_string() }}))), 'USD') as currency,
        trim(cast(note as {{ dbt.type_string() }})) as note,
        lower(trim(cast(evidence_sha256 as {{ dbt.type_string() }}))) as evidence_sha256,
        -- `source` is the decision store's column name (recon/decisions.py)
        coalesce(
            lower(trim(cast(source as {{ dbt.type_string() }}))), 'dashboard'
        ) as source,  -- noqa: RF04
        -- numbers
        cast(amount as decimal(18, 2)) as amount,
        -- timestamps
        cast(decided_at as {{ timestamp_type }}) as decided_at
    from source
)

select * from final
