"""The `trustline` command: one entry point, a subcommand per component. The CLI is the one place that
composes components; `cli.local` is the local stack for development (the `local` extra)."""
