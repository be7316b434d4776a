"""Renderers of audit results. They read only result types (`audit.result`), never checks."""
