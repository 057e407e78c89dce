"""The managed reverse proxy in front of the containers that declare proxy: (README: Zero-downtime
replace): the kind (kind.py), Caddy's config and admin API (caddy.py), and the routes the container
kind switches (routes.py)."""
