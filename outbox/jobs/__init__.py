"""Analysis jobs: the durable queue between the API (or ``submit``) and the workers."""
