"""Dossier logistics between service centers and agencies over the public postal service."""
