"""Cloudmore: the export-bundle reader (and API client) producing the engine source model."""
