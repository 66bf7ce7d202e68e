"""The bottom layer every component stands on: foundations (settings, policy, schema and migrations,
privileges, connections, named SQL, Kafka clients, retries) and the domains (`events`, `metrics`, `risk`,
`auth`). Nothing here imports a component."""
