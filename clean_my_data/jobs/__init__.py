"""Submitting analysis jobs: the input stored first, then the job queued."""
