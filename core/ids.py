import uuid


def new_id() -> str:
    """Primary keys of rows other services may store: a random UUID as text."""
    return str(uuid.uuid4())
