"""Presentation: money, quantities and dates for people, receipts, exports, charts, labels."""
