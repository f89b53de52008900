"""Commands that talk to running servers: Prometheus (`gate decide`, `gate watch`, `targets
verify`, `budget check`, `reload`), Alertmanager (`alert test`) and Grafana (`grafana import`).

HTTP goes through urllib only, by way of http_client.py; exit codes are those of
generator.exit_codes.ExitCode. The CLI imports these modules lazily, so `obsgen --help` stays fast.
"""
