"""Compose and send: the compose window, Release To..., relay profiles.

The sending itself is ``core.sending``; these are its Qt adapters.
"""
