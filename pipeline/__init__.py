"""payimport: bank statements and remittance files -> Business Central customer payments."""

__version__ = "0.1.0"
