"""The ownership core: workspaces, members and roles, invitations, personal access tokens and
the audit log, with the functions that write them. A bot belongs to a workspace, so this is
the floor below `flows`: it imports nothing of the project (docs/architecture.md)."""
