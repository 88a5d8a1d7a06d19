"""Running lens-proxy in production: metrics, health, hot reload, the server log, the data dictionary.

    observe.py     the hooks the server and sessions call (connections, statements, errors) -> metrics, log
    metrics.py     the Prometheus metrics (multiprocess-aware); imported only with the HTTP side port on
    logs.py        text or JSON-lines log format; scrubbing bound parameter values from messages
    health.py      /healthz and /readyz: backend probes, lens status
    reload.py      re-validate and swap a lens on SIGHUP or when its files change; drop its caches
    http.py        the HTTP side port (a small server on the same event loop)
    dictionary.py  the data dictionary page (per viewer, as the catalog shows the lens); diagram.py its SVG
    runtime.py     wiring: settings, start and stop of all of the above for ``lens-proxy serve``
"""
