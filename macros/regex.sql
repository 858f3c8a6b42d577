{#- Regular expressions that behave the same on DuckDB (RE2) and Snowflake (POSIX ERE).
    Patterns passed in avoid backslashes: use [0-9], [[:space:]] so that string
    literals mean the same on both engines. -#}

{% macro regex_full_match(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'provider_recon')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regex_full_match(expression, pattern) -%}
    regexp_like({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__regex_full_match(expression, pattern) -%}
    regexp_full_match({{ expression }}, '{{ pattern }}')
{%- endmacro %}


{% macro regex_extract(expression, pattern, group) -%}
    {{ return(adapter.dispatch('regex_extract', 'provider_recon')(expression, pattern, group)) }}
{%- endmacro %}

{#- NULL when there is no match or the group took no part in it, on both engines. -#}
{% macro default__regex_extract(expression, pattern, group) -%}
    nullif(regexp_substr({{ expression }}, '{{ pattern }}', 1, 1, 'e', {{ group }}), '')
{%- endmacro %}

{% macro duckdb__regex_extract(expression, pattern, group) -%}
    nullif(regexp_extract({{ expression }}, '{{ pattern }}', {{ group }}), '')
{%- endmacro %}


{% macro regex_replace_all(expression, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all', 'provider_recon')(expression, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{% macro duckdb__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}


{#- Characters that are neither letters (accented letters included), digits nor
    whitespace. RE2 knows Unicode classes; Snowflake's engine does not, so there the
    letter ranges of the Latin, Greek and Cyrillic scripts are spelled out. -#}
{% macro non_alphanumeric_pattern() -%}
    {{ return(adapter.dispatch('non_alphanumeric_pattern', 'provider_recon')()) }}
{%- endmacro %}

{% macro default__non_alphanumeric_pattern() -%}
[^a-zA-Z0-9À-ÖØ-öø-ɏͰ-ϿЀ-ӿ[:space:]]
{%- endmacro %}

{% macro duckdb__non_alphanumeric_pattern() -%}
[^\p{L}\p{N}[:space:]]
{%- endmacro %}
