"""Audit and operations on the outbox: history queries, requeue, retention and SQL views.

Database only (plus the staged-file check requeue needs); the object store is read by
``relay.verify``.
"""
