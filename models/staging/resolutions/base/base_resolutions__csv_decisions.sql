-- One row per decision of resolutions/discrepancy_resolutions.csv (reviewed in git), in the
-- decision store's columns: source 'csv', decided_role 'csv', no evidence, and a decision_id
-- that is the md5 of the row's values in uuid form (the same row always has the same id).
{%- set timestamp_type = adapter.dispatch('timestamp_type', 'provider_recon')() %}

with

discrepancy_resolutions as (
    select * from {{ ref('discrepancy_resolutions') }}
),

decisions_cleaned as (
    select
        lower(trim(cast(discrepancy_id as {{ dbt.type_string() }}))) as discrepancy_id,
        upper(trim(cast(decision as {{ dbt.type_string() }}))) as decision,
        trim(cast(decided_by as {{ dbt.type_string() }})) as decided_by,
        coalesce(upper(trim(cast(currency as {{ dbt.type_string() }}))), 'USD') as currency,
        trim(cast(note as {{ dbt.type_string() }})) as note,
        cast(amount as decimal(18, 2)) as amount,
        cast(decided_at as {{ timestamp_type }}) as decided_at
    from discrepancy_resolutions
),

decisions_hashed as (
    select
        *,
        {{ dbt.hash(dbt.concat([
            'discrepancy_id', "'|'", 'decision', "'|'", 'decided_by', "'|'",
            "cast(" ~ dbt.datediff("cast('1970-01-01' as " ~ timestamp_type ~ ")",
                'decided_at', 'second') ~ " as " ~ dbt.type_string() ~ ")", "'|'",
            "coalesce(cast(amount as " ~ dbt.type_string() ~ "), '')", "'|'",
            'currency', "'|'", "coalesce(note, '')"])) }} as row_hash
    from decisions_cleaned
),

final as (
    select
        -- ids
        {{ dbt.concat([
            'substr(row_hash, 1, 8)', "'-'", 'substr(row_hash, 9, 4)', "'-'",
            'substr(row_hash, 13, 4)', "'-'", 'substr(row_hash, 17, 4)', "'-'",
            'substr(row_hash, 21, 12)']) }} as decision_id,
        discrepancy_id,
        -- strings
        decision,
        decided_by,
        cast('csv' as {{ dbt.type_string() }}) as decided_role,
        currency,
        note,
        cast(null as {{ dbt.type_string() }}) as evidence_sha256,
        cast('csv' as {{ dbt.type_string() }}) as source,  -- noqa: RF04
        -- numbers
        amount,
        -- timestamps
        decided_at
    from decisions_hashed
)

select * from final
