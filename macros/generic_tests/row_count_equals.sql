{#- Fails when `model` (optionally filtered by `where_clause`) has a different row count
    than `compare_model` plus `plus_model` (each optionally filtered). Used for
    conservation: raw rows = staged rows + duplicates removed. -#}
{% test row_count_equals(model, compare_model, compare_where='1 = 1', plus_model=none, plus_where='1 = 1') %}
    with

    left_side as (
        select count(*) as row_count from {{ model }}
    ),

    right_side as (
        select
            (select count(*) from {{ compare_model }} where {{ compare_where }})
            {%- if plus_model %}
            + (select count(*) from {{ plus_model }} where {{ plus_where }})
            {%- endif %} as row_count
    )

    select
        left_side.row_count as model_rows,
        right_side.row_count as accounted_rows
    from left_side
    cross join right_side
    where left_side.row_count <> right_side.row_count
{% endtest %}
