"""Files that seed a new node folder."""
