"""The watcher: checks accounts, diffs into the store, fills and drains the outbox."""
