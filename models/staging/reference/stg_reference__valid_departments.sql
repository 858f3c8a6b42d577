-- One row per department whose providers are billable.
with

valid_departments as (
    select * from {{ ref('valid_departments') }}
),

final as (
    select distinct lower(trim(department)) as department_key
    from valid_departments
    where nullif(trim(department), '') is not null
)

select * from final
