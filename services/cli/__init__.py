"""The `trustline` command: one entry point, a subcommand per component."""
