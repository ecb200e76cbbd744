"""``nodepipe doctor``: what killed processes, lost rows or hand edits left in a workspace,
reported with counts and disk used, repaired where that is safe, and a store rebuilt from the
node folders when it is lost."""
