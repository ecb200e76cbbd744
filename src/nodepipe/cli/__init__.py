"""The command-line interface: parse, call a service, render."""
