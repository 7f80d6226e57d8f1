"""The outbox: a flow's messages are stored durably and delivered later by workers.

``service``  :class:`~agi_callbot.outbox.service.Outbox`: enqueue under the rules
             (E.164, anonymous callers, opt-ins), fallback chains, admin operations
``model``    a message as stored, its statuses and idempotency keys
``store/``   SQLite (one node) or PostgreSQL with a local SQLite spool (several nodes)
``worker``   the delivery workers: claim, send through a gateway, retry with backoff
``optins``   the opt-in ledger (WhatsApp needs the caller's consent)
"""
