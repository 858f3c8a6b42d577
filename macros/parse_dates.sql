{#- Date and timestamp parsing for every spelling the contract accepts:
      YYYY-MM-DD, YYYY/MM/DD, MM/DD/YYYY (US order), DD-Mon-YYYY (any case),
      one- or two-digit months and days, and ISO timestamps
      (date, T or space, HH:MM, optional :SS[.fff], optional Z or +hh:mm offset).
    The date of a timestamp is the date as written: offsets are ignored, never applied.
    Anything else, including impossible dates such as 2026-02-30, gives NULL. -#}


{% macro _clean_text(expression) -%}
    lower(trim({{ expression }}))
{%- endmacro %}

{#- 'YYYY-MM-DD' text (zero padded) to a date, or NULL when it is not a real date. -#}
{% macro try_iso_date(expression) -%}
    {{ return(adapter.dispatch('try_iso_date', 'provider_recon')(expression)) }}
{%- endmacro %}

{% macro default__try_iso_date(expression) -%}
    try_to_date({{ expression }}, 'YYYY-MM-DD')
{%- endmacro %}

{% macro duckdb__try_iso_date(expression) -%}
    try_cast({{ expression }} as date)
{%- endmacro %}

{#- 'YYYY-MM-DD HH:MI:SS' text to a timestamp without time zone, or NULL. -#}
{% macro try_iso_timestamp(expression) -%}
    {{ return(adapter.dispatch('try_iso_timestamp', 'provider_recon')(expression)) }}
{%- endmacro %}

{% macro default__try_iso_timestamp(expression) -%}
    try_to_timestamp_ntz({{ expression }}, 'YYYY-MM-DD HH24:MI:SS')
{%- endmacro %}

{% macro duckdb__try_iso_timestamp(expression) -%}
    try_cast({{ expression }} as timestamp)
{%- endmacro %}

{% macro _iso_text(year, month, day) -%}
    {{ year }} || '-' || lpad({{ month }}, 2, '0') || '-' || lpad({{ day }}, 2, '0')
{%- endmacro %}

{#- The ISO date text of a date spelling, before validation. -#}
{% macro _date_spelling_to_iso_text(text) -%}
    case
        when {{ regex_full_match(text, '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}') }}
            then {{ _iso_text(
                regex_extract(text, '^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$', 1),
                regex_extract(text, '^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$', 2),
                regex_extract(text, '^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$', 3)) }}
        when {{ regex_full_match(text, '[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}') }}
            then {{ _iso_text(
                regex_extract(text, '^([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})$', 1),
                regex_extract(text, '^([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})$', 2),
                regex_extract(text, '^([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})$', 3)) }}
        when {{ regex_full_match(text, '[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}') }}
            then {{ _iso_text(
                regex_extract(text, '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$', 3),
                regex_extract(text, '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$', 1),
                regex_extract(text, '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$', 2)) }}
        when {{ regex_full_match(text, '[0-9]{1,2}-[a-z]{3}-[0-9]{4}') }}
            then {{ _iso_text(
                regex_extract(text, '^([0-9]{1,2})-([a-z]{3})-([0-9]{4})$', 3),
                _month_number(regex_extract(text, '^([0-9]{1,2})-([a-z]{3})-([0-9]{4})$', 2)),
                regex_extract(text, '^([0-9]{1,2})-([a-z]{3})-([0-9]{4})$', 1)) }}
    end
{%- endmacro %}

{% macro _month_number(abbreviation) -%}
    case {{ abbreviation }}
    {%- for name in ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] %}
        when '{{ name }}' then '{{ loop.index }}'
    {%- endfor %}
    end
{%- endmacro %}

{% macro _timestamp_pattern() -%}
^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})[t ]([0-9]{1,2}):([0-9]{2})(:([0-9]{2})([.][0-9]+)?)?(z|[+-][0-9]{2}:?[0-9]{2})?$
{%- endmacro %}

{#- A date from any accepted spelling (a timestamp gives its date as written). -#}
{% macro parse_date(expression) -%}
    {%- set text = _clean_text(expression) -%}
    coalesce(
        {{ try_iso_date(_date_spelling_to_iso_text(text)) }},
        cast({{ parse_timestamp_spelling(expression) }} as date)
    )
{%- endmacro %}

{#- A timestamp from an ISO timestamp spelling, offset ignored; NULL otherwise. -#}
{% macro parse_timestamp_spelling(expression) -%}
    {%- set text = _clean_text(expression) -%}
    {%- set _timestamp_pattern = _timestamp_pattern() -%}
    {{ try_iso_timestamp(
        _iso_text(
            regex_extract(text, _timestamp_pattern, 1),
            regex_extract(text, _timestamp_pattern, 2),
            regex_extract(text, _timestamp_pattern, 3))
        ~ " || ' ' || lpad(" ~ regex_extract(text, _timestamp_pattern, 4) ~ ", 2, '0')"
        ~ " || ':' || " ~ regex_extract(text, _timestamp_pattern, 5)
        ~ " || ':' || coalesce(" ~ regex_extract(text, _timestamp_pattern, 7) ~ ", '00')"
    ) }}
{%- endmacro %}

{#- A timestamp from a timestamp spelling, or midnight of any accepted date spelling. -#}
{% macro parse_timestamp(expression) -%}
    coalesce(
        {{ parse_timestamp_spelling(expression) }},
        cast({{ try_iso_date(_date_spelling_to_iso_text(_clean_text(expression))) }} as timestamp)
    )
{%- endmacro %}

{#- The first day of the month of a billing period: 'YYYY-MM' or any date spelling. -#}
{% macro parse_month(expression) -%}
    {%- set text = _clean_text(expression) -%}
    coalesce(
        {{ try_iso_date(
            "case when " ~ regex_full_match(text, '[0-9]{4}-[0-9]{1,2}') ~ " then "
            ~ _iso_text(regex_extract(text, '^([0-9]{4})-([0-9]{1,2})$', 1),
                        regex_extract(text, '^([0-9]{4})-([0-9]{1,2})$', 2), "'01'")
            ~ " end") }},
        {{ month_start(parse_date(expression)) }}
    )
{%- endmacro %}
