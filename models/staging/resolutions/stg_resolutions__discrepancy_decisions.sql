-- One row per decision recorded on an account finding (the discrepancy_resolutions seed),
-- with its rank among the finding's decisions (1 = the latest, which is in force).
with

discrepancy_resolutions as (
    select * from {{ ref('discrepancy_resolutions') }}
),

decisions_cleaned as (
    select
        -- ids
        lower(trim(cast(discrepancy_id as {{ dbt.type_string() }}))) as discrepancy_id,
        -- strings
        upper(trim(cast(decision as {{ dbt.type_string() }}))) as decision,
        trim(cast(decided_by as {{ dbt.type_string() }})) as decided_by,
        coalesce(upper(trim(cast(currency as {{ dbt.type_string() }}))), 'USD') as currency,
        trim(cast(note as {{ dbt.type_string() }})) as note,
        -- numbers
        cast(amount as decimal(18, 2)) as amount,
        -- timestamps
        cast(decided_at as timestamp) as decided_at
    from discrepancy_resolutions
),

final as (
    select
        *,
        row_number() over (
            partition by discrepancy_id
            order by decided_at desc, decision asc
        ) as decision_rank
    from decisions_cleaned
)

select * from final
