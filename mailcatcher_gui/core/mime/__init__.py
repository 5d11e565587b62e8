"""Raw message bytes to facts: the full parse (when a message is opened) and the
cheap ingest-time summary. Tolerant by design: never raises on a message.
"""
