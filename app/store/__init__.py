"""Everything that touches the database: the engine, the tables, migrations, secrets at rest, and all SQL.

Above the domain and the core only; the layers above ask the store instead of writing SQL themselves.
"""
