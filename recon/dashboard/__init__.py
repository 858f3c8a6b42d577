"""The Streamlit dashboard over the marts (`recon dashboard`): app.py is the page, data.py
reads the marts (DuckDB read-only, or Snowflake)."""
