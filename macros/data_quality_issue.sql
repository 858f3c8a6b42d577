{#- One select of data-quality issues: the rows of `relation` where `condition` holds,
    as (source, record_id, issue, column_name, raw_value, record_month). A NULL
    record_month means the record belongs to every month (current-state CRM data, or a
    record whose own month cannot be read). -#}
{% macro data_quality_issue(relation, source, issue, column_name, raw_value, condition, record_month='null') -%}
    select
        '{{ source }}' as source,
        record_id,
        '{{ issue }}' as issue,
        '{{ column_name }}' as column_name,
        cast({{ raw_value }} as {{ dbt.type_string() }}) as raw_value,
        source_file_name,
        source_row_number,
        cast({{ record_month }} as date) as record_month
    from {{ relation }}
    where {{ condition }}
{%- endmacro %}
