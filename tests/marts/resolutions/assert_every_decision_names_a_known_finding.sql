-- Every decision in resolutions/discrepancy_resolutions.csv names a finding of
-- fct_billing_discrepancies (any month that has been run). A row here is a decision on an
-- unknown discrepancy_id: a typo, or a finding of a month not run on this database. It
-- fails the build so that no approved credit is silently ignored.
with

decisions as (
    select * from {{ ref('stg_resolutions__discrepancy_decisions') }}
),

billing_discrepancies as (
    select * from {{ ref('fct_billing_discrepancies') }}
),

unknown_findings as (
    select
        decisions.discrepancy_id,
        decisions.decision,
        decisions.decided_by,
        decisions.decided_at
    from decisions
    left join billing_discrepancies
        on decisions.discrepancy_id = billing_discrepancies.discrepancy_id
    where billing_discrepancies.discrepancy_id is null
)

select * from unknown_findings
