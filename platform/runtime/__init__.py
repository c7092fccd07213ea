"""The Portalis runtime: serves compiled portals over HTTP with Flask."""
