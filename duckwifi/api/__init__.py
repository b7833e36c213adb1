"""``duckwifi serve``: the dashboard's HTTP API (v1) and its page, on FastAPI and uvicorn.

- ``app.py`` builds the ASGI application: routes, authentication, CORS.
- ``params.py`` parses and checks the query parameters every data endpoint shares.
- ``models.py`` holds the pydantic models of every answer (they are the OpenAPI schema, and they encode).
- ``data.py`` follows the rollup store (a background poll of its version) and caches answers by version.
- ``encoding.py`` turns an answer into bytes: JSON or Arrow IPC, gzip, ETag and 304.
- ``devices.py`` reads one device's raw rows from the lake, reading only its state's partitions.
- ``generator_log.py`` reads what the generator knows: metric labels (the catalogue) and the incident log.
- ``outlines.py`` simplifies the Census state boundaries for the map.
- ``server.py`` runs uvicorn: binding, the request log, and a clean stop on Ctrl-C or SIGTERM.
"""
