"""Benchmark harness for mailcatcher-gui.

Every speed target is a *ratio* measured in the same run against a reference
(a bare aiosmtpd server with its built-in ``Sink`` handler, or an empty
store), so the numbers mean the same thing on a laptop and on a CI box.
Servers, GUI probes and the load generator each run in their own process so
the client never steals the server's core.

Run ``uv run python -m benchmarks [--quick] [--json FILE]``.
"""
