"""Use cases on the files of a node folder the app shows: outputs (data/, reports/) to list and
read, and code files to list, read and edit."""
