"""Prefect flows: orchestration only; the rules live in the dbt project."""
