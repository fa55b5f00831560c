"""A realistic history for one facility, written straight into PostgreSQL (COPY): what the
analytics page and its benchmark are measured on (`manage.py fill_history`). The images have no
stored files; use a database of their own."""
