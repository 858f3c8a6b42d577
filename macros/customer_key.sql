{#- The customer key of a resolved record: its account, or 'UNMATCHED:' and its
    normalised name. -#}
{% macro customer_key(account_id, customer_name_normalised) -%}
    coalesce({{ account_id }}, 'UNMATCHED:' || coalesce({{ customer_name_normalised }}, ''))
{%- endmacro %}
