"""The network editor: canvas scene and items, view, palette, inspector, commands."""
