"""Version of the solov2-plugin package."""

__version__ = "0.1.0"
