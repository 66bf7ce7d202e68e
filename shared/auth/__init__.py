"""Who is calling: canonical principal names and the API keys that carry them."""
