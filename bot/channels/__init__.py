"""Channel adapters: verify and parse inbound traffic, render replies for the channel."""
