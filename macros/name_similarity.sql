{#- Similarity of two names in [0, 1]: 1 - Levenshtein distance / length of the longer,
    rounded to 4 places. Levenshtein is standard on both engines (DuckDB levenshtein,
    Snowflake editdistance), so the score is the same everywhere. -#}
{% macro name_similarity(left, right) -%}
    cast(round(
        1.0 - cast({{ adapter.dispatch('edit_distance', 'provider_recon')(left, right) }} as double)
        / greatest(length({{ left }}), length({{ right }}), 1),
        4
    ) as decimal(6, 4))
{%- endmacro %}

{% macro default__edit_distance(left, right) -%}
    editdistance({{ left }}, {{ right }})
{%- endmacro %}

{% macro duckdb__edit_distance(left, right) -%}
    levenshtein({{ left }}, {{ right }})
{%- endmacro %}
