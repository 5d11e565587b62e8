"""The tabs of the message view (see ``ui/message_view.py``), one module each."""
