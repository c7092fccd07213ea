"""Test support for Portalis and for authors of plugins and blueprints."""
