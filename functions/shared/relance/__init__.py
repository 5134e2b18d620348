"""Relance: keeps a business's unpaid invoices from turning into losses."""
