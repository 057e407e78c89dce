"""The managed reverse proxy in front of the containers that declare proxy: (README: Zero-downtime
replace): the kind (kind.py), HAProxy's config, reload and runtime API (haproxy.py), and the routes
the container kind switches (routes.py)."""
