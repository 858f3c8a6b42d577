{#- Conservation: every raw row is accounted for. Fails when the rows of `raw_relation`
    differ from the rows of `model` plus the rows of `removed_relation` that match
    `removed_where` (the documented exclusions, such as superseded duplicates). -#}
{% test raw_rows_accounted_for(model, raw_relation, removed_relation, removed_where) %}
    with

    raw_rows as (
        select count(*) as row_count from {{ raw_relation }}
    ),

    model_rows as (
        select count(*) as row_count from {{ model }}
    ),

    removed_rows as (
        select count(*) as row_count from {{ removed_relation }} where {{ removed_where }}
    )

    select
        raw_rows.row_count as raw_row_count,
        model_rows.row_count as model_row_count,
        removed_rows.row_count as removed_row_count
    from raw_rows
    cross join model_rows
    cross join removed_rows
    where raw_rows.row_count <> model_rows.row_count + removed_rows.row_count
{% endtest %}
