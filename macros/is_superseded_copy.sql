{#
    The de-duplication window of the base models, written once: true for every copy of a
    record (same record_id) but the one that wins. The winner is the latest by the given
    columns first (CRM exports: the latest parseable last_modified_at), then the copy in the
    latest file by name, then the later line of that file.

        {{ is_superseded_copy(['last_modified_at desc nulls last']) }} as is_duplicate
#}
{% macro is_superseded_copy(latest_first=[]) -%}
    row_number() over (
        partition by record_id
        order by
            {%- for column in latest_first %} {{ column }},{% endfor %}
            source_file_name desc, source_row_number desc
    ) > 1
{%- endmacro %}
