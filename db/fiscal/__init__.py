"""The fiscal queue: paid receipts and cash moves waiting for the PRRO, claimed and settled."""
