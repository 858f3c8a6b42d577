-- One row per decision on an account finding, wherever it was recorded: the rows of
-- resolutions/discrepancy_resolutions.csv (reviewed in git) and the decisions recorded in the
-- dashboard (the decision store), in the same columns, with the decision's rank among the
-- finding's decisions (1 = the latest by decided_at, which is in force).
with

csv_decisions as (
    select * from {{ ref('base_resolutions__csv_decisions') }}
),

stored_decisions as (
    select * from {{ ref('base_resolutions__stored_decisions') }}
),

decisions_unioned as (
    select
        decision_id,
        discrepancy_id,
        decision,
        decided_by,
        decided_role,
        currency,
        note,
        evidence_sha256,
        source,
        amount,
        decided_at
    from csv_decisions
    union all
    select
        decision_id,
        discrepancy_id,
        decision,
        decided_by,
        decided_role,
        currency,
        note,
        evidence_sha256,
        source,
        amount,
        decided_at
    from stored_decisions
),

final as (
    select
        *,
        row_number() over (
            partition by discrepancy_id
            order by decided_at desc, decision asc, decision_id asc
        ) as decision_rank
    from decisions_unioned
)

select * from final
