{#- The columns of `model` that hold NULLs, with how many: one test node for every column a
    model promises to fill (a node per column cost dbt's per-node overhead each, in every
    monthly build). Passes when it returns no row. -#}
{% test columns_not_null(model, columns) %}
    {%- for column in columns %}
    select
        '{{ column }}' as column_name,
        count(*) as null_rows
    from {{ model }}
    where {{ column }} is null
    having count(*) > 0
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{% endtest %}
