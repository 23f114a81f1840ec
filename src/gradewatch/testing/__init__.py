"""Fault tools for the break-it suite and the benches: a misbehaving school and a misbehaving SMTP server.

Loopback only. Used by tests/breakit and bench/faults.py; not imported by the product.
"""
