"""Configs shipped with solov2-plugin (installed as the package ``solov2_plugin.configs``)."""
