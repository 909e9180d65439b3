"""AG-UI (https://docs.ag-ui.com): a conversation of the Chat API served as an AG-UI agent,
so any AG-UI client (`@ag-ui/client`'s HttpAgent, CopilotKit) runs its turns and follows
its background workflows. One POST per AG-UI run, answered with Server-Sent Events.
The format and its mapping are docs/workflows.md, "AG-UI"."""
