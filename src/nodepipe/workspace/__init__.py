"""The workspace on disk: its layout, its config file, and the node-folder convention."""
