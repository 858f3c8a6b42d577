{#- Whole numbers: optional sign, digits, optional zero decimal part ('3', '-1', '3.0').
    NULL for anything else ('3.5', 'three', '1,000', ''). -#}
{% macro parse_whole_number(expression) -%}
    {%- set text = "trim(" ~ expression ~ ")" -%}
    case
        when {{ regex_full_match(text, '[+-]?[0-9]{1,15}([.]0+)?') }}
            then cast(cast({{ text }} as decimal(18, 2)) as bigint)
    end
{%- endmacro %}

{#- Plain decimals ('120', '99.50', '-5.25'); NULL for anything else. -#}
{% macro parse_decimal(expression) -%}
    {%- set text = "trim(" ~ expression ~ ")" -%}
    case
        when {{ regex_full_match(text, '[+-]?[0-9]{1,14}([.][0-9]{1,8})?') }}
            then cast({{ text }} as decimal(18, 4))
    end
{%- endmacro %}

{#- Trimmed text, NULL when empty. -#}
{% macro clean_text(expression) -%}
    nullif(trim({{ expression }}), '')
{%- endmacro %}

{#- Identifiers compare trimmed and case-insensitively and are written in upper case. -#}
{% macro clean_id(expression) -%}
    nullif(upper(trim({{ expression }})), '')
{%- endmacro %}
