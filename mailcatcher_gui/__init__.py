"""mailcatcher-gui: a native desktop mail catcher for developers."""

__version__ = "0.1.0"
