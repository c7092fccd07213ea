"""Version of the Portalis distribution."""

__version__ = "0.1.0"
