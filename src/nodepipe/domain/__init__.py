"""Pure domain: frozen values, graph rules, states and validation. No I/O happens here."""
