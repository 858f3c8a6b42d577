{#- Helpers of the models that are incremental by raw file (see macros/raw_files.sql). -#}

{#- One text value per ingested copy of a file: its name and when it was ingested. -#}
{% macro file_version_key(file_name_column, loaded_at_column) -%}
    {{ file_name_column }} || '|' || cast({{ loaded_at_column }} as {{ dbt.type_string() }})
{%- endmacro %}

{#- Post-hook: the stored lines of files that are no longer in the RAW table (a file removed
    from the folder, or the older copy of a re-ingested one). -#}
{% macro delete_lines_of_files_gone(raw_relation) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ file_version_key('source_file_name', 'source_loaded_at') }} not in (
            select distinct {{ file_version_key('_file_name', '_loaded_at') }}
            from {{ raw_relation }}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
