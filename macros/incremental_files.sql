{#- Helpers of the models that are incremental by raw file (see macros/raw_files.sql). -#}

{#- Post-hook: delete the stored lines of files that are no longer in the RAW table (a file
    removed from the folder, or the older copy of a re-ingested one). -#}
{% macro delete_lines_of_files_gone(raw_relation) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where not exists (
            select 1 from {{ raw_relation }} as raw_lines
            where
                raw_lines._file_name = {{ this }}.source_file_name
                and raw_lines._loaded_at = {{ this }}.source_loaded_at
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
