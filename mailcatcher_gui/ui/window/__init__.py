"""The main window: list, search, sidebar, tray, settings, and the
commands and jobs behind its actions."""
