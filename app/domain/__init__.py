"""Plain values of the product — entries, ids, sources, feed options — and their strict parsing.

No I/O: the store, the upstream clients and the feed pipeline all speak in these types.
"""
