{#- Customer name for matching: lower case; '&' read as 'and'; everything but letters,
    digits and whitespace removed; whitespace collapsed and trimmed; one trailing legal
    suffix dropped unless it is the whole name. -#}
{% macro normalise_customer_name(expression) -%}
    {%- set lowered = "replace(lower(" ~ expression ~ "), '&', ' and ')" -%}
    {%- set stripped = regex_replace_all(lowered, non_alphanumeric_pattern(), '') -%}
    {%- set collapsed = "trim(" ~ regex_replace_all(stripped, '[[:space:]]+', ' ') ~ ")" -%}
    nullif(
        {{ regex_replace_all(collapsed,
            ' (inc|llc|ltd|corp|corporation|co|pc|pllc|lp|llp)$', '') }},
        ''
    )
{%- endmacro %}

{#- Provider name for comparisons: lower case, punctuation deleted, credential tokens
    and one-letter tokens dropped, remaining tokens sorted and joined by one space.
    Tokens are dropped with a regex over a space-padded, space-doubled name (so that
    neighbouring tokens never share a space), which needs no lambdas on either engine. -#}
{% macro normalise_provider_name(expression) -%}
    {%- set lowered = "lower(" ~ expression ~ ")" -%}
    {%- set stripped = regex_replace_all(lowered, non_alphanumeric_pattern(), '') -%}
    {%- set padded = "'  ' || " ~ regex_replace_all("trim(" ~ stripped ~ ")", '[[:space:]]+', '  ') ~ " || '  '" -%}
    {%- set dropped = regex_replace_all(padded,
        ' (' ~ provider_name_dropped_tokens() | join('|') ~ '|' ~ single_letter_pattern() ~ ') ', '') -%}
    {%- set collapsed = "trim(" ~ regex_replace_all(dropped, '[[:space:]]+', ' ') ~ ")" -%}
    nullif({{ adapter.dispatch('sorted_name_tokens', 'provider_recon')(collapsed) }}, '')
{%- endmacro %}

{% macro provider_name_dropped_tokens() -%}
    {{ return(['md', 'do', 'np', 'pa', 'pac', 'rn', 'aprn', 'dds', 'dmd', 'dpm', 'phd', 'lcsw']) }}
{%- endmacro %}

{#- One letter (not a digit). -#}
{% macro single_letter_pattern() -%}
    {{ return(adapter.dispatch('single_letter_pattern', 'provider_recon')()) }}
{%- endmacro %}

{% macro default__single_letter_pattern() -%}
[a-zA-ZÀ-ÖØ-öø-ɏͰ-ϿЀ-ӿ]
{%- endmacro %}

{% macro duckdb__single_letter_pattern() -%}
\p{L}
{%- endmacro %}

{#- Space-separated tokens sorted and joined again by one space. The input has single
    spaces and no leading or trailing one, so Snowflake's strtok_to_array (which skips empty
    tokens) gives the same tokens as split, and an empty name gives '' either way. -#}
{% macro default__sorted_name_tokens(collapsed) -%}
    array_to_string(array_sort(strtok_to_array({{ collapsed }}, ' ')), ' ')
{%- endmacro %}

{% macro duckdb__sorted_name_tokens(collapsed) -%}
    array_to_string(list_sort(string_split({{ collapsed }}, ' ')), ' ')
{%- endmacro %}
