"""Looking after a workspace: crash recovery, backups, the doctor, running servers."""
