"""kommo-xero: keeps Kommo deals and Xero invoices in step."""

__version__ = "0.1.0"
