"""The Portalis builder: edits definition bundles in the browser."""
