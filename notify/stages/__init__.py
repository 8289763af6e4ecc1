"""The pipeline's stages: plain functions over the store, each keyed by run.

ingest -> detect -> eta -> target -> compose -> render -> gate -> send -> record.
The DAG only wires them; every stage can be called and tested without Airflow.
"""
