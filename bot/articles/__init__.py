"""Articles pushed to groups: content, trackable links, push rendering, receipts, forward packs."""
