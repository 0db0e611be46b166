"""Account writes, one module per flow. Views stay thin and call one function here.

Failures that must leave a trace (attempt rows, lock state, security events) are decided inside
a transaction that commits, and raised only after it; a database or network error anywhere rolls
the whole attempt back and counts nothing (DESIGN.md rule 2).
"""
