-- Makes the serving store's database (attached by open_store.sql) the default of a connection of its own
-- (a cursor: a query thread's, a refresh's), where its tables, type and macros are found by name.
-- Parameters: none.
-- Output: this connection's default database.
USE serving;
