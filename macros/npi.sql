{#- NPIs: spaces and dashes removed; valid when 10 digits whose last digit is the Luhn
    check digit of the first nine prefixed with 80840 (the prefix adds 24 to the sum). -#}

{% macro clean_npi(expression) -%}
    nullif({{ regex_replace_all('trim(' ~ expression ~ ')', '[ -]', '') }}, '')
{%- endmacro %}

{% macro _luhn_digit(npi, position) -%}
    {%- set digit = 'try_cast(substr(' ~ npi ~ ', ' ~ position ~ ', 1) as integer)' -%}
    {%- if position % 2 == 1 -%}
        (case when {{ digit }} * 2 > 9 then {{ digit }} * 2 - 9 else {{ digit }} * 2 end)
    {%- else -%}
        {{ digit }}
    {%- endif -%}
{%- endmacro %}

{#- True when the cleaned NPI is valid; false otherwise (never NULL). -#}
{% macro is_valid_npi(cleaned_npi) -%}
    case
        when {{ regex_full_match(cleaned_npi, '[0-9]{10}') }}
            then mod(
                10 - mod(24
                {%- for position in range(1, 10) %}
                    + {{ _luhn_digit(cleaned_npi, position) }}
                {%- endfor %}, 10), 10
            ) = try_cast(substr({{ cleaned_npi }}, 10, 1) as integer)
        else false
    end
{%- endmacro %}
