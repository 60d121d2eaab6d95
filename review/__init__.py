"""The review web app: operators correct flagged fields and approve."""
