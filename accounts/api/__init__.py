"""Thin HTTP edges of the accounts routes, one module per flow: parse, call one service, serialize."""
