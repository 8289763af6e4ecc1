"""Oasis: proactive, honest delivery-delay notifications built on Apache Airflow."""

from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="oasis-notify",
    version="0.1.0",
    description="Delay notices with a real ETA, cause and next step, sent only to the affected.",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["carriers", "carriers.*", "notify", "notify.*"]),
    include_package_data=True,
    package_data={
        "notify": [
            "migrations/*.py",
            "migrations/*.mako",
            "migrations/versions/*.py",
            "banned_phrases.txt",
            "detection_rules.toml",
        ],
        "carriers": ["ups/ups_codes.csv"],
    },
    install_requires=[
        "apache-airflow>=3.3,<3.4",
        "apache-airflow-providers-standard",
        "great-expectations>=1.24,<1.25",
        "pandas>=2.3,<2.4",
        "sqlalchemy>=2.0,<2.1",
        "alembic>=1.13",
        "jinja2>=3.1",
        "requests>=2.31",
        "sendgrid>=6.11",
        "twilio>=9",
        "holidays",
        "matplotlib",
        "babel",
        "css-inline",
        "email-validator",
        "phonenumbers",
        "psycopg2-binary",
        "pymysql",
        "rich",
        "tzdata",
    ],
    extras_require={
        "dev": [
            "pytest",
            "pytest-timeout",
            "hypothesis",
            "ruff",
            "mypy",
            "types-requests",
            "aiosmtpd",
        ],
        # Scale-out: Airflow's CeleryExecutor with a Redis broker and PostgreSQL metadata
        # (Airflow's API server opens the metadata database through asyncpg) (docs/deploy.md).
        "celery": [
            "apache-airflow-providers-celery",
            "asyncpg",
            "celery[redis]<5.7",  # 5.7 dropped what the Celery provider 3.26 imports
            "redis",
        ],
    },
    entry_points={"console_scripts": ["oasis=notify.cli:main"]},
)
