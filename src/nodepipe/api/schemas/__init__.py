"""Typed request and response bodies: ``…Create`` and ``…Update`` come in, ``…Public`` goes out.

Each module converts domain values into its ``Public`` models with ``of(...)`` class methods,
so routes stay one call to a service plus one conversion.
"""
