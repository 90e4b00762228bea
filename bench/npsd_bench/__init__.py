"""The npsd benchmark harness behind bench/run.py (its docstring describes the whole run).

Modules: common (paths, constants, sizes, log), scenarios (the scenario table; its wrk Lua lives in
bench/lua/), processes (child processes, tools, npsd and smtp-sink), httpapi (HTTP to npsd),
context (one run's state and the machine), database (fresh databases, npsd's SQLite, seeding),
batches (batch ingest bodies and their posting), phase_requests, phase_delivery, phase_insights
(the three npsd instances per backend), phases (one backend from start to ordered results) and
report (results, the Markdown report, docs/PERFORMANCE.md).
"""
