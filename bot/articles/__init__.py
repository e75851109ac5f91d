"""Articles pushed to groups: content, trackable links, push rendering, receipts, forward packs.

Imported by push/, console/, web/ and handlers; imports no web module.
"""
