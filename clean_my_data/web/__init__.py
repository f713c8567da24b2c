"""The HTTP API (FastAPI on uvicorn), under ``/api/v1``; OpenAPI at ``/docs``."""
